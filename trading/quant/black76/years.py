"""Time to expiry in Deribit's 365-day years."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading.quant.black76._common import DAYS_PER_YEAR, SECONDS_PER_YEAR, FloatArray

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ns(value: object) -> int | npt.NDArray[np.int64]:
    """Nanoseconds since the epoch; aware datetimes only, numpy datetime64 taken as UTC."""
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is None:
            raise ValueError(f"naive timestamp {value!r}: pass an aware (UTC) time")
        return int(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) time")
        delta = value - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, np.ndarray) and value.dtype.kind == "M":
        return value.astype("datetime64[ns]").view(np.int64)
    if isinstance(value, pd.Series | pd.DatetimeIndex):
        idx = pd.DatetimeIndex(value)
        if idx.tz is None:
            raise ValueError("naive datetimes: pass aware (UTC) times")
        return np.asarray(idx.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
    if isinstance(value, list | tuple | np.ndarray):
        items = list(np.asarray(value, dtype=object).ravel())
        if any(isinstance(v, datetime) and v.tzinfo is None for v in items):
            raise ValueError("naive datetimes: pass aware (UTC) times")
        out = np.asarray([_epoch_ns(v) for v in items], dtype=np.int64)
        return out.reshape(np.shape(value))
    raise TypeError(f"cannot read a time from {type(value).__name__}")


def year_fraction(expiry: object, now: object) -> float | FloatArray:
    """Time to expiry in years of 365 days: ``(expiry - now) / 365 days``.

    ``expiry`` and ``now`` may be aware datetimes or pandas Timestamps, numpy datetime64 values or
    arrays (taken as UTC), aware pandas Series/DatetimeIndex, or lists of aware datetimes; they
    broadcast. Naive datetimes raise ``ValueError``. The result is signed (negative once
    expired); a float when both are scalars, else a float64 array.
    """
    e = _epoch_ns(expiry)
    n = _epoch_ns(now)
    if isinstance(e, int) and isinstance(n, int):
        return (e - n) / 1e9 / SECONDS_PER_YEAR
    diff = np.asarray(e, dtype=np.int64) - np.asarray(n, dtype=np.int64)
    return diff.astype(np.float64) / (1e9 * SECONDS_PER_YEAR)


def years_to_days(t_years: npt.ArrayLike) -> FloatArray:
    """Convert years (365-day) to days."""
    return np.asarray(t_years, dtype=np.float64) * DAYS_PER_YEAR
