"""Equity series of a backtest on step closes, and the statistics taken from them.

Used by :mod:`backtests.metrics` (which documents the definitions); pure numpy, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from backtests.engine.loop import BacktestResult, EquityPoint

Floats = npt.NDArray[np.float64]
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Curve:
    """Equity on step closes, led by the initial capital at the first step's time."""

    times: tuple[datetime, ...]
    values: Floats


@dataclass(frozen=True)
class Account:
    currency: str
    points: tuple[EquityPoint, ...]
    initial_coin: float
    index_usd: Floats
    """Per point, gaps filled."""
    coin: Curve
    usd: Curve


@dataclass(frozen=True)
class Episode:
    start: int
    """Last point at the peak (the low, for a run-up)."""
    extreme: int
    end: int
    """First point back at the peak, or the last point."""
    depth: float
    depth_pct: float
    days: float


def filled(index: Sequence[float]) -> Floats:
    """Index prices with unknown ones replaced by the last known (the first known before it)."""
    a = np.array(index, dtype=np.float64)
    a[~(np.isfinite(a) & (a > 0))] = np.nan
    known = np.flatnonzero(np.isfinite(a))
    if known.size == 0:
        return a
    a[: known[0]] = a[known[0]]
    last = np.maximum.accumulate(np.where(np.isfinite(a), np.arange(a.size), 0))
    return a[last]


def accounts_from(result: BacktestResult, initial_balance_coin: Mapping[str, float] | None) -> list[Account]:
    by_currency: dict[str, list[EquityPoint]] = {}
    for p in result.equity:
        by_currency.setdefault(p.currency, []).append(p)
    out = []
    for c in sorted(by_currency):
        pts = tuple(sorted(by_currency[c], key=lambda p: p.at))
        if initial_balance_coin is not None and c in initial_balance_coin:
            initial = float(initial_balance_coin[c])
        else:
            initial = pts[-1].balance_coin - math.fsum(t.cash_coin for t in result.trades if t.currency == c)
        index = filled([p.index_price_usd for p in pts])
        usd = [
            p.equity_usd if math.isfinite(p.equity_usd) else p.equity_coin * i
            for p, i in zip(pts, index, strict=True)
        ]
        times = (pts[0].at, *(p.at for p in pts))
        coin_curve = Curve(times, np.array([initial, *(p.equity_coin for p in pts)], dtype=np.float64))
        usd_curve = Curve(times, np.array([initial * index[0], *usd], dtype=np.float64))
        out.append(Account(c, pts, initial, index, coin_curve, usd_curve))
    return out


def total(accounts: Sequence[Account], times: Sequence[datetime]) -> tuple[Curve, Floats]:
    """The run's USD equity over all step times, and its buy & hold value there.

    Each account counts at its latest point at or before the time, and at its initial capital
    before its first point.
    """
    stamps = np.array([t.timestamp() for t in times])
    equity = np.zeros(len(times))
    hold = np.zeros(len(times))
    for a in accounts:
        pos = np.searchsorted([p.at.timestamp() for p in a.points], stamps, side="right") - 1
        before, at = pos < 0, np.maximum(pos, 0)
        equity += np.where(before, a.usd.values[0], a.usd.values[1:][at])
        hold += np.where(before, a.usd.values[0], (a.initial_coin * a.index_usd)[at])
    initial = sum(float(a.usd.values[0]) for a in accounts)
    return Curve((times[0], *times), np.concatenate(([initial], equity))), hold


def episodes(curve: Curve, *, runup: bool = False) -> list[Episode]:
    """Drawdown episodes of ``curve`` (run-up episodes with ``runup``), in time order."""
    v = -curve.values if runup else curve.values
    peak = np.maximum.accumulate(v)
    gap = peak - v
    under = gap > 1e-12 * np.maximum(np.abs(peak), 1.0)
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    out = []
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        start = int(s) - 1  # the first point is never under its own peak
        extreme = int(s + np.argmax(gap[s:e]))
        end = int(e) if e < v.size else v.size - 1
        depth = float(gap[extreme])
        ref = float(curve.values[start])
        days = (curve.times[end] - curve.times[start]).total_seconds() / 86400.0
        out.append(Episode(start, extreme, end, depth, depth / ref * 100.0 if ref > 0 else math.nan, days))
    return out


def monthly_returns(curve: Curve) -> Floats:
    """Returns of calendar month-end (UTC) equity, the first from the initial capital."""
    last_in_month: dict[tuple[int, int], float] = {}
    for t, v in zip(curve.times[1:], curve.values[1:], strict=True):
        u = t.astimezone(UTC)
        last_in_month[(u.year, u.month)] = float(v)
    first, last = curve.times[0].astimezone(UTC), curve.times[-1].astimezone(UTC)
    marks = [float(curve.values[0])]
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        marks.append(last_in_month.get((y, m), marks[-1]))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    a = np.array(marks)
    with np.errstate(all="ignore"):
        return np.where(a[:-1] > 0, a[1:] / a[:-1] - 1.0, np.nan)


def sharpe_sortino(returns: Floats, risk_free_rate: float) -> tuple[float | None, float | None]:
    """Annualised Sharpe and Sortino ratios of monthly ``returns``; ``None`` where undefined."""
    if returns.size < 2 or not np.all(np.isfinite(returns)):
        return None, None
    excess = returns - ((1.0 + risk_free_rate) ** (1.0 / 12.0) - 1.0)
    with np.errstate(all="ignore"):
        mean = float(excess.mean())
        sd = float(excess.std(ddof=1))
        down = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    sharpe = mean / sd * math.sqrt(12.0) if 1e-12 < sd < math.inf else None
    sortino = mean / down * math.sqrt(12.0) if 1e-12 < down < math.inf else None
    return sharpe, sortino


def cagr_pct(initial: float, final: float, years: float) -> float | None:
    if not (years > 0 and initial > 0 and final >= 0 and math.isfinite(final)):
        return None
    if final == 0:
        return -100.0
    try:
        return (math.exp(math.log(final / initial) / years) - 1.0) * 100.0
    except OverflowError:
        return None


def span_years(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / (DAYS_PER_YEAR * 86400.0)


def step_times(result: BacktestResult) -> list[datetime]:
    return sorted({p.at for p in result.equity})


def drawdown_pct(curve: Curve) -> Floats:
    """Per step (the initial point dropped): % below the running peak."""
    peak = np.maximum.accumulate(curve.values)
    with np.errstate(all="ignore"):
        return np.where(peak > 0, (peak - curve.values) / peak * 100.0, np.nan)[1:]
