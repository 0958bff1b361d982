"""Properties of the risk engine, whatever the proposals: on full synthetic BTC and ETH chains.

* limits are never exceeded by what was approved, in any fill scenario (a limit the account
  already broke is not the engine's doing, so each limit is checked where it held before);
* a halted account only reduces; missing or stale inputs fail closed;
* tightening any limit never admits more; the order proposals arrive in does not matter.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from tests.trading.risk.worlds import (
    MARKETS,
    NOW,
    SETTINGS,
    THOROUGH,
    World,
    quote_of,
    risk_configs,
    tightened,
    worlds,
)
from trading.risk.config import RiskConfig
from trading.risk.engine import review
from trading.risk.killswitch import KillSwitchInput
from trading.risk.margin import short_option_im_coin
from trading.risk.state import RiskReview, RiskState, VerdictStatus
from trading.strategies.base import Action, Leg, LegIntent, Side
from trading.strategies.contracts import is_on_tick
from trading.strategies.market import MarketSnapshot

# --- an independent account of the limits -------------------------------------------------------


def _metrics(
    state: RiskState, legs: list[Leg], strategy_of: dict[int, str], removed: list[tuple[Leg, str]]
) -> dict[tuple[Any, ...], float]:
    """Totals after ``legs`` are sold and ``removed`` closes filled (existing positions plus changes)."""
    out: dict[tuple[Any, ...], float] = {}
    instruments: dict[str, dict[str, float]] = {}

    def add(key: tuple[Any, ...], x: float) -> None:
        out[key] = out.get(key, 0.0) + x

    rows = [
        (p.strategy, p.instrument_name, p.currency, p.option_type, p.strike_usd, p.expiry, -p.size_contracts)
        for p in state.positions
        if p.is_short
    ]
    rows += [
        (
            strategy_of[id(g)],
            g.instrument_name,
            g.currency,
            g.option_type,
            g.strike_usd,
            g.expiry,
            g.size_contracts,
        )
        for g in legs
    ]
    rows += [
        (s, g.instrument_name, g.currency, g.option_type, g.strike_usd, g.expiry, -g.size_contracts)
        for g, s in removed
    ]
    for strategy, name, cur, kind, strike, expiry, size in rows:
        index = MARKETS[cur].index_price_usd
        add(("expiry", cur, expiry), size)
        add(("calls", cur) if kind == "call" else ("puts_usd", cur), size * (1 if kind == "call" else strike))
        if strategy:
            add(("contracts", strategy, cur), size)
            add(("notional", strategy), size * quote_of(cur, name).index_price_usd if name else size * index)
            held = instruments.setdefault(strategy, {})
            held[name] = held.get(name, 0.0) + size
    for strategy, held in instruments.items():
        out[("positions", strategy)] = sum(1 for v in held.values() if v > 1e-9)
    for g in legs:
        q = quote_of(g.currency, g.instrument_name)
        add(
            ("im", g.currency),
            g.size_contracts
            * short_option_im_coin(
                option_type=q.option_type,
                strike_usd=q.strike_usd,
                index_usd=q.index_price_usd,
                mark_coin=q.mark_coin,
            ),
        )
    return out


def _caps(state: RiskState, cfg: RiskConfig) -> dict[tuple[Any, ...], float]:
    assert state.account is not None
    caps: dict[tuple[Any, ...], float] = {}
    for cur, a in state.account.currencies.items():
        caps[("calls", cur)] = cfg.max_call_coverage * a.balance_coin
        caps[("puts_usd", cur)] = (
            cfg.max_put_collateral_fraction * a.equity_coin * MARKETS[cur].index_price_usd
        )
        caps[("im", cur)] = cfg.max_initial_margin_fraction * a.equity_coin - a.initial_margin_coin
        caps[("expiry", cur)] = cfg.max_expiry_fraction * a.balance_coin
    for s in state.strategies.values():
        caps[("notional", s.name)] = s.limits.max_notional_usd
        caps[("positions", s.name)] = s.limits.max_open_positions
        for cur in MARKETS:
            caps[("contracts", s.name, cur)] = s.limits.max_contracts
    return caps


def _cap_for(caps: dict[tuple[Any, ...], float], key: tuple[Any, ...]) -> float:
    return caps[key[:2]] if key[0] == "expiry" else caps[key]


@THOROUGH
@given(world=st.one_of(worlds(busy=True), worlds(busy=True), worlds()), cfg=risk_configs())
def test_approved_trades_never_break_a_limit_that_held_before(world: World, cfg: RiskConfig) -> None:
    result = review(world.state, world.proposals, cfg)
    by_id = {p.proposal_id: p for p in world.proposals}
    opens: list[Leg] = []
    rolls: list[tuple[Leg, Leg, str]] = []
    owner: dict[int, str] = {}
    for v in result.verdicts:
        p = by_id[v.proposal_id]
        for g in v.approved_legs:
            assert g in p.legs
            if g.intent is LegIntent.OPEN:
                assert g.side is Side.SELL and is_on_tick(g.limit_price_coin)
                q = quote_of(g.currency, g.instrument_name)
                assert q.bid_coin is not None and q.ask_coin is not None
                assert q.bid_coin - 1e-12 <= g.limit_price_coin <= q.ask_coin + 1e-12
                owner[id(g)] = p.strategy
        open_legs = [g for g in v.approved_legs if g.intent is LegIntent.OPEN]
        if p.action is Action.ROLL and open_legs:
            rolls.append((p.legs[0], p.legs[1], p.strategy))
        elif open_legs:
            opens += open_legs
    event(f"approved opens: {min(len(opens) + len(rolls), 3)}")
    caps = _caps(world.state, cfg)
    before = _metrics(world.state, [], owner, [])
    for executed in itertools.product([False, True], repeat=len(rolls)):
        legs = opens + [new for (old, new, s), e in zip(rolls, executed, strict=True) if e]
        for _, new, s in rolls:
            owner[id(new)] = s
        removed = [(old, s) for (old, new, s), e in zip(rolls, executed, strict=True) if e]
        after = _metrics(world.state, legs, owner, removed)
        for key, value in after.items():
            cap = _cap_for(caps, key) if key[0] != "im" else caps[key]
            was = before.get(key, 0.0) if key[0] != "im" else 0.0
            if was <= cap + 1e-9 and value > was + 1e-9:
                assert value <= cap + 1e-6, (key, value, cap, executed)


@SETTINGS
@given(world=worlds(halted=True), cfg=risk_configs())
def test_a_halted_account_only_reduces(world: World, cfg: RiskConfig) -> None:
    result = review(world.state, world.proposals, cfg)
    assert result.kill_switch.halted
    held = {(p.strategy, p.instrument_name): -p.size_contracts for p in world.state.positions if p.is_short}
    closing: dict[tuple[str, str], float] = {}
    for v in result.verdicts:
        for g in v.approved_legs:
            assert (g.side, g.intent) == (Side.BUY, LegIntent.CLOSE)
            key = (v.strategy, g.instrument_name)
            closing[key] = closing.get(key, 0.0) + g.size_contracts
            assert closing[key] <= held.get(key, 0.0) + 1e-9


_RANK = {VerdictStatus.REJECTED: 0, VerdictStatus.PARTIAL: 1, VerdictStatus.APPROVED: 2}


@THOROUGH
@given(data=st.data(), world=st.one_of(worlds(busy=True), worlds(busy=True), worlds()), cfg=risk_configs())
def test_tightening_any_limit_never_admits_more(data: st.DataObject, world: World, cfg: RiskConfig) -> None:
    strict_cfg, strict_strategies = data.draw(tightened(cfg, dict(world.state.strategies)))
    loose = review(world.state, world.proposals, cfg)
    strict = review(replace(world.state, strategies=strict_strategies), world.proposals, strict_cfg)
    for a, b in zip(loose.verdicts, strict.verdicts, strict=True):
        assert _RANK[b.status] <= _RANK[a.status], (a, b)
        assert set(b.approved_legs) <= set(a.approved_legs)


@SETTINGS
@given(world=worlds(halted=False), cfg=risk_configs(), seed=st.integers(0, 2**32 - 1))
def test_the_order_of_proposals_does_not_matter(world: World, cfg: RiskConfig, seed: int) -> None:
    shuffled = list(world.proposals)
    random.Random(seed).shuffle(shuffled)
    a = review(world.state, world.proposals, cfg)
    b = review(world.state, shuffled, cfg)
    assert a.order == b.order
    assert sorted(a.verdicts, key=lambda v: v.rank) == sorted(b.verdicts, key=lambda v: v.rank)


def _opens(result: RiskReview) -> list[Leg]:
    return [g for v in result.verdicts for g in v.approved_legs if g.intent is LegIntent.OPEN]


@SETTINGS
@given(world=worlds(halted=False), cfg=risk_configs(), gone=st.sampled_from(["BTC", "ETH"]))
def test_missing_inputs_fail_closed(world: World, cfg: RiskConfig, gone: str) -> None:
    s = world.state
    assert _opens(review(replace(s, account=None), world.proposals, cfg)) == []
    assert _opens(review(replace(s, kill_switch=KillSwitchInput()), world.proposals, cfg)) == []
    without = MarketSnapshot({c: m for c, m in s.market.markets.items() if c != gone})
    result = review(replace(s, market=without), world.proposals, cfg)
    assert all(g.currency != gone for v in result.verdicts for g in v.approved_legs)
    stale = MarketSnapshot(
        {
            c: m.with_meta(observed_at=NOW - timedelta(seconds=cfg.max_market_age_s + 1)) if c == gone else m
            for c, m in s.market.markets.items()
        }
    )
    result = review(replace(s, market=stale), world.proposals, cfg)
    assert all(g.currency != gone for v in result.verdicts for g in v.approved_legs)
