"""The backtest loop: the live decision round (``decide_round``) driven over recorded snapshots.

Each step ``(timestamp, {currency: snapshot frame})``: settle what expired, build the market as
the live agent does, show the strategies the backtest's own account and positions, run
``decide_round``, fill the approved legs with the :class:`FillModel`, and record equity. A roll's
open leg is sent only once its close leg filled, as live. Deterministic: same inputs, same result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import pandas as pd

from backtests.engine.book import Book
from backtests.engine.fills import REAL_QUOTE, FillModel, Trade
from backtests.engine.market import MarketHistory, StepChain, StepItem, market_build
from backtests.engine.records import RoundTrip
from trading.decision.round import RoundInputs, RoundResult, decide_round
from trading.risk.config import RiskConfig
from trading.risk.killswitch import EquityMarks, KillSwitchInput
from trading.strategies.base import Action, LegIntent, OptionPosition, StrategyConfig
from trading.strategies.contracts import amount_step
from trading.strategies.market import MarketSnapshot

Step = tuple[datetime, Mapping[str, StepItem]]
"""One backtest step: its time (aware UTC) and per currency a snapshot frame, a prepared chain or a
recorded live snapshot (:mod:`backtests.engine.market`)."""

TRADING_DAY_START = time(8, 0)


@dataclass(frozen=True)
class BacktestConfig:
    strategies: tuple[StrategyConfig, ...]
    initial_balance_coin: Mapping[str, float]
    """Coins held at the start, per currency (the collateral of covered calls)."""
    fill_model: FillModel = field(default_factory=FillModel)
    risk_config: RiskConfig | None = None
    delivery_prices_usd: Mapping[tuple[str, datetime], float] = field(default_factory=dict)
    """Known delivery prices by (currency, expiry); other expiries settle at the step's index."""
    keep_rounds: bool = True
    """Keep every round's proposals and verdicts in the result (memory grows with the steps)."""


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One currency's account after a step: coin amounts and their USD value at the index."""

    at: datetime
    currency: str
    balance_coin: float
    equity_coin: float
    index_price_usd: float
    equity_usd: float
    margin_coin: float = 0.0
    """Initial margin of the open short options (Deribit standard margin), coin."""
    contracts: float = 0.0
    """Absolute contracts of this coin's options held, all strategies."""


@dataclass(frozen=True, slots=True)
class Unfilled:
    at: datetime
    strategy: str
    instrument_name: str
    reason: str


_OPTION = re.compile(r"\b(?:BTC|ETH)-\d{1,2}[A-Z]{3}\d{2}-\d+-[CP]\b")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?")
TALLY_REASONS = 12


def reason_kind(reason: str) -> str:
    """A reason with its instruments and numbers blanked, so that alike reasons count together."""
    return _NUMBER.sub("#", _OPTION.sub("<option>", reason))


@dataclass
class DecisionTally:
    """What the strategies proposed and the risk engine said over a run, counted (not kept whole).

    ``outcomes``: proposals by action and verdict (``open approved``, ``open rejected``, ``hold``…);
    ``reasons``: the most frequent reasons for holds, refusals and unfilled legs, alike reasons
    counted together (:func:`reason_kind`).
    """

    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    def add_round(self, round_: RoundResult) -> None:
        for proposal, verdict in round_.decisions():
            if proposal.action is Action.HOLD:
                key = "hold"
                self._reason(f"hold: {proposal.reason}")
            else:
                key = f"{proposal.action.value} {verdict.status.value}"
                for why in verdict.reasons:
                    self._reason(f"{proposal.action.value} refused: {why}")
            self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def add_unfilled(self, missed: list[Unfilled]) -> None:
        for u in missed:
            self._reason(f"not filled: {u.reason}")

    def _reason(self, text: str) -> None:
        kind = reason_kind(text)
        self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def as_json(self) -> dict[str, object]:
        top = sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:TALLY_REASONS]
        return {
            "outcomes": dict(sorted(self.outcomes.items())),
            "reasons": [{"reason": r, "count": n} for r, n in top],
        }


