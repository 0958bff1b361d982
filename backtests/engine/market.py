"""The strategies' market at one backtest step, built like the live agent's (``trading.agent.market``).

Per currency: ``chain_from_snapshot`` then ``CurrencyMarket.from_chain`` at the snapshot's time and
index. The regime comes from the frame's DVOL when it has one, else from :func:`dvol_proxy` of the
chain. The history the live agent fetches is taken from the steps already seen: DVOL one day ago is
the DVOL of the latest step at least 24 h earlier, the index high is the highest index over the last
30 days (only once an earlier step exists; without history the regime fails to *elevated*, as live).
Realised vol: a :class:`StepChain` brings its own; for snapshot frames it is the close-to-close
vol of the index over the steps of the last 30 days (at least 5 returns, else unknown: NaN IV/RV).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from backtests.engine.fills import REAL_QUOTE
from trading.quant.black76 import SECONDS_PER_YEAR
from trading.quant.candidates import ChainArrays, chain_from_snapshot
from trading.strategies.market import CurrencyMarket, MarketSnapshot
from trading.strategies.regime import RegimeAssessment, RegimeInputs, assess_regime, dvol_proxy

DVOL_LOOKBACK = timedelta(hours=24)
HIGH_WINDOW = timedelta(days=30)
RV_WINDOW = timedelta(days=30)
RV_MIN_RETURNS = 5


def _median(frame: pd.DataFrame, column: str) -> float | None:
    if column not in frame.columns:
        return None
    values = frame[column].to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else None


@dataclass(frozen=True, slots=True)
class StepChain:
    """One currency's market at a step, prepared by a source (the fast form of a snapshot frame)."""

    chain: ChainArrays
    rv: float | None = None
    """Trailing realised vol of the index known at the step, decimal."""
    dvol: float | None = None
    """DVOL at the step (vol points), when known."""
    provenance: str = REAL_QUOTE
    """Where the prices come from (see ``backtests.engine.fills``)."""
    dvol_before: float | None = None
    """DVOL a day earlier, when the source knows history from before the first step."""
    index_high_usd: float | None = None
    """Highest index over the last 30 days, likewise (else both come from the steps seen)."""

    @property
    def index_price_usd(self) -> float:
        prices = self.chain.index_price
        if not len(prices):
            return math.nan
        if prices.strides[0] == 0:  # one index for the whole chain
            return float(prices[0])
        return float(np.nanmedian(prices))


@dataclass(frozen=True, slots=True)
class RecordedSnapshot:
    """A snapshot the live agent stored, with the daily history its tick used.

    Built into the market exactly as the live tick built it (``trading.agent.market``): DVOL and
    index from the snapshot (no DVOL: the regime fails closed, as live), realised vol, DVOL a day
    earlier and the 30-day high as recorded. ``history_known=False`` (older rows) falls back to the
    history of the steps seen. ``observed_at`` is the exchange's time of the data.
    """

    frame: pd.DataFrame
    observed_at: datetime
    rv: float | None = None
    dvol_before: float | None = None
    index_high_usd: float | None = None
    history_known: bool = True


@dataclass
class _Series:
    """One currency's steps: times (epoch seconds), DVOL, index, and running sums for windows."""

    t: list[float] = field(default_factory=list)
    dvol: list[float | None] = field(default_factory=list)
    highs: deque[tuple[float, float]] = field(default_factory=deque)
    """(time, index) with decreasing index: the front is the highest in the window."""
    r2_cum: list[float] = field(default_factory=lambda: [0.0])
    """Running sums over the returns between consecutive steps with an index (r2, years, count)."""
    dt_cum: list[float] = field(default_factory=lambda: [0.0])
    ret_t: list[float] = field(default_factory=list)
    """Time of each return's end."""
    last_index: tuple[float, float] | None = None


