"""The live agent's run kept as plain data, its replay through the backtest engine, and every
difference between the two (see ``test_live_replay``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

import backtests.engine.loop as engine_loop
import trading.agent.market as live_market
import trading.agent.tick as live_tick
from backtests.engine import BacktestConfig, BacktestResult, Step, run_backtest
from backtests.replay import recorded_steps
from tests.factories import StrategyFactory
from tests.trading.agent.conftest import RunningEmulator
from trading.agent.market import MarketHistory as LiveHistory
from trading.agent.market import history_summarise
from trading.agent.records import candidates_record, leg_record, summary_json
from trading.agent.tick import agent_tick_run
from trading.decision.round import RoundResult
from trading.exchange.errors import ExchangeError
from trading.models import AgentTick, Decision, Fill, MarketSnapshot, Order, Position, Strategy
from trading.risk.state import Verdict, VerdictStatus
from trading.strategies.base import Proposal, StrategyConfig
from trading.strategies.market import MarketSnapshot as Market

# --- the live run -------------------------------------------------------------------------------

Traded = tuple[str, str, str, float, float]
"""A fill: strategy, instrument, side, contracts, price in coin."""


@dataclass(frozen=True)
class TickRecord:
    now: datetime
    market: Market
    """The strategies' market, as the tick built it."""
    decisions: tuple[dict[str, Any], ...]
    """The ``Decision`` rows, in the order they were recorded."""
    kill_switch: dict[str, Any]
    balances_coin: dict[str, float]
    """The account before the tick traded."""
    fills: tuple[Traded, ...]
    unfilled: tuple[str, ...]
    """Orders of this tick not filled whole at their limit during the tick."""


@dataclass(frozen=True)
class LiveRecord:
    ticks: tuple[TickRecord, ...]
    frames: tuple[pd.DataFrame, ...]
    """The stored snapshot frames, in time order."""
    steps: tuple[Step, ...]
    """The stored snapshots as backtest steps (``backtests.replay.recorded_steps``)."""
    history: dict[tuple[str, datetime], LiveHistory]
    """What each tick took from the exchange's daily candles, by currency and tick time."""
    configs: tuple[StrategyConfig, ...]
    start_balances_coin: dict[str, float]
    settlements: tuple[Traded, ...]
    positions: tuple[tuple[str, str, float, float], ...]
    """Open at the end: strategy, instrument, contracts (negative: short), average price in coin."""


def live_decision(d: Decision) -> dict[str, Any]:
    return {
        "strategy": d.strategy.name,
        "proposal_id": d.proposal_id,
        "action": d.action,
        "currency": d.currency,
        "legs": d.legs,
        "link_id": d.link_id,
        "reason": d.reason,
        "scores": d.scores,
        "candidates": d.candidates,
        "verdict": d.verdict,
        "risk_reasons": d.risk_reasons,
    }


def _traded(f: Fill) -> Traded:
    return (f.strategy.name, f.instrument_name, f.side, float(f.amount), float(f.price_coin))


def _unfilled(tick: AgentTick, now: datetime) -> tuple[str, ...]:
    out = []
    for o in Order.objects.filter(decision__tick=tick).order_by("pk"):
        fills = list(o.fills.all())
        whole = o.state == Order.State.FILLED and sum(f.amount for f in fills) == o.amount
        at_limit = all(f.price_coin == o.limit_price_coin for f in fills)
        in_tick = all(f.traded_at == now for f in fills)
        if not (whole and at_limit and in_tick):
            out.append(f"{o.label} {o.side} {o.amount} {o.instrument_name} @ {o.limit_price_coin}: {o.state}")
    return tuple(out)


def _tick_record(tick: AgentTick, market: Market) -> TickRecord:
    now = datetime.fromisoformat(tick.summary["now"])
    return TickRecord(
        now=now,
        market=market,
        decisions=tuple(live_decision(d) for d in Decision.objects.filter(tick=tick).order_by("pk")),
        kill_switch=tick.summary["kill_switch"],
        balances_coin={c: a["balance_coin"] for c, a in tick.summary["account"].items()},
        fills=tuple(_traded(f) for f in Fill.objects.filter(order__decision__tick=tick).order_by("pk")),
        unfilled=_unfilled(tick, now),
    )


def _registry_configs() -> tuple[StrategyConfig, ...]:
    """The strategies as the live tick builds them from the registry."""
    return tuple(
        StrategyConfig.from_registry(
            name=s.name,
            logic_kind=s.logic_kind,
            parameters=s.parameters,
            underlyings=s.underlyings,
            option_types=s.option_types,
            risk_limits=s.risk_limits,
            decision_mode=s.decision_mode,
            priority=s.priority,
        )
        for s in Strategy.objects.filter(enabled=True).order_by("name")
    )


