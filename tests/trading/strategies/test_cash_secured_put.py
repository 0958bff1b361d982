"""cash_secured_put (the ``puts_experimental`` logic) on real rows: collateral sizing, down-and-out rolls."""

from __future__ import annotations

import pandas as pd

from tests.trading.strategies.support import (
    account,
    chain_time,
    config,
    context,
    market_from_chain,
    short,
    snapshot_from_chain,
)
from trading.strategies.base import Action, LegIntent, Side
from trading.strategies.cash_secured_put import CashSecuredPut
from trading.strategies.contracts import floor_to_step

LOGIC = CashSecuredPut()


def test_puts_are_sized_by_the_equity_they_may_commit(calm_chain: pd.DataFrame) -> None:
    snap = snapshot_from_chain(calm_chain, ["BTC"])
    cfg = config(
        "csp", "cash_secured_put", "moderate", underlyings=["BTC"], params={"max_contracts_per_trade": 50.0}
    )
    out = LOGIC.propose(context(cfg, snap, account(chain_time(calm_chain), BTC=2.0)))
    (offer_set,) = out.offers
    index = snap.markets["BTC"].index_price_usd
    for o in offer_set.offers:
        assert o.leg.option_type == "put" and (o.leg.side, o.leg.intent) == (Side.SELL, LegIntent.OPEN)
        # moderate: 40 % of 2 BTC of equity, at the index, secures strike x contracts
        assert o.leg.size_contracts == floor_to_step(0.40 * 2.0 * index / o.leg.strike_usd, 0.1)
        assert cfg.params.delta_min <= -float(o.facts["delta"]) <= cfg.params.delta_max


def test_secured_puts_already_sold_use_up_the_collateral(calm_chain: pd.DataFrame) -> None:
    market = market_from_chain(calm_chain, "BTC")
    held = short("csp", market, "BTC-27FEB26-64000-P", 0.8, 0.02)  # 51,200 USD secured
    snap = snapshot_from_chain(calm_chain, ["BTC"])
    cfg = config("csp", "cash_secured_put", "moderate", underlyings=["BTC"])
    out = LOGIC.propose(context(cfg, snap, account(chain_time(calm_chain), BTC=2.0), held))
    assert not out.offers
    assert any("51,200 USD already secured" in p.reason for p in out.proposals)


def test_a_put_near_expiry_rolls_down_and_out(calm_chain: pd.DataFrame) -> None:
    market = market_from_chain(calm_chain, "BTC")
    held = short("csp", market, "BTC-9FEB26-66000-P", 0.5, 0.002)
    snap = snapshot_from_chain(calm_chain, ["BTC"])
    cfg = config("csp", "cash_secured_put", "moderate", underlyings=["BTC"])
    out = LOGIC.propose(context(cfg, snap, account(chain_time(calm_chain), BTC=2.0), held))
    (roll,) = [p for p in out.proposals if p.action is Action.ROLL]
    close, new = roll.legs
    assert close.instrument_name == "BTC-9FEB26-66000-P"
    assert new.option_type == "put" and new.strike_usd <= 66_000.0 and new.expiry > close.expiry