@dataclass(frozen=True)
class BacktestResult:
    equity: tuple[EquityPoint, ...]
    trades: tuple[Trade, ...]
    unfilled: tuple[Unfilled, ...]
    positions: tuple[OptionPosition, ...]
    """Open at the end."""
    rounds: tuple[RoundResult, ...]
    round_trips: tuple[RoundTrip, ...] = ()
    """Completed positions, in the order they ended."""
    cancelled: bool = False
    """Stopped early by ``on_step``; the result covers the steps run."""
    decisions: DecisionTally = field(default_factory=DecisionTally)


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
    round_: RoundResult,
    *,
    market: MarketSnapshot,
    book: Book,
    model: FillModel,
    now: datetime,
    provenance: Mapping[str, str],
) -> list[Unfilled]:
    missed: list[Unfilled] = []
    for proposal, verdict in round_.decisions():
        roll = proposal.action is Action.ROLL
        for leg in verdict.approved_legs:
            m = market.get(leg.currency)
            row = m.row(leg.instrument_name) if m is not None else None
            quote = m.quote(leg.instrument_name) if m is not None else None
            oi = float(m.arrays["open_interest"][row]) if m is not None and row is not None else 0.0
            decision = model.decide(leg, quote, open_interest=oi, step=amount_step(leg.currency))
            trade = None
            if decision.price_coin is not None and quote is not None and m is not None and row is not None:
                trade = book.fill(
                    strategy=proposal.strategy,
                    leg=leg,
                    price_coin=decision.price_coin,
                    size_contracts=decision.size_contracts,
                    at=now,
                    index_price_usd=quote.index_price_usd,
                    provenance=provenance.get(leg.currency, REAL_QUOTE),
                    proposal_id=proposal.proposal_id,
                    mark_coin=quote.mark_coin,
                    iv=float(m.arrays["mark_iv"][row]),
                    roll=roll and leg.intent is LegIntent.CLOSE,
                )
                if trade is not None and decision.reason:
                    missed.append(Unfilled(now, proposal.strategy, leg.instrument_name, decision.reason))
            if trade is None:
                why = decision.reason or "nothing to reduce"
                missed.append(Unfilled(now, proposal.strategy, leg.instrument_name, why))
            short_fill = trade is None or trade.size_contracts < leg.size_contracts - 1e-9
            if leg.intent is LegIntent.CLOSE and short_fill:
                break  # a roll opens only once its close filled in full
    return missed


OnStep = Callable[[int, datetime], bool]
"""Called after each step with the steps done and the step's time; return ``False`` to stop."""


def run_backtest(
    steps: Iterable[Step], config: BacktestConfig, *, on_step: OnStep | None = None
) -> BacktestResult:
    """Run ``config``'s strategies over ``steps`` (in time order); pure apart from CPU and ``on_step``."""
    book = Book(balances_coin=dict(sorted(config.initial_balance_coin.items())))
    history = MarketHistory()
    marks = _Marks()
    equity: list[EquityPoint] = []
    unfilled: list[Unfilled] = []
    rounds: list[RoundResult] = []
    last: datetime | None = None
    cancelled = False
    tally = DecisionTally()
    for done, (now, frames) in enumerate(steps, start=1):
        if now.tzinfo is None:
            raise ValueError(f"step time {now} must be aware UTC")
        if last is not None and now <= last:
            raise ValueError(f"steps must be in increasing time order: {now} after {last}")
        last = now
        market = market_build(now=now, frames=frames, history=history)
        provenance = {c: f.provenance if isinstance(f, StepChain) else REAL_QUOTE for c, f in frames.items()}
        index = {c: market.markets[c].index_price_usd for c in market}
        book.settle_expired(now=now, index_usd=index, delivery_usd=config.delivery_prices_usd)
        book.update_marks(market, now)
        inputs = RoundInputs(
            now=now,
            market=market,
            account=book.account(now),
            positions=book.position_tuple(),
            strategies=config.strategies,
            kill_switch=KillSwitchInput(marks=marks.update(now, book)),
        )
        round_ = decide_round(inputs, risk_config=config.risk_config, max_workers=1)
        if config.keep_rounds:
            rounds.append(round_)
        tally.add_round(round_)
        missed = _execute(
            round_, market=market, book=book, model=config.fill_model, now=now, provenance=provenance
        )
        tally.add_unfilled(missed)
        unfilled += missed
        book.update_marks(market, now)
        book.count_bars()
        for c in sorted(book.balances_coin):
            px = book.index_usd.get(c, math.nan)
            eq = book.equity_coin(c)
            im, _ = book.margin_coin(c)
            equity.append(EquityPoint(now, c, book.balances_coin[c], eq, px, eq * px, im, book.contracts(c)))
        if on_step is not None and not on_step(done, now):
            cancelled = True
            break
    return BacktestResult(
        equity=tuple(equity),
        trades=tuple(book.trades),
        unfilled=tuple(unfilled),
        positions=book.position_tuple(),
        rounds=tuple(rounds),
        round_trips=tuple(book.round_trips),
        cancelled=cancelled,
        decisions=tally,
    )


def steps_from_frames(frames: Iterable[pd.DataFrame]) -> list[Step]:
    """Group snapshot frames (one currency and time each) into steps, in time order."""
    by_time: dict[datetime, dict[str, pd.DataFrame]] = {}
    for frame in frames:
        ts = pd.Timestamp(frame["timestamp"].iloc[0]).to_pydatetime()
        by_time.setdefault(ts, {})[str(frame["currency"].iloc[0])] = frame
    return [(t, by_time[t]) for t in sorted(by_time)]