def run_live(
    exchange: RunningEmulator,
    patch: pytest.MonkeyPatch,
    *,
    strategies: Iterable[Mapping[str, Any]],
    ticks_after_start: Iterable[timedelta],
) -> LiveRecord:
    """Register ``strategies`` (``StrategyFactory`` fields) and let the agent tick at the given
    times after the emulator's clock now, keeping what each tick saw and did."""
    for spec in strategies:
        StrategyFactory(**spec)
    markets: dict[datetime, Market] = {}
    history: dict[tuple[str, datetime], LiveHistory] = {}
    fetch_market, fetch_history = live_tick.market_fetch, live_market.history_fetch

    def market_fetch(**kwargs: Any) -> live_market.TickMarket:
        out = fetch_market(**kwargs)
        markets[kwargs["now"]] = out.snapshot
        return out

    async def history_fetch(**kwargs: Any) -> pd.DataFrame:
        key = (kwargs["currency"], kwargs["end"])
        try:
            frame = await fetch_history(**kwargs)
        except ExchangeError:
            history[key] = LiveHistory(None, None, None)  # what the tick then goes on with
            raise
        history[key] = history_summarise(frame)
        return frame

    patch.setattr(live_tick, "market_fetch", market_fetch)
    patch.setattr(live_market, "history_fetch", history_fetch)
    start = exchange.now
    ticks = []
    for after in ticks_after_start:
        exchange.advance((start + after - exchange.now).total_seconds())
        tick = agent_tick_run(now=exchange.now, config=exchange.config())
        assert tick.status == AgentTick.Status.OK, tick.message
        ticks.append(_tick_record(tick, markets[exchange.now]))

    rows = list(MarketSnapshot.objects.order_by("taken_at", "currency"))
    assert all(r.quality_ok for r in rows), [r.problems for r in rows]
    for r in rows:  # each snapshot row keeps the daily history its tick used
        used = history[(r.currency, r.taken_at)]
        assert r.history_known
        assert (r.realized_vol, r.dvol_before, r.index_high) == (
            used.rv,
            used.dvol_before,
            used.index_high_usd,
        )
    # The engine decides at a snapshot's data time; the live tick at its own clock, and marks the
    # quotes with the data time. The emulator stamps its data with that clock: the same instant.
    assert all(r.data_timestamp == r.taken_at for r in rows)
    return LiveRecord(
        ticks=tuple(ticks),
        frames=tuple(r.frame() for r in rows),
        steps=tuple(
            recorded_steps(
                currencies=("BTC", "ETH"),
                start=rows[0].taken_at,
                end=rows[-1].taken_at + timedelta(seconds=1),
            )
        ),
        history=history,
        configs=_registry_configs(),
        start_balances_coin=dict(exchange.emulator.accounts[0].balances),
        settlements=tuple(_traded(f) for f in Fill.objects.filter(order__isnull=True).order_by("pk")),
        positions=tuple(
            (p.strategy.name, p.instrument_name, float(p.size_contracts), float(p.average_price_coin))
            for p in Position.objects.exclude(size_contracts=0)
            .filter(settled_at__isnull=True)
            .order_by("strategy__name", "instrument_name")
        ),
    )


# --- the replay ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    result: BacktestResult
    markets: dict[datetime, Market]


def replay(
    live: LiveRecord, *, configs: tuple[StrategyConfig, ...] | None = None, recorded_history: bool = True
) -> Replay:
    """Backtest the stored snapshots; without ``recorded_history`` the engine derives the daily
    history (realised vol, DVOL a day earlier, 30-day high) from the steps it has seen instead."""
    markets: dict[datetime, Market] = {}
    build = engine_loop.market_build

    def market_build(**kwargs: Any) -> Market:
        out = build(**kwargs)
        markets[kwargs["now"]] = out
        return out

    config = BacktestConfig(
        strategies=configs if configs is not None else live.configs,
        initial_balance_coin=live.start_balances_coin,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_loop, "market_build", market_build)
        steps = live.steps
        if not recorded_history:
            steps = tuple(
                (t, {c: replace(item, history_known=False) for c, item in by_currency.items()})  # type: ignore[type-var]
                for t, by_currency in steps
            )
        result = run_backtest(steps, config)
    return Replay(result, markets)


# --- the comparison -----------------------------------------------------------------------------

_VERDICT = {
    VerdictStatus.APPROVED: Decision.Verdict.APPROVED,
    VerdictStatus.PARTIAL: Decision.Verdict.APPROVED,
    VerdictStatus.REJECTED: Decision.Verdict.REJECTED,
}


def replayed_decision(proposal: Proposal, verdict: Verdict, round_: RoundResult) -> dict[str, Any]:
    """The ``Decision`` the live agent records for this proposal (``trading.agent.records``)."""
    reasons = list(verdict.reasons)
    if verdict.status is VerdictStatus.PARTIAL:
        reasons.append("only the closing leg was approved")
    offers = next(r.output.offers for r in round_.runs if r.strategy == proposal.strategy)
    made = summary_json(
        {
            "strategy": proposal.strategy,
            "proposal_id": proposal.proposal_id,
            "action": proposal.action.value,
            "currency": proposal.currency,
            "legs": [leg_record(leg) for leg in proposal.legs],
            "link_id": proposal.link_id or "",
            "reason": proposal.reason,
            "scores": dict(proposal.scores),
            "candidates": candidates_record(offers, proposal.currency),
            "verdict": _VERDICT[verdict.status] if proposal.legs else Decision.Verdict.NOT_REVIEWED,
            "risk_reasons": reasons,
        }
    )
    assert isinstance(made, dict)
    return made


