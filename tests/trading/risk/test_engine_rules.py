"""Every rule of the risk engine, on real Deribit rows of 2026-02-08 09:23 UTC."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.trading.strategies.support import (
    account,
    buy,
    chain_time,
    config,
    market_from_chain,
    proposal,
    regime_of,
    sell,
    short,
)
from trading.risk.config import RiskConfig
from trading.risk.engine import review
from trading.risk.killswitch import EquityMarks, KillSwitchInput
from trading.risk.state import RiskState, Verdict, VerdictStatus
from trading.strategies.base import AccountView, Action, OptionPosition, Proposal, StrategyConfig
from trading.strategies.market import CurrencyMarket, MarketSnapshot
from trading.strategies.regime import Regime

CALL = "BTC-27FEB26-80000-C"  # bid 0.008 / ask 0.009, delta ~0.15
CALL2 = "BTC-20FEB26-78000-C"  # bid 0.007, delta ~0.16
HOT_CALL = "BTC-13FEB26-72000-C"  # delta ~0.39
PUT = "BTC-27FEB26-64000-P"


class World:
    def __init__(
        self,
        chain: pd.DataFrame,
        *,
        coins: float = 2.0,
        eth: float = 30.0,
        im: float = 0.0,
        positions: tuple[OptionPosition, ...] = (),
        strategies: tuple[StrategyConfig, ...] | None = None,
        regime: Regime = Regime.NORMAL,
        kill: dict[str, Any] | None = None,
    ) -> None:
        self.now: datetime = chain_time(chain)
        self.btc: CurrencyMarket = market_from_chain(chain, "BTC", regime=regime_of("BTC", regime))
        self.eth: CurrencyMarket = market_from_chain(chain, "ETH")
        self.market = MarketSnapshot({"BTC": self.btc, "ETH": self.eth})
        self.account: AccountView | None = account(self.now, BTC=(coins, coins, im), ETH=eth)
        self.positions = positions
        self.strategies = strategies or (config("cc"), config("csp", "cash_secured_put"))
        marks = {"BTC": EquityMarks(coins, coins), "ETH": EquityMarks(eth, eth)}
        self.kill = KillSwitchInput(marks=marks, **(kill or {}))

    def state(self, **change: Any) -> RiskState:
        s = RiskState(
            self.now,
            self.market,
            self.account,
            self.positions,
            {c.name: c for c in self.strategies},
            self.kill,
        )
        return replace(s, **change)

    def review(self, *proposals: Proposal, config: RiskConfig | None = None, **change: Any) -> list[Verdict]:
        return list(review(self.state(**change), proposals, config).verdicts)

    def open(
        self,
        instrument: str,
        size: float,
        strategy: str = "cc",
        price: float | None = None,
        score: float = 0.0,
    ) -> Proposal:
        market = self.btc if instrument.startswith("BTC") else self.eth
        return proposal(strategy, self.now, Action.OPEN, sell(market, instrument, size, price), score=score)

    def close(
        self, instrument: str, size: float, strategy: str = "cc", price: float | None = None
    ) -> Proposal:
        market = self.btc if instrument.startswith("BTC") else self.eth
        return proposal(strategy, self.now, Action.CLOSE, buy(market, instrument, size, price))

    def roll(self, old: str, new: str, size: float, strategy: str = "cc") -> Proposal:
        return proposal(
            strategy,
            self.now,
            Action.ROLL,
            buy(self.btc, old, size),
            sell(self.btc, new, size),
            link_id="roll-test",
        )

    def held(self, instrument: str, size: float, strategy: str = "cc") -> OptionPosition:
        market = self.btc if instrument.startswith("BTC") else self.eth
        return short(strategy, market, instrument, size, 0.01)


def _only(verdicts: list[Verdict]) -> Verdict:
    (v,) = verdicts
    return v


def _refused(v: Verdict, fragment: str) -> None:
    assert v.status is VerdictStatus.REJECTED and not v.approved_legs, v
    assert any(fragment in r for r in v.reasons), v.reasons


def test_a_sane_covered_call_passes(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    p = w.open(CALL, 1.0)
    v = _only(w.review(p))
    assert v.status is VerdictStatus.APPROVED and v.approved_legs == p.legs and v.proposal_id == p.proposal_id


# --- price and size sanity ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "fragment"),
    [
        (0.0075, "outside the bid/ask band [0.008, 0.009]"),
        (0.0095, "outside the bid/ask band"),
        (0.0082, "tick grid"),
        (-0.008, "tick grid"),
    ],
)
def test_open_price_must_be_inside_the_band_and_on_the_tick(
    calm_chain: pd.DataFrame, price: float, fragment: str
) -> None:
    w = World(calm_chain)
    _refused(_only(w.review(w.open(CALL, 1.0, price=price))), fragment)
    assert _only(w.review(w.open(CALL, 1.0, price=0.009))).approved  # the ask is inside the band


def test_close_price_must_not_exceed_the_ask(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    w.positions = (w.held(CALL, 1.0),)
    _refused(_only(w.review(w.close(CALL, 1.0, price=0.0095))), "outside the bid/ask band")
    assert _only(w.review(w.close(CALL, 1.0))).approved


@pytest.mark.parametrize(("instrument", "size"), [(CALL, 0.15), (CALL, 0.0), ("ETH-27FEB26-2500-C", 1.5)])
def test_sizes_are_whole_amount_steps(calm_chain: pd.DataFrame, instrument: str, size: float) -> None:
    w = World(calm_chain)
    _refused(_only(w.review(w.open(instrument, size))), "not a positive multiple")


def test_unquoted_or_bidless_instruments_fail_closed(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    ghost = replace(
        w.open(CALL, 1.0), legs=(replace(sell(w.btc, CALL, 1.0), instrument_name="BTC-27FEB26-1-C"),)
    )
    _refused(_only(w.review(ghost)), "no quote")
    c = w.btc.chain
    bidless = str(c.loc[c["bid_price_coin"].isna() & c["ask_price_coin"].notna(), "instrument_name"].iloc[0])
    q = w.btc.quote(bidless)
    assert q is not None and q.ask_coin is not None
    leg = replace(
        sell(w.btc, CALL, 1.0),
        instrument_name=bidless,
        strike_usd=q.strike_usd,
        expiry=q.expiry,
        option_type=q.option_type,
        limit_price_coin=q.ask_coin,
    )
    _refused(_only(w.review(replace(w.open(CALL, 1.0), legs=(leg,)))), "no bid")


def test_legs_must_fit_the_action(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    w.positions = (w.held(CALL, 1.0),)
    buy_to_open = replace(w.close(CALL, 1.0), action=Action.OPEN)
    _refused(_only(w.review(buy_to_open)), "malformed open")
    _refused(_only(w.review(replace(w.open(CALL, 1.0), strategy="nobody"))), "unknown strategy")


# --- data ---------------------------------------------------------------------------------------


def test_stale_or_future_market_data_fails_closed_but_cancels_pass(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    w.positions = (w.held(CALL, 1.0),)
    cancel = proposal("cc", w.now, Action.CANCEL, cancel_label="cc-123")
    late = w.now + timedelta(seconds=121)
    w.account = account(late, BTC=2.0, ETH=30.0)
    open_v, close_v, cancel_v = w.review(w.open(CALL2, 1.0), w.close(CALL, 1.0), cancel, now=late)
    _refused(open_v, "market data is 121 s old")
    _refused(close_v, "market data is 121 s old")
    assert cancel_v.approved
    early = w.now - timedelta(seconds=30)
    _refused(_only(w.review(w.open(CALL2, 1.0), now=early)), "in the future")


def test_missing_or_stale_account_blocks_opens_not_closes(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    w.positions = (w.held(CALL, 1.0),)
    w.account = None
    opened, closed = w.review(w.open(CALL2, 1.0), w.close(CALL, 1.0))
    _refused(opened, "no account data")
    assert closed.approved
    w.account = AccountView(w.now - timedelta(hours=1), World(calm_chain).account.currencies)  # type: ignore[union-attr]
    _refused(_only(w.review(w.open(CALL2, 1.0), config=RiskConfig())), "account data is 3600 s old")


def test_a_held_position_without_a_quote_blocks_opens_in_its_coin(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    ghost = replace(w.held(CALL, 1.0), instrument_name="BTC-27FEB26-999999-C")
    w.positions = (ghost,)
    btc, eth = w.review(w.open(CALL2, 0.5), w.open("ETH-27FEB26-2500-C", 1.0))
    _refused(btc, "BTC exposure unknown")
    assert eth.approved


# --- permissions and per-strategy limits ----------------------------------------------------------


def test_allow_lists_and_disabled_strategies(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain, strategies=(config("cc", underlyings=["ETH"]), config("off", enabled=False)))
    w.positions = (w.held(CALL, 1.0, "off"),)
    _refused(_only(w.review(w.open(CALL, 1.0))), "may not trade BTC")
    _refused(_only(w.review(w.open(PUT, 0.5))), "may not sell puts")
    off_open, off_close = w.review(w.open(CALL2, 0.5, "off"), w.close(CALL, 1.0, "off"))
    _refused(off_open, "disabled")
    assert off_close.approved


@pytest.mark.parametrize(
    ("limits", "size", "held", "fragment"),
    [
        ({"max_contracts": 1.0}, 0.6, 0.5, "1.1 BTC contracts > its limit 1"),
        ({"max_notional_usd": 100_000.0}, 1.0, 0.5, "notional 10"),
        ({"max_open_positions": 1}, 0.1, 0.5, "2 open positions > its limit 1"),
        ({"max_abs_delta": 0.2}, 1.0, 0.5, "delta could reach"),
    ],
)
def test_per_strategy_limits(
    calm_chain: pd.DataFrame, limits: dict[str, Any], size: float, held: float, fragment: str
) -> None:
    w = World(calm_chain, strategies=(config("cc", limits=limits),))
    w.positions = (w.held(CALL2, held),)
    _refused(_only(w.review(w.open(CALL, size))), fragment)
    relaxed = World(calm_chain)
    relaxed.positions = w.positions
    assert _only(relaxed.review(relaxed.open(CALL, size))).approved


# --- account limits ----------------------------------------------------------------------------


def test_calls_sold_never_exceed_the_coins_held(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain, coins=1.0)
    w.positions = (w.held(CALL2, 0.8, "csp"),)  # another strategy's calls count too
    _refused(_only(w.review(w.open(CALL, 0.3))), "calls sold 1.1 > 1 x 1 BTC held (uncovered)")
    assert _only(w.review(w.open(CALL, 0.2))).approved


def test_initial_margin_after_the_trade_stays_within_the_fraction_of_equity(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain, coins=2.0, im=0.9)  # cap 0.5 x 2 = 1.0; a short call adds ~0.11 per contract
    _refused(_only(w.review(w.open(CALL, 1.0))), "initial margin 1.0")
    assert _only(w.review(w.open(CALL, 0.5))).approved


def test_net_delta_stays_in_its_band(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    tight = RiskConfig(min_net_delta_ratio=0.95)
    _refused(_only(w.review(w.open(HOT_CALL, 1.0), config=tight)), "account delta could reach")
    assert _only(w.review(w.open(CALL, 0.1), config=tight)).approved


def test_concentration_per_expiry(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)  # 0.6 x 2 BTC = 1.2 contracts per expiry
    w.positions = (w.held("BTC-27FEB26-84000-C", 0.7),)
    _refused(_only(w.review(w.open(CALL, 0.6))), "1.3 contracts short in the 27 Feb 2026 expiry")
    assert _only(w.review(w.open(CALL2, 0.6))).approved  # another expiry


def test_puts_are_secured_by_equity(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    _refused(
        _only(w.review(w.open(PUT, 1.0, "csp"), config=RiskConfig(max_put_collateral_fraction=0.4))),
        "puts' strike value 64,000 USD",
    )
    assert _only(w.review(w.open(PUT, 1.0, "csp"))).approved


# --- regime ------------------------------------------------------------------------------------


def test_crisis_blocks_opens_and_elevated_caps_delta(calm_chain: pd.DataFrame) -> None:
    crisis = World(calm_chain, regime=Regime.CRISIS)
    crisis.positions = (crisis.held(CALL2, 0.5),)
    opened, closed = crisis.review(crisis.open(CALL, 0.5), crisis.close(CALL2, 0.5))
    _refused(opened, "regime is crisis")
    assert closed.approved
    assert _only(crisis.review(crisis.open(CALL, 0.5), config=RiskConfig(crisis_allows_opens=True))).approved
    elevated = World(calm_chain, regime=Regime.ELEVATED)
    _refused(_only(elevated.review(elevated.open(HOT_CALL, 0.5))), "regime is elevated")
    assert _only(elevated.review(elevated.open(CALL, 0.5))).approved


# --- kill switch -------------------------------------------------------------------------------


def test_halted_account_only_reduces(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain, kill={"manual_halt": True, "manual_reason": "operator"})
    w.positions = (w.held(CALL, 1.0), w.held(CALL2, 1.0))
    hold = proposal("cc", w.now, Action.HOLD, currency="BTC")
    cancel = proposal("cc", w.now, Action.CANCEL, cancel_label="x")
    opened, closed, rolled, held, cancelled = w.review(
        w.open(HOT_CALL, 0.1), w.close(CALL, 1.0), w.roll(CALL2, "BTC-27FEB26-84000-C", 1.0), hold, cancel
    )
    _refused(opened, "kill switch: halted by hand: operator")
    assert closed.status is VerdictStatus.APPROVED
    assert rolled.status is VerdictStatus.PARTIAL and [g.instrument_name for g in rolled.approved_legs] == [
        CALL2
    ]
    assert held.approved and cancelled.approved


def test_daily_loss_trips_the_switch(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    w.kill = KillSwitchInput(marks={"BTC": EquityMarks(2.2, 2.2), "ETH": EquityMarks(30.0, 30.0)})
    result = review(w.state(), [w.open(CALL, 0.5)])
    assert result.kill_switch.halted and result.kill_switch.newly_tripped
    _refused(result.verdicts[0], "down 9.1% today")


# --- several proposals together -------------------------------------------------------------------


def test_competing_opens_are_resolved_by_priority_not_by_order(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain, coins=1.0, strategies=(config("alpha", priority=200), config("beta", priority=100)))
    a, b = w.open(CALL, 0.6, "alpha", score=5.0), w.open(CALL2, 0.5, "beta", score=1.0)
    for order in ([a, b], [b, a]):
        verdicts = {v.strategy: v for v in w.review(*order)}
        assert verdicts["beta"].approved and verdicts["beta"].rank == 0
        _refused(verdicts["alpha"], "uncovered")


def test_equal_priority_goes_to_the_higher_score_then_the_name(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain, coins=1.0, strategies=(config("alpha"), config("beta")))
    a, b = w.open(CALL, 0.6, "alpha", score=1.0), w.open(CALL2, 0.5, "beta", score=2.0)
    assert {v.strategy: v.approved for v in w.review(a, b)} == {"alpha": False, "beta": True}
    a, b = w.open(CALL, 0.6, "alpha", score=2.0), w.open(CALL2, 0.5, "beta", score=2.0)
    assert {v.strategy: v.approved for v in w.review(b, a)} == {"alpha": True, "beta": False}


def test_a_refused_proposal_still_holds_its_place(calm_chain: pd.DataFrame) -> None:
    # alpha goes first and is refused by its own contract limit; beta may not take the room alpha asked for
    w = World(
        calm_chain,
        coins=1.0,
        strategies=(config("alpha", priority=1, limits={"max_contracts": 0.5}), config("beta", priority=2)),
    )
    alpha, beta = w.review(w.open(CALL, 0.8, "alpha"), w.open(CALL2, 0.5, "beta"))
    _refused(alpha, "its limit 0.5")
    _refused(beta, "uncovered")


def test_a_roll_nets_its_own_close_but_a_close_frees_nothing_for_others(calm_chain: pd.DataFrame) -> None:
    w = World(
        calm_chain,
        coins=1.0,
        strategies=(config("cc", params={"coverage_pct": 100.0}),),
    )
    w.positions = (w.held(CALL2, 1.0),)
    loose = RiskConfig(max_expiry_fraction=1.0)
    assert _only(w.review(w.roll(CALL2, CALL, 1.0), config=loose)).status is VerdictStatus.APPROVED
    closed, opened = w.review(w.close(CALL2, 1.0), w.open(CALL, 1.0), config=loose)
    assert closed.approved
    _refused(opened, "uncovered")


def test_duplicates_and_double_closes_are_refused(calm_chain: pd.DataFrame) -> None:
    w = World(calm_chain)
    w.positions = (w.held(CALL, 1.0),)
    p = w.open(CALL2, 0.5)
    first, second = w.review(p, p)
    assert first.approved
    _refused(second, "duplicate")
    one, two = w.review(w.close(CALL, 0.6), replace(w.close(CALL, 0.5), reason="again"))
    assert [one.approved, two.approved].count(True) == 1
    _refused(one if not one.approved else two, "not already being closed")
