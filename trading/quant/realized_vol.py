"""Realised volatility, IV/RV and IV rank/percentile for a 24/7 market.

All estimators return annualised volatility as a decimal (0.55 = 55 %) over a rolling window of
``window`` bars; the value at bar ``t`` uses bars ``t - window + 1 .. t`` and is NaN until a full,
NaN-free window is available. Crypto trades around the clock, so a year is 365 days of bars
(365 daily bars, 8760 hourly bars), not 252 trading days.

Inputs are pandas Series (or anything ``pd.Series`` accepts); the output keeps the input index.
Prices must be positive; NaN marks a missing bar.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
SeriesLike = pd.Series | FloatArray | list[float]

SECONDS_PER_YEAR: float = 365.0 * 86400.0
"""A 365-day year of continuous trading, in seconds."""

_LN2 = float(np.log(2.0))

Estimator = Literal["close_to_close", "parkinson", "garman_klass", "rogers_satchell", "yang_zhang"]


def periods_per_year(bar: timedelta | pd.Timedelta | str) -> float:
    """Number of bars of length ``bar`` in a 365-day year (1 day -> 365, 1 hour -> 8760)."""
    seconds = pd.Timedelta(bar).total_seconds()
    if not seconds > 0:
        raise ValueError(f"bar length must be positive, got {bar!r}")
    return SECONDS_PER_YEAR / seconds


def infer_periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year from the median spacing of a datetime index."""
    if len(index) < 2:
        raise ValueError("need at least two timestamps to infer the bar length")
    diffs = np.diff(index.asi8)
    unit_seconds = pd.Timedelta(1, unit=index.unit).total_seconds()
    return periods_per_year(pd.Timedelta(seconds=float(np.median(diffs)) * unit_seconds))


def _series(x: SeriesLike, name: str) -> pd.Series:
    s = x.astype(np.float64) if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=np.float64))
    if bool((s <= 0).any()):
        raise ValueError(f"{name} prices must be positive (NaN marks a missing bar)")
    return s


def _log(s: pd.Series) -> pd.Series:
    return pd.Series(np.log(s.to_numpy(dtype=np.float64)), index=s.index)


def _check_window(window: int, minimum: int) -> None:
    if window < minimum:
        raise ValueError(f"window must be >= {minimum} bars, got {window}")


def _annualise(var_per_bar: pd.Series, ppy: float) -> pd.Series:
    # Tiny negative values can come from rounding in the range-based formulas.
    return np.sqrt(var_per_bar.clip(lower=0.0) * ppy)


def close_to_close(
    close: SeriesLike, *, window: int, periods_per_year: float, demean: bool = True
) -> pd.Series:
    """Close-to-close volatility of log returns (annualised decimal).

    ``window`` counts returns, so it needs ``window + 1`` closes. With ``demean`` the sample
    variance (ddof=1) is used; without, the mean return is taken as zero (mean of r², ddof=0),
    which is the usual choice for short windows.
    """
    _check_window(window, 2 if demean else 1)
    c = _series(close, "close")
    r = _log(c).diff()
    var = r.rolling(window, min_periods=window).var(ddof=1) if demean else (r * r).rolling(window).mean()
    return _annualise(var, periods_per_year)


def parkinson(high: SeriesLike, low: SeriesLike, *, window: int, periods_per_year: float) -> pd.Series:
    """Parkinson (1980) high-low range volatility (annualised decimal)."""
    _check_window(window, 1)
    hl = _log(_series(high, "high") / _series(low, "low"))
    var = (hl * hl).rolling(window).mean() / (4.0 * _LN2)
    return _annualise(var, periods_per_year)


def garman_klass(
    open_: SeriesLike,
    high: SeriesLike,
    low: SeriesLike,
    close: SeriesLike,
    *,
    window: int,
    periods_per_year: float,
) -> pd.Series:
    """Garman-Klass (1980) OHLC volatility (annualised decimal); assumes no gap between bars."""
    _check_window(window, 1)
    o, c = _series(open_, "open"), _series(close, "close")
    hl = _log(_series(high, "high") / _series(low, "low"))
    co = _log(c / o)
    var = (0.5 * hl * hl - (2.0 * _LN2 - 1.0) * co * co).rolling(window).mean()
    return _annualise(var, periods_per_year)


def _rogers_satchell_var(o: pd.Series, h: pd.Series, lo: pd.Series, c: pd.Series) -> pd.Series:
    return _log(h / c) * _log(h / o) + _log(lo / c) * _log(lo / o)


def rogers_satchell(
    open_: SeriesLike,
    high: SeriesLike,
    low: SeriesLike,
    close: SeriesLike,
    *,
    window: int,
    periods_per_year: float,
) -> pd.Series:
    """Rogers-Satchell (1991) drift-independent OHLC volatility (annualised decimal)."""
    _check_window(window, 1)
    o, h, lo, c = (
        _series(x, n) for x, n in ((open_, "open"), (high, "high"), (low, "low"), (close, "close"))
    )
    var = _rogers_satchell_var(o, h, lo, c).rolling(window).mean()
    return _annualise(var, periods_per_year)


