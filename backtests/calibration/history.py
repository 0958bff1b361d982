"""What the model may know about the underlying at a snapshot: index closes and DVOL up to then.

An :class:`IndexHistory` holds observations (time, index price in USD) and, separately, DVOL
observations (time, vol points), each stamped when it became known. :func:`history_state` reads,
for any snapshot time, only observations at or before it: trailing realised vol, the slow
realised vol of the long end, the latest DVOL (if not older than :data:`DVOL_MAX_AGE`) and the
trailing log return that moves the skew, and the slow memory of DVOL and realised vol that
sets the long-run level when ``long_run_memory_days`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtests.calibration.params import CalibrationError
from trading.quant.synthetic import SyntheticChainConfig, trailing_realized_vol
from trading.quant.synthetic.surface import trailing_log_memory

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_NS_PER_DAY = 86_400 * 10**9
DVOL_MAX_AGE = pd.Timedelta(days=2)
"""A DVOL older than this at the snapshot is not used (the anchor falls back to realised vol)."""
PRICE_MAX_AGE = pd.Timedelta(days=3)
"""Realised vol and the trailing return need an index price at most this old at the snapshot."""


@dataclass(frozen=True)
class IndexHistory:
    """Index closes (USD) and DVOL (vol points) of one currency, each at the time it was known.

    ``times_ns`` and ``dvol_times_ns`` are increasing UTC nanoseconds; either series may be empty
    (a DVOL-only file, or snapshots without DVOL).
    """

    currency: str
    times_ns: IntArray
    index_usd: FloatArray
    dvol_times_ns: IntArray
    dvol: FloatArray
    label: str = ""

    def __post_init__(self) -> None:
        for name, t, v in (
            ("index", self.times_ns, self.index_usd),
            ("DVOL", self.dvol_times_ns, self.dvol),
        ):
            if t.shape != v.shape or t.ndim != 1:
                raise CalibrationError(f"{self.label or 'history'}: {name} times and values differ in length")
            if np.any(np.diff(t) <= 0):
                raise CalibrationError(f"{self.label or 'history'}: {name} times must increase")
            if np.any(~np.isfinite(v)) or np.any(v <= 0):
                raise CalibrationError(f"{self.label or 'history'}: {name} values must be positive numbers")

    @property
    def has_dvol(self) -> bool:
        return self.dvol.size > 0

    def combined(self, other: IndexHistory) -> IndexHistory:
        """Both histories' observations; where both have one at the same time, this one's wins.

        Typical use: index closes from snapshots, DVOL from a file. Mixing two price sources
        (index and perpetual) adds their basis to the returns, so prefer one for prices.
        """
        if other.currency != self.currency:
            raise CalibrationError(f"cannot combine a {self.currency} history with a {other.currency} one")

        def union(t1: IntArray, v1: FloatArray, t2: IntArray, v2: FloatArray) -> tuple[IntArray, FloatArray]:
            t = np.concatenate([t1, t2])
            v = np.concatenate([v1, v2])
            _, first = np.unique(t, return_index=True)  # unique keeps the first: this history's
            return t[first], v[first]

        t, v = union(self.times_ns, self.index_usd, other.times_ns, other.index_usd)
        dt, dv = union(self.dvol_times_ns, self.dvol, other.dvol_times_ns, other.dvol)
        label = " + ".join(x for x in (self.label, other.label) if x)
        return IndexHistory(self.currency, t, v, dt, dv, label)


def _sorted_unique(times: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    ok = np.isfinite(values) & (values > 0)
    times, values = times[ok], values[ok]
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    keep = np.concatenate([[True], np.diff(times) > 0]) if times.size else np.zeros(0, dtype=bool)
    return times[keep].astype(np.int64), values[keep].astype(np.float64)


def index_history_from_snapshots(
    frames: Iterable[pd.DataFrame], *, currency: str | None = None
) -> IndexHistory:
    """The index (median ``index_price`` of each snapshot) and DVOL (its ``dvol`` column, when
    given) at each snapshot's time. ``currency`` keeps that currency's snapshots; without it the
    snapshots must all be of one currency."""
    times: list[int] = []
    index: list[float] = []
    dvol: list[float] = []
    seen: set[str] = set()
    for frame in frames:
        if len(frame) == 0:
            continue
        cur = str(frame["currency"].iloc[0])
        if currency is not None and cur != currency:
            continue
        seen.add(cur)
        times.append(int(pd.Timestamp(frame["timestamp"].iloc[0]).value))
        px = frame["index_price"].to_numpy(dtype=np.float64)
        index.append(float(np.nanmedian(px)) if np.isfinite(px).any() else np.nan)
        dv = frame["dvol"].to_numpy(dtype=np.float64) if "dvol" in frame.columns else np.array([np.nan])
        dvol.append(float(np.nanmedian(dv)) if np.isfinite(dv).any() else np.nan)
    if len(seen) > 1:
        raise CalibrationError(
            f"the snapshots hold {' and '.join(sorted(seen))}: build one history per currency "
            "(pass currency=...)"
        )
    if not seen:
        raise CalibrationError(
            f"no {currency + ' ' if currency else ''}snapshots to build an index history from"
        )
    t = np.asarray(times, dtype=np.int64)
    ti, vi = _sorted_unique(t, np.asarray(index))
    td, vd = _sorted_unique(t, np.asarray(dvol))
    return IndexHistory(seen.pop(), ti, vi, td, vd, "snapshots")


_DVOL_ONLY = ("dvol_close", "dvol")


def _dvol_only_file(path: Path, currency: str) -> IndexHistory | None:
    """A CSV with a time column and a DVOL column but no price: ``dvol_close`` is a candle close
    stamped at the candle's open (known one candle later); ``dvol`` counts at its row's time."""
    from backtests.sources.history import PRICE_COLUMNS, TIME_COLUMNS

    if not path.name.endswith((".csv", ".csv.gz")):
        return None
    try:
        head = pd.read_csv(path, nrows=0)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path.name}: cannot read it as a CSV file ({exc})") from None
    norm = {str(c).strip().lower().replace(" ", "_"): str(c) for c in head.columns}
    if any(p in norm for p in PRICE_COLUMNS):
        return None
    time_col = next((norm[c] for c in TIME_COLUMNS if c in norm), None)
    dvol_key = next((c for c in _DVOL_ONLY if c in norm), None)
    if time_col is None or dvol_key is None:
        return None
    table = pd.read_csv(path)
    stamps = pd.to_datetime(table[time_col], utc=True, errors="coerce", format="mixed")
    values = pd.to_numeric(table[norm[dvol_key]], errors="coerce").to_numpy(dtype=np.float64)
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0]) + 2
        raise CalibrationError(f"{path.name}, line {row}, column {time_col!r}: not a time")
    t = np.asarray(pd.DatetimeIndex(stamps).as_unit("ns").asi8, dtype=np.int64)
    if dvol_key == "dvol_close" and t.size > 1:
        t = t + int(np.median(np.diff(np.sort(t))))  # a close is known when its candle ends
    td, vd = _sorted_unique(t, values)
    if td.size == 0:
        raise CalibrationError(f"{path.name}: no DVOL values")
    empty_t = np.zeros(0, dtype=np.int64)
    return IndexHistory(currency, empty_t, np.zeros(0), td, vd, path.name)


def index_history_from_file(path: Path | str, currency: str) -> IndexHistory:
    """A history file: a ``fetch_history`` file (perpetual candles, DVOL when present), any CSV
    with a time and a price column (and optionally ``dvol``/``dvol_close``), or a DVOL-only CSV
    (a time column and ``dvol_close`` or ``dvol``). Candle closes count when the candle ends."""
    from backtests.sources.base import SourceError
    from backtests.sources.history import csv_history, deribit_history

    p = Path(path)
    if not p.is_file():
        raise CalibrationError(f"no such history file: {p}")
    dvol_only = _dvol_only_file(p, currency)
    if dvol_only is not None:
        return dvol_only
    try:
        if p.suffix == ".parquet":
            h = deribit_history(p, currency)
        else:
            head = {str(c).strip().lower() for c in pd.read_csv(p, nrows=0).columns}
            h = deribit_history(p, currency) if {"timestamp", "close"} <= head else csv_history(p, currency)
    except SourceError as exc:
        raise CalibrationError(exc.message) from None
    except (OSError, ValueError, EOFError) as exc:
        raise CalibrationError(f"{p.name}: cannot read it as a history ({exc})") from None
    ti, vi = _sorted_unique(h.times_ns, h.price_usd)
    if h.dvol_times_ns is not None and h.dvol is not None:
        td, vd = _sorted_unique(h.dvol_times_ns, h.dvol)
    else:
        td, vd = np.zeros(0, dtype=np.int64), np.zeros(0)
    return IndexHistory(currency, ti, vi, td, vd, p.name)


@dataclass(frozen=True)
class HistoryState:
    """Per query time: what the model knows then (NaN where it knows nothing)."""

    rv: FloatArray
    """trailing realised vol over ``rv_window_days``, decimal"""
    slow_rv: FloatArray
    """trailing realised vol over ``long_run_rv_days``, decimal"""
    dvol: FloatArray
    """latest DVOL, vol points"""
    trailing_return: FloatArray
    """ln(index now / index ``skew_momentum_days`` ago), 0 without history"""
    dvol_memory: FloatArray
    """geometric time-EWMA of DVOL/100 (half-life ``long_run_memory_days``), decimal"""
    rv_memory: FloatArray
    """the same of realised vol, decimal"""


def _min_returns(times_ns: IntArray, window_days: float, wanted: int) -> int:
    """Returns needed for realised vol: the config's count, fewer when the window holds few
    observations (a daily history has 30 in 30 days)."""
    if times_ns.size < 2:
        return wanted
    step = float(np.median(np.diff(times_ns)))
    return max(2, min(wanted, int(0.8 * window_days * _NS_PER_DAY / step)))


def history_state(history: IndexHistory, query_ns: IntArray, cfg: SyntheticChainConfig) -> HistoryState:
    """What the model may know at each query time, from observations at or before it only."""
    q = np.asarray(query_ns, dtype=np.int64)
    n = q.size
    rv = np.full(n, np.nan)
    slow = np.full(n, np.nan)
    ret = np.zeros(n)
    rv_memory = np.full(n, np.nan)
    dvol_memory = np.full(n, np.nan)
    halflife = cfg.long_run_memory_days
    t, px = history.times_ns, history.index_usd
    if t.size >= 2:
        pos = np.searchsorted(t, q, side="right") - 1
        fresh = (pos >= 0) & (q - t[np.maximum(pos, 0)] <= PRICE_MAX_AGE.value)
        p = np.maximum(pos, 0)
        for out, days in ((rv, cfg.rv_window_days), (slow, cfg.long_run_rv_days)):
            series = trailing_realized_vol(
                t, px, window_days=days, min_returns=_min_returns(t, days, cfg.rv_min_returns)
            )
            out[:] = np.where(fresh, series[p], np.nan)
            if halflife is not None and out is rv:
                rv_memory = trailing_log_memory(t, series, q, halflife_days=halflife)
        back = np.searchsorted(t, t[p] - int(cfg.skew_momentum_days * _NS_PER_DAY), side="left")
        ret = np.where(fresh, np.log(px[p] / px[back]), 0.0)
    dvol = np.full(n, np.nan)
    if history.dvol.size:
        dpos = np.searchsorted(history.dvol_times_ns, q, side="right") - 1
        ok = (dpos >= 0) & (q - history.dvol_times_ns[np.maximum(dpos, 0)] <= DVOL_MAX_AGE.value)
        dvol = np.where(ok, history.dvol[np.maximum(dpos, 0)], np.nan)
        if halflife is not None:
            dvol_memory = trailing_log_memory(
                history.dvol_times_ns, history.dvol / 100.0, q, halflife_days=halflife
            )
    return HistoryState(
        rv=rv, slow_rv=slow, dvol=dvol, trailing_return=ret, dvol_memory=dvol_memory, rv_memory=rv_memory
    )
