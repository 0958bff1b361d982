"""covered_call on real Deribit rows (2026-02-08 09:23 UTC): which calls it offers, how many, and how
it manages what it sold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.trading.strategies.support import (
    account,
    chain_time,
    config,
    context,
    market_from_chain,
    regime_of,
    short,
    snapshot_from_chain,
)
from trading.strategies.base import Action, LegIntent, Side, StrategyOutput
from trading.strategies.contracts import is_on_tick, option_fee_coin
from trading.strategies.covered_call import CoveredCall
from trading.strategies.market import MarketSnapshot
from trading.strategies.params import SellOptionParams
from trading.strategies.regime import Regime

LOGIC = CoveredCall()


def passes_filters(c: pd.DataFrame, p: SellOptionParams, option_type: str = "call") -> pd.Series:
    """The filters as the docs state them, written out independently on the candidate table."""
    bid = c["premium_coin"]
    net_yield = c["yield_annual"] * (1.0 - np.minimum(0.0003 / bid, 0.125))
    ok = (
        (c["option_type"] == option_type)
        & (c["dte_days"] > 0)
        & c["dte_days"].between(p.dte_min, p.dte_max)
        & c["delta"].abs().between(p.delta_min, p.delta_max)
        & (bid > 0)
        & (c["premium_usd"] >= p.min_premium_usd)
        & (100 * net_yield >= p.min_annualized_yield_pct)
        & (100 * c["spread_rel"] <= p.max_spread_pct)
        & (c["open_interest"] >= p.min_open_interest)
    )
    if p.min_ivrv > 0:
        ok &= c["ivrv"] >= p.min_ivrv
    return ok.fillna(False)


def _run(
    calm_chain: pd.DataFrame, *positions: Any, coins: float = 2.0, eth: float = 30.0, **cfg_kw: Any
) -> tuple[StrategyOutput, MarketSnapshot]:
    snap = snapshot_from_chain(calm_chain)
    cfg = config(**cfg_kw)
    out = LOGIC.propose(context(cfg, snap, account(chain_time(calm_chain), BTC=coins, ETH=eth), *positions))
    return out, snap


def test_offers_exactly_the_calls_that_pass_every_filter(calm_chain: pd.DataFrame) -> None:
    out, snap = _run(calm_chain)
    cfg = config()
    for offer_set in out.offers:
        c = snap.markets[offer_set.currency].candidates
        expected = set(c.loc[passes_filters(c, cfg.params), "instrument_name"])
        offered = [o.leg.instrument_name for o in offer_set.offers]
        assert offered and set(offered) <= expected
        assert offer_set.reason.startswith(f"{len(expected)} of ")
        for o in offer_set.offers:
            assert (o.leg.side, o.leg.intent, o.leg.option_type) == (Side.SELL, LegIntent.OPEN, "call")
            q = snap.quote(offer_set.currency, o.leg.instrument_name)
            assert (
                q is not None and o.leg.limit_price_coin == q.bid_coin and is_on_tick(o.leg.limit_price_coin)
            )
    assert {o.currency for o in out.offers} == {"BTC", "ETH"}


def test_offers_are_ranked_by_the_documented_score(calm_chain: pd.DataFrame) -> None:
    out, snap = _run(calm_chain)
    p = config().params
    offers = out.offers[0].offers
    assert [o.score for o in offers] == sorted((o.score for o in offers), reverse=True)
    best = offers[0]
    row = (
        snap.markets[out.offers[0].currency]
        .candidates.set_index("instrument_name")
        .loc[best.leg.instrument_name]
    )
    bid = row["premium_coin"]
    net = row["yield_annual"] * (1 - min(0.0003 / bid, 0.125))
    edge = min(max(row["ivrv"], 0.5), 2.0)
    liquidity = 1 - 0.5 * min(100 * row["spread_rel"] / p.max_spread_pct, 1.0)
    mid, half = (p.delta_min + p.delta_max) / 2, (p.delta_max - p.delta_min) / 2
    fit = 1 - 0.5 * min(abs(abs(row["delta"]) - mid) / half, 1.0)
    assert best.score == pytest.approx(net * edge * liquidity * fit, rel=1e-12)
    assert best.score_parts["net_yield_annual"] == pytest.approx(net, rel=1e-12)


@pytest.mark.parametrize(
    ("field", "tighten"),
    [
        ("min_open_interest", lambda v: v + 1.0),
        ("min_premium_usd", lambda v: v + 0.01),
        ("min_annualized_yield_pct", lambda v: v + 0.01),
        ("min_ivrv", lambda v: v + 0.001),
        ("max_spread_pct", lambda v: v - 0.01),
        ("delta_max", lambda v: v - 0.0001),
    ],
)
def test_each_filter_drops_the_candidate_that_just_fails_it(
    calm_chain: pd.DataFrame, field: str, tighten: Any
) -> None:
    out, snap = _run(calm_chain, underlyings=["BTC"])
    best = out.offers[0].offers[0]
    value = {
        "min_open_interest": best.facts["open_interest"],
        "min_premium_usd": snap.markets["BTC"]
        .candidates.set_index("instrument_name")
        .loc[best.leg.instrument_name, "premium_usd"],
        "min_annualized_yield_pct": best.score_parts["net_yield_annual"] * 100,
        "min_ivrv": snap.markets["BTC"]
        .candidates.set_index("instrument_name")
        .loc[best.leg.instrument_name, "ivrv"],
        "max_spread_pct": snap.markets["BTC"]
        .candidates.set_index("instrument_name")
        .loc[best.leg.instrument_name, "spread_rel"]
        * 100,
        "delta_max": abs(float(best.facts["delta"]))
        if field != "delta_max"
        else snap.markets["BTC"].quote(best.leg.instrument_name).delta,  # type: ignore[union-attr]
    }[field]
    params: dict[str, Any] = {field: float(tighten(value))}
    if field == "delta_max":
        params["delta_min"] = min(config().params.delta_min, params["delta_max"])
    tighter, _ = _run(calm_chain, underlyings=["BTC"], params=params)
    names = {o.leg.instrument_name for s in tighter.offers for o in s.offers}
    assert best.leg.instrument_name not in names


def test_size_is_capped_by_the_coins_not_yet_covered(calm_chain: pd.DataFrame) -> None:
    out, _ = _run(calm_chain, coins=2.0, underlyings=["BTC"], params={"max_contracts_per_trade": 10.0})
    assert out.offers[0].max_size_contracts == 1.5  # moderate: 75 % of 2 BTC
    market = market_from_chain(calm_chain, "BTC")
    held = short("cc", market, "BTC-27FEB26-80000-C", 1.2, 0.008)
    out, _ = _run(calm_chain, held, coins=2.0, underlyings=["BTC"], params={"max_contracts_per_trade": 10.0})
    assert out.offers[0].max_size_contracts == 0.3
    held = short("cc", market, "BTC-27FEB26-80000-C", 1.5, 0.008)
    out, _ = _run(calm_chain, held, coins=2.0, underlyings=["BTC"])
    assert not out.offers
    assert any("room for less than 0.1" in p.reason for p in out.proposals if p.action is Action.HOLD)


def test_eth_is_sold_in_whole_contracts_and_per_trade_cap_applies(calm_chain: pd.DataFrame) -> None:
    out, _ = _run(calm_chain, eth=2.5, underlyings=["ETH"])
    assert out.offers[0].max_size_contracts == 1.0  # 75 % of 2.5 = 1.875 -> 1
    out, _ = _run(calm_chain, eth=100.0, underlyings=["ETH"])
    assert out.offers[0].max_size_contracts == 2.0  # moderate: max_contracts_per_trade


def test_strategy_limits_cap_the_size_and_the_positions(calm_chain: pd.DataFrame) -> None:
    out, _ = _run(calm_chain, coins=10.0, underlyings=["BTC"], limits={"max_contracts": 0.7})
    assert out.offers[0].max_size_contracts == 0.7
    market = market_from_chain(calm_chain, "BTC")
    held = short("cc", market, "BTC-27FEB26-80000-C", 0.1, 0.008)
    out, _ = _run(calm_chain, held, underlyings=["BTC"], limits={"max_open_positions": 1})
    assert not out.offers and any("open positions already" in p.reason for p in out.proposals)


def test_no_new_calls_in_a_crisis(calm_chain: pd.DataFrame) -> None:
    snap = MarketSnapshot(
        {"BTC": market_from_chain(calm_chain, "BTC", regime=regime_of("BTC", Regime.CRISIS))}
    )
    out = LOGIC.propose(context(config(underlyings=["BTC"]), snap, account(chain_time(calm_chain), BTC=2.0)))
    assert not out.offers
    assert [p.action for p in out.proposals] == [Action.HOLD] and "crisis regime" in out.proposals[0].reason


def test_disabled_or_disallowed_strategies_only_manage(calm_chain: pd.DataFrame) -> None:
    market = market_from_chain(calm_chain, "ETH")
    held = short("cc", market, "ETH-27FEB26-2500-C", 1.0, 0.0165)
    out, _ = _run(calm_chain, held, enabled=False)
    assert not out.offers and "disabled" in out.proposals[-1].reason
    out, _ = _run(calm_chain, held, underlyings=["BTC"])
    assert [o.currency for o in out.offers] == ["BTC"]
    eth = [p for p in out.proposals if p.currency == "ETH"]
    assert any("ETH-27FEB26-2500-C" in p.reason for p in eth)  # still managed
    assert any("not among its underlyings" in p.reason for p in eth)


def test_no_account_or_no_market_means_no_offers(calm_chain: pd.DataFrame) -> None:
    snap = snapshot_from_chain(calm_chain, ["BTC"])
    out = LOGIC.propose(context(config(), snap, account(chain_time(calm_chain))))
    reasons = {p.currency: p.reason for p in out.proposals}
    assert not out.offers and "no account data" in reasons["BTC"] and "no market data" in reasons["ETH"]


# --- management -------------------------------------------------------------------------------


def _manage(
    calm_chain: pd.DataFrame, instrument: str, open_price: float, size: float = 1.0, **cfg: Any
) -> Any:  # the single proposal about ``instrument``
    currency = instrument.split("-")[0]
    market = market_from_chain(calm_chain, currency)
    held = short("cc", market, instrument, size, open_price)
    out, _ = _run(calm_chain, held, underlyings=[currency], **cfg)
    mine = [p for p in out.proposals if instrument in p.reason]
    assert len(mine) == 1, [p.reason for p in out.proposals]
    return mine[0], market


def test_take_profit_buys_back_at_the_ask(calm_chain: pd.DataFrame) -> None:
    # BTC-27FEB26-80000-C: bid 0.008, ask 0.0085 in the real snapshot
    p, market = _manage(calm_chain, "BTC-27FEB26-80000-C", open_price=0.03)  # 72 % captured >= 65 %
    assert p.action is Action.CLOSE and "take profit" in p.reason
    (leg,) = p.legs
    assert (leg.side, leg.intent, leg.size_contracts) == (Side.BUY, LegIntent.CLOSE, 1.0)
    assert leg.limit_price_coin == market.quote("BTC-27FEB26-80000-C").ask_coin  # type: ignore[union-attr]
    p, _ = _manage(calm_chain, "BTC-27FEB26-80000-C", open_price=0.02)  # 57 % < 65 %
    assert p.action is Action.HOLD and p.reason.startswith("keep")


def test_roll_before_expiry_goes_up_and_out_for_a_credit(calm_chain: pd.DataFrame) -> None:
    # expires 2026-02-09 08:00, 0.95 days away: moderate rolls at 1 day
    p, market = _manage(calm_chain, "BTC-9FEB26-74000-C", open_price=0.001, size=0.5)
    assert p.action is Action.ROLL and "days left <= 1" in p.reason
    close, new = p.legs
    old_q, new_q = market.quote(close.instrument_name), market.quote(new.instrument_name)
    assert old_q is not None and new_q is not None
    assert (close.side, close.intent, new.side, new.intent) == (
        Side.BUY,
        LegIntent.CLOSE,
        Side.SELL,
        LegIntent.OPEN,
    )
    assert close.size_contracts == new.size_contracts == 0.5 and p.link_id and p.link_id.startswith("roll-")
    assert new_q.expiry > old_q.expiry and new_q.strike_usd >= old_q.strike_usd
    credit = new.limit_price_coin * 0.5 - option_fee_coin(new.limit_price_coin, 0.5)
    cost = close.limit_price_coin * 0.5 + option_fee_coin(close.limit_price_coin, 0.5)
    assert credit >= cost
    params = config().params
    assert params.delta_min <= abs(new_q.delta) <= params.delta_max


def test_itm_call_past_roll_delta_is_closed_when_no_roll_target_fits(calm_chain: pd.DataFrame) -> None:
    # BTC-13FEB26-68000-C is in the money (delta ~0.75); with DTE capped at 5 no later expiry qualifies
    p, _ = _manage(calm_chain, "BTC-13FEB26-68000-C", open_price=0.03, params={"dte_max": 5, "dte_min": 0})
    assert p.action is Action.CLOSE
    assert "|delta|" in p.reason and "no acceptable roll target for a net credit" in p.reason


def test_moneyness_trigger_alone(calm_chain: pd.DataFrame) -> None:
    params = {"roll_delta": 0.0, "roll_below_otm_pct": 5.0, "take_profit_pct": 0.0}
    p, _ = _manage(calm_chain, "BTC-27FEB26-72000-C", open_price=0.05, params=params)
    assert p.action in (Action.ROLL, Action.CLOSE) and "out of the money < 5%" in p.reason
    p, _ = _manage(
        calm_chain, "BTC-27FEB26-72000-C", open_price=0.05, params={**params, "roll_below_otm_pct": None}
    )
    assert p.action is Action.HOLD


def test_with_roll_dte_zero_it_lets_options_expire(calm_chain: pd.DataFrame) -> None:
    params = {"roll_dte": 0, "roll_delta": 0.0, "roll_below_otm_pct": None, "take_profit_pct": 0.0}
    p, _ = _manage(calm_chain, "BTC-9FEB26-74000-C", open_price=0.001, params=params)
    assert p.action is Action.HOLD and p.reason.startswith("let it expire")


def test_unquoted_and_expired_positions_are_held_with_the_reason(calm_chain: pd.DataFrame) -> None:
    market = market_from_chain(calm_chain, "BTC")
    gone = short("cc", market, "BTC-27FEB26-80000-C", 1.0, 0.01)
    from dataclasses import replace

    ghost = replace(gone, instrument_name="BTC-27FEB26-999999-C")
    expired = replace(gone, instrument_name="BTC-1FEB26-80000-C", expiry=gone.expiry.replace(day=1))
    out, _ = _run(calm_chain, ghost, expired, underlyings=["BTC"])
    reasons = [p.reason for p in out.proposals if p.action is Action.HOLD]
    assert any("BTC-27FEB26-999999-C: no quote" in r for r in reasons)
    assert any("BTC-1FEB26-80000-C: expired" in r for r in reasons)


def test_the_same_context_gives_the_same_output(calm_chain: pd.DataFrame) -> None:
    market = market_from_chain(calm_chain, "BTC")
    held = short("cc", market, "BTC-9FEB26-74000-C", 0.5, 0.001)
    a, _ = _run(calm_chain, held)
    b, _ = _run(calm_chain, held)
    assert a.proposals == b.proposals
    assert [[o.leg for o in s.offers] for s in a.offers] == [[o.leg for o in s.offers] for s in b.offers]
