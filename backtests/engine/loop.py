"""The backtest loop: the live decision round (``decide_round``) driven over recorded snapshots.

Each step ``(timestamp, {currency: snapshot frame})``: settle what expired, build the market as
the live agent does, show the strategies the backtest's own account and positions, run
``decide_round``, fill the approved legs with the :class:`FillModel`, and record equity. A roll's
open leg is sent only once its close leg filled, as live. Deterministic: same inputs, same result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import pandas as pd

from backtests.engine.book import Book
from backtests.engine.fills import FillModel, Trade
from backtests.engine.market import MarketHistory, market_build
from trading.decision.round import RoundInputs, RoundResult, decide_round
from trading.risk.config import RiskConfig
from trading.risk.killswitch import EquityMarks, KillSwitchInput
from trading.strategies.base import LegIntent, OptionPosition, StrategyConfig
from trading.strategies.market import MarketSnapshot

Step = tuple[datetime, Mapping[str, pd.DataFrame]]
"""One backtest step: its time (aware UTC) and a snapshot frame per currency."""

TRADING_DAY_START = time(8, 0)


@dataclass(frozen=True)
class BacktestConfig:
    strategies: tuple[StrategyConfig, ...]
    initial_balance_coin: Mapping[str, float]
    """Coins held at the start, per currency (the collateral of covered calls)."""
    fill_model: FillModel = field(default_factory=FillModel)
    risk_config: RiskConfig | None = None


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One currency's account after a step: coin amounts and their USD value at the index."""

    at: datetime
    currency: str
    balance_coin: float
    equity_coin: float
    index_price_usd: float
    equity_usd: float


@dataclass(frozen=True, slots=True)
class Unfilled:
    at: datetime
    strategy: str
    instrument_name: str
    reason: str


@dataclass(frozen=True)
class BacktestResult:
    equity: tuple[EquityPoint, ...]
    trades: tuple[Trade, ...]
    unfilled: tuple[Unfilled, ...]
    positions: tuple[OptionPosition, ...]
    """Open at the end."""
    rounds: tuple[RoundResult, ...]


def _day_start(now: datetime) -> datetime:
    start = datetime.combine(now.date(), TRADING_DAY_START, tzinfo=now.tzinfo)
    return start if now >= start else start - timedelta(days=1)


@dataclass
class _Marks:
    day: dict[str, tuple[datetime, float]] = field(default_factory=dict)
    peak: dict[str, float] = field(default_factory=dict)

    def update(self, now: datetime, book: Book) -> dict[str, EquityMarks]:
        """Day-start and peak equity per coin, from the equity before this step's trades."""
        out: dict[str, EquityMarks] = {}
        for c in sorted(book.balances_coin):
            equity = book.equity_coin(c)
            start = _day_start(now)
            if c not in self.day or self.day[c][0] != start:
                self.day[c] = (start, equity)
            self.peak[c] = max(self.peak.get(c, equity), equity)
            out[c] = EquityMarks(self.day[c][1], self.peak[c])
        return out


def _execute(
    round_: RoundResult, *, market: MarketSnapshot, book: Book, model: FillModel, now: datetime
) -> list[Unfilled]:
    missed: list[Unfilled] = []
    for proposal, verdict in round_.decisions():
        for leg in verdict.approved_legs:
            quote = market.quote(leg.currency, leg.instrument_name)
            price = model.fill_price_coin(leg, quote)
            trade = None
            if price is not None and quote is not None:
                trade = book.fill(
                    strategy=proposal.strategy,
                    leg=leg,
                    price_coin=price,
                    at=now,
                    index_price_usd=quote.index_price_usd,
                    provenance=model.provenance,
                    proposal_id=proposal.proposal_id,
                )
            if trade is None:
                why = "no quote on its side" if price is None else "nothing to reduce"
                missed.append(Unfilled(now, proposal.strategy, leg.instrument_name, why))
                if leg.intent is LegIntent.CLOSE:
                    break  # a roll opens only once its close filled
    return missed


def run_backtest(steps: Iterable[Step], config: BacktestConfig) -> BacktestResult:
    """Run ``config``'s strategies over ``steps`` (in time order); pure apart from CPU."""
    book = Book(balances_coin=dict(sorted(config.initial_balance_coin.items())))
    history = MarketHistory()
    marks = _Marks()
    equity: list[EquityPoint] = []
    unfilled: list[Unfilled] = []
    rounds: list[RoundResult] = []
    last: datetime | None = None
    for now, frames in steps:
        if now.tzinfo is None:
            raise ValueError(f"step time {now} must be aware UTC")
        if last is not None and now <= last:
            raise ValueError(f"steps must be in increasing time order: {now} after {last}")
        last = now
        market = market_build(now=now, frames=frames, history=history)
        index = {c: market.markets[c].index_price_usd for c in market}
        book.settle_expired(now=now, index_usd=index)
        book.update_marks(market)
        inputs = RoundInputs(
            now=now,
            market=market,
            account=book.account(now),
            positions=book.position_tuple(),
            strategies=config.strategies,
            kill_switch=KillSwitchInput(marks=marks.update(now, book)),
        )
        round_ = decide_round(inputs, risk_config=config.risk_config)
        rounds.append(round_)
        unfilled += _execute(round_, market=market, book=book, model=config.fill_model, now=now)
        book.update_marks(market)
        for c in sorted(book.balances_coin):
            px = index.get(c, math.nan)
            eq = book.equity_coin(c)
            equity.append(EquityPoint(now, c, book.balances_coin[c], eq, px, eq * px))
    return BacktestResult(
        equity=tuple(equity),
        trades=tuple(book.trades),
        unfilled=tuple(unfilled),
        positions=book.position_tuple(),
        rounds=tuple(rounds),
    )


def steps_from_frames(frames: Iterable[pd.DataFrame]) -> list[Step]:
    """Group snapshot frames (one currency and time each) into steps, in time order."""
    by_time: dict[datetime, dict[str, pd.DataFrame]] = {}
    for frame in frames:
        ts = pd.Timestamp(frame["timestamp"].iloc[0]).to_pydatetime()
        by_time.setdefault(ts, {})[str(frame["currency"].iloc[0])] = frame
    return [(t, by_time[t]) for t in sorted(by_time)]