@dataclass
class MarketHistory:
    """DVOL and index of the steps seen so far, per currency (O(log n) per look-up)."""

    seen: dict[str, _Series] = field(default_factory=dict)

    def dvol_before(self, currency: str, now: datetime) -> float | None:
        s = self.seen.get(currency)
        if s is None:
            return None
        k = bisect_right(s.t, (now - DVOL_LOOKBACK).timestamp())
        return s.dvol[k - 1] if k else None

    def index_high(self, currency: str, now: datetime, index_now: float | None) -> float | None:
        s = self.seen.get(currency)
        if s is None:
            return None
        cutoff = (now - HIGH_WINDOW).timestamp()
        while s.highs and s.highs[0][0] < cutoff:
            s.highs.popleft()
        if not s.highs:
            return None
        return max(s.highs[0][1], index_now) if index_now is not None else s.highs[0][1]

    def realized_vol(self, currency: str, now: datetime) -> float | None:
        """Close-to-close realised vol of the index over the last :data:`RV_WINDOW`, annualised.

        Log returns between consecutive steps are scaled by their own time gaps, so irregular
        snapshots (a missed day) are handled; ``None`` with fewer than :data:`RV_MIN_RETURNS`.
        """
        s = self.seen.get(currency)
        if s is None:
            return None
        first_point = (now - RV_WINDOW).timestamp()
        # returns whose start lies in the window: their end time minus their own gap is >= cutoff
        k = bisect_left(s.ret_t, first_point)
        n = len(s.ret_t)
        if n - k < RV_MIN_RETURNS:
            return None
        years = s.dt_cum[n] - s.dt_cum[k]
        return math.sqrt((s.r2_cum[n] - s.r2_cum[k]) / years) if years > 0 else None

    def add(self, currency: str, now: datetime, dvol: float | None, index: float | None) -> None:
        s = self.seen.setdefault(currency, _Series())
        t = now.timestamp()
        s.t.append(t)
        s.dvol.append(dvol)
        if index is None or not math.isfinite(index) or index <= 0.0:
            return
        while s.highs and s.highs[-1][1] <= index:
            s.highs.pop()
        s.highs.append((t, index))
        if s.last_index is not None:
            t0, i0 = s.last_index
            r = math.log(index / i0)
            s.ret_t.append(t0)
            s.r2_cum.append(s.r2_cum[-1] + r * r)
            s.dt_cum.append(s.dt_cum[-1] + (t - t0) / SECONDS_PER_YEAR)
        s.last_index = (t, index)


def _regime(
    currency: str,
    now: datetime,
    dvol: float | None,
    index: float | None,
    history: MarketHistory,
    *,
    before: float | None = None,
    high: float | None = None,
) -> RegimeAssessment:
    """The regime from this step's DVOL and index; the day-earlier DVOL and the 30-day high come
    from the source when it knows them, else from the steps seen."""
    return assess_regime(
        RegimeInputs(
            currency=currency,
            dvol=dvol,
            dvol_before=before if before is not None else history.dvol_before(currency, now),
            index_price_usd=index,
            index_high_usd=high if high is not None else history.index_high(currency, now, index),
        )
    )


def _recorded_market(
    currency: str, now: datetime, item: RecordedSnapshot, history: MarketHistory
) -> CurrencyMarket:
    dvol = _median(item.frame, "dvol")
    index = _median(item.frame, "index_price")
    if item.history_known:
        rv, before, high = item.rv, item.dvol_before, item.index_high_usd
    else:
        rv = history.realized_vol(currency, now)
        before, high = history.dvol_before(currency, now), history.index_high(currency, now, index)
    regime = assess_regime(
        RegimeInputs(
            currency=currency, dvol=dvol, dvol_before=before, index_price_usd=index, index_high_usd=high
        )
    )
    history.add(currency, now, dvol, index)
    return CurrencyMarket.from_chain(
        chain_from_snapshot(item.frame),
        currency=currency,
        observed_at=item.observed_at,
        regime=regime,
        rv=rv,
        index_price_usd=index if index is not None else math.nan,
    )


StepItem = pd.DataFrame | StepChain | RecordedSnapshot
"""What a step holds per currency: a snapshot frame, a prepared chain or a recorded live snapshot."""


def market_build(*, now: datetime, frames: Mapping[str, StepItem], history: MarketHistory) -> MarketSnapshot:
    """The :class:`MarketSnapshot` of one step; records the step in ``history``.

    A :class:`StepChain` brings its own realised vol; for a snapshot frame it is the trailing
    realised vol of the index over the steps seen (:meth:`MarketHistory.realized_vol`).
    """
    markets: dict[str, CurrencyMarket] = {}
    for currency in sorted(frames):
        item = frames[currency]
        if isinstance(item, RecordedSnapshot):
            markets[currency] = _recorded_market(currency, now, item, history)
            continue
        if isinstance(item, StepChain):
            index = item.index_price_usd if len(item.chain) else None
            dvol = item.dvol
            if dvol is None and len(item.chain):
                dvol = dvol_proxy(item.chain.to_chain())
            regime = _regime(
                currency, now, dvol, index, history, before=item.dvol_before, high=item.index_high_usd
            )
            history.add(currency, now, dvol, index)
            markets[currency] = CurrencyMarket.from_arrays(
                item.chain,
                observed_at=now,
                regime=regime,
                rv=item.rv,
                index_price_usd=index if index is not None else math.nan,
            )
            continue
        chain = chain_from_snapshot(item)
        dvol = _median(item, "dvol")
        if dvol is None:
            dvol = dvol_proxy(chain)
        index = _median(item, "index_price")
        regime = _regime(currency, now, dvol, index, history)
        history.add(currency, now, dvol, index)
        markets[currency] = CurrencyMarket.from_chain(
            chain,
            currency=currency,
            observed_at=now,
            regime=regime,
            rv=history.realized_vol(currency, now),
            index_price_usd=index if index is not None else math.nan,
        )
    return MarketSnapshot(markets)