def yang_zhang(
    open_: SeriesLike,
    high: SeriesLike,
    low: SeriesLike,
    close: SeriesLike,
    *,
    window: int,
    periods_per_year: float,
) -> pd.Series:
    """Yang-Zhang (2000) volatility (annualised decimal).

    sigma² = sigma²_open-gap + k·sigma²_open-to-close + (1-k)·sigma²_RS with k = 0.34 / (1.34 + (n+1)/(n-1)).
    The gap term uses ln(O_t / C_{t-1}), so the first bar has no value; on a 24/7 venue where each
    bar opens at the previous close the gap term is ~0 and the estimator stays unbiased.
    """
    _check_window(window, 2)
    o, h, lo, c = (
        _series(x, n) for x, n in ((open_, "open"), (high, "high"), (low, "low"), (close, "close"))
    )
    gap = _log(o / c.shift(1))
    oc = _log(c / o)
    n = float(window)
    k = 0.34 / (1.34 + (n + 1.0) / (n - 1.0))
    var_gap = gap.rolling(window).var(ddof=1)
    var_oc = oc.rolling(window).var(ddof=1)
    var_rs = _rogers_satchell_var(o, h, lo, c).rolling(window).mean()
    return _annualise(var_gap + k * var_oc + (1.0 - k) * var_rs, periods_per_year)


def realized_vol(
    ohlc: pd.DataFrame,
    *,
    window: int,
    estimator: Estimator = "yang_zhang",
    periods_per_year: float | None = None,
) -> pd.Series:
    """Rolling realised volatility of an OHLC frame (columns open/high/low/close), annualised decimal.

    ``periods_per_year`` defaults to the value inferred from a DatetimeIndex.
    """
    if periods_per_year is None:
        if not isinstance(ohlc.index, pd.DatetimeIndex):
            raise ValueError("periods_per_year is required when the index is not a DatetimeIndex")
        periods_per_year = infer_periods_per_year(ohlc.index)
    ppy = periods_per_year
    if estimator == "close_to_close":
        return close_to_close(ohlc["close"], window=window, periods_per_year=ppy)
    if estimator == "parkinson":
        return parkinson(ohlc["high"], ohlc["low"], window=window, periods_per_year=ppy)
    cols = (ohlc["open"], ohlc["high"], ohlc["low"], ohlc["close"])
    if estimator == "garman_klass":
        return garman_klass(*cols, window=window, periods_per_year=ppy)
    if estimator == "rogers_satchell":
        return rogers_satchell(*cols, window=window, periods_per_year=ppy)
    if estimator == "yang_zhang":
        return yang_zhang(*cols, window=window, periods_per_year=ppy)
    raise ValueError(f"unknown estimator {estimator!r}")


def iv_rv_ratio(iv: SeriesLike | float, rv: SeriesLike | float) -> FloatArray | float:
    """IV/RV ratio ("IVRV"), both as decimals; NaN where RV is not positive or either is missing."""
    iv_a = np.asarray(iv, dtype=np.float64)
    rv_a = np.asarray(rv, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(rv_a > 0.0, iv_a / np.where(rv_a > 0.0, rv_a, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def _windows(x: FloatArray, lookback: int) -> FloatArray:
    padded = np.concatenate([np.full(lookback - 1, np.nan), x])
    return np.lib.stride_tricks.sliding_window_view(padded, lookback)


def iv_rank(iv: SeriesLike, *, lookback: int, min_periods: int | None = None) -> pd.Series:
    """IV rank in percent (0-100): (IV - min) / (max - min) over the last ``lookback`` observations.

    The window includes the current observation. NaN where fewer than ``min_periods`` (default:
    ``lookback``) valid observations are available, where the current IV is missing, or where the
    window has no range (max == min).
    """
    s = iv if isinstance(iv, pd.Series) else pd.Series(np.asarray(iv, dtype=np.float64))
    mp = lookback if min_periods is None else min_periods
    roll = s.astype(np.float64).rolling(lookback, min_periods=mp)
    lo, hi = roll.min(), roll.max()
    rng = hi - lo
    rank = 100.0 * (s - lo) / rng.where(rng > 0.0)
    return rank.where(s.notna())


def iv_percentile(iv: SeriesLike, *, lookback: int, min_periods: int | None = None) -> pd.Series:
    """IV percentile in percent (0-100): share of the previous ``lookback - 1`` observations below
    the current IV.

    Uses the window ending at the current observation, excluding it from the comparison set.
    NaN where fewer than ``min_periods`` (default: ``lookback``) valid observations are in the
    window (current included) or the current IV is missing.
    """
    if lookback < 2:
        raise ValueError("lookback must be >= 2")
    s = iv if isinstance(iv, pd.Series) else pd.Series(np.asarray(iv, dtype=np.float64))
    x: FloatArray = np.asarray(s.to_numpy(dtype=np.float64), dtype=np.float64)
    mp = lookback if min_periods is None else min_periods
    win = _windows(x, lookback)
    prev = win[:, :-1]
    cur = x[:, None]
    valid_prev = np.isfinite(prev)
    n_prev = valid_prev.sum(axis=1)
    below = ((prev < cur) & valid_prev).sum(axis=1)
    enough = (n_prev + np.isfinite(x)) >= mp
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(enough & np.isfinite(x) & (n_prev > 0), 100.0 * below / n_prev, np.nan)
    return pd.Series(pct, index=s.index)