@dataclass(frozen=True)
class Difference:
    now: datetime
    where: str
    """``market BTC``, ``kill switch``, ``balances``, a strategy's name, ``fills``, ``settlements``..."""
    what: str
    live: Any
    replayed: Any

    def __str__(self) -> str:
        when = f"{self.now:%Y-%m-%d %H:%M}"
        return f"{when} {self.where} {self.what}: live {self.live!r}, replay {self.replayed!r}"


ROW_KEYS = ("names", "is_call", "expiry_ns")
"""What identifies the rows of a market's arrays."""


def market_differences(now: datetime, live: Market, replayed: Market) -> list[Difference]:
    if sorted(live.markets) != sorted(replayed.markets):
        return [Difference(now, "market", "currencies", sorted(live.markets), sorted(replayed.markets))]
    out = []
    for currency, a in sorted(live.markets.items()):
        b = replayed.markets[currency]
        where = f"market {currency}"
        for name in ("observed_at", "index_price_usd", "regime"):
            if getattr(a, name) != getattr(b, name):
                out.append(Difference(now, where, name, getattr(a, name), getattr(b, name)))
        x, y = a.arrays, b.arrays
        keys = [k for k in ROW_KEYS if not np.array_equal(getattr(x, k), getattr(y, k))]
        if keys:  # other rows: the columns cannot be compared
            out += [Difference(now, where, k, len(getattr(x, k)), len(getattr(y, k))) for k in keys]
            continue
        for column in sorted(set(x.columns) | set(y.columns)):
            if column not in x.columns or column not in y.columns:
                out.append(Difference(now, where, column, column in x.columns, column in y.columns))
            elif not np.array_equal(x[column], y[column], equal_nan=True):
                bad = np.flatnonzero(~np.isclose(x[column], y[column], rtol=0.0, atol=0.0, equal_nan=True))
                out.append(Difference(now, where, column, x[column][bad[0]], y[column][bad[0]]))
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9)


def _same_trades(a: tuple[Traded, ...], b: tuple[Traded, ...]) -> bool:
    return len(a) == len(b) and all(
        x[:3] == y[:3] and _close(x[3], y[3]) and _close(x[4], y[4]) for x, y in zip(a, b, strict=True)
    )


def differences(live: LiveRecord, replayed: Replay) -> list[Difference]:
    """Every way the replay departs from the live run, tick by tick (empty: none)."""
    result = replayed.result
    steps = result.rounds
    if len(steps) != len(live.ticks):
        return [Difference(live.ticks[0].now, "run", "rounds", len(live.ticks), len(steps))]
    out: list[Difference] = []
    balances = dict(live.start_balances_coin)
    for tick, round_ in zip(live.ticks, steps, strict=True):
        now = tick.now
        out += market_differences(now, tick.market, replayed.markets[now])
        halt = round_.review.kill_switch
        halted = {"halted": halt.halted, "reasons": list(halt.reasons)}
        if halted != tick.kill_switch:
            out.append(Difference(now, "kill switch", "status", tick.kill_switch, halted))
        if sorted(balances) != sorted(tick.balances_coin) or not all(
            _close(balances[c], tick.balances_coin[c]) for c in balances
        ):
            out.append(Difference(now, "balances", "before trading", tick.balances_coin, balances))
        made = [replayed_decision(p, v, round_) for p, v in round_.decisions()]
        if len(made) != len(tick.decisions):
            out.append(Difference(now, "decisions", "count", len(tick.decisions), len(made)))
        for a, b in zip(tick.decisions, made, strict=False):
            out += [Difference(now, a["strategy"], k, a[k], b[k]) for k in a if a[k] != b[k]]
        fills = tuple(
            (t.strategy, t.instrument_name, t.side.value, t.size_contracts, t.price_coin)
            for t in result.trades
            if t.at == now and t.kind != "settle"
        )
        if not _same_trades(tick.fills, fills):
            out.append(Difference(now, "fills", "trades", tick.fills, fills))
        balances = {p.currency: p.balance_coin for p in result.equity if p.at == now}
    settled = tuple(
        (t.strategy, t.instrument_name, t.side.value, t.size_contracts, t.price_coin)
        for t in result.trades
        if t.kind == "settle"
    )
    last = live.ticks[-1].now
    if not _same_trades(live.settlements, settled):
        out.append(Difference(last, "settlements", "trades", live.settlements, settled))
    held = tuple(
        (p.strategy, p.instrument_name, p.size_contracts, p.open_price_coin) for p in result.positions
    )
    if not (
        len(held) == len(live.positions)
        and all(
            x[:2] == y[:2] and _close(x[2], y[2]) and _close(x[3], y[3])
            for x, y in zip(live.positions, held, strict=True)
        )
    ):
        out.append(Difference(last, "positions", "open at the end", live.positions, held))
    return out
