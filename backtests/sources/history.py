"""Underlying histories the synthetic source prices chains on: a file written by
``manage.py fetch_history`` or any CSV with a time and a price column.

A history is a list of observations (time, index price in USD, optionally DVOL in vol points).
Candle tables (``open`` and ``close`` columns, stamped at the candle's open, as Deribit's are) count
each close at the candle's end and the first open at its start, so no step sees a price before it
happened; other tables count each price at its row's time. :func:`sample` takes the last
observation at or before each step. The seeded generator is in :mod:`backtests.sources.generator`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from backtests.sources.base import SourceError
from trading.marketdata.history import history_read

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_GAP = pd.Timedelta(days=3)
"""A history with a longer stretch without prices inside the run is refused."""

_FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz")
TIME_COLUMNS = (
    "timestamp", "time", "datetime", "date", "date_time", "open_time", "time_utc", "timestamp_utc",
    "close_time", "ts", "t",
)  # fmt: skip
"""Names (lower case, spaces as ``_``) recognised as the time column of a CSV history, by priority."""
PRICE_COLUMNS = (
    "close", "price", "close_price", "index_price", "index", "last", "last_price", "adj_close",
    "mark_price", "value", "c",
)  # fmt: skip
"""Names recognised as the price column of a CSV history, by priority."""
DVOL_COLUMNS = ("dvol_close", "dvol")
"""Names recognised as a DVOL column (vol points), optional."""


@dataclass(frozen=True)
class PriceHistory:
    """Observations of one underlying: times (UTC ns, increasing), index price (USD) and, when the
    history has it, DVOL (vol points) at its own times."""

    currency: str
    label: str
    """How the description names it, e.g. ``a seeded generator (seed 7)`` or ``BTC_1h.parquet``."""
    times_ns: IntArray
    price_usd: FloatArray
    bar: pd.Timedelta
    """Typical time between observations."""
    dvol_times_ns: IntArray | None = None
    dvol: FloatArray | None = None
    rows: IntArray | None = None
    """For messages: the file line (CSV) or row (Parquet) of each observation."""
    row_word: str = "line"

    @property
    def first(self) -> pd.Timestamp:
        return pd.Timestamp(int(self.times_ns[0]), tz="UTC")

    @property
    def last(self) -> pd.Timestamp:
        return pd.Timestamp(int(self.times_ns[-1]), tz="UTC")

    def largest_gap(self, lo_ns: int, hi_ns: int) -> tuple[int, int] | None:
        """Positions (i, i + 1) of the longest stretch without observations that overlaps
        [lo_ns, hi_ns], when it is longer than :data:`MAX_GAP`."""
        a = max(int(np.searchsorted(self.times_ns, lo_ns, side="right")) - 1, 0)
        b = min(int(np.searchsorted(self.times_ns, hi_ns, side="left")), len(self.times_ns) - 1)
        if b <= a:
            return None
        gaps = np.diff(self.times_ns[a : b + 1])
        i = int(np.argmax(gaps))
        return (a + i, a + i + 1) if gaps[i] > MAX_GAP.value else None

    def where(self, i: int) -> str:
        return f"{self.row_word} {int(self.rows[i])}" if self.rows is not None else when_ns(self.times_ns[i])


def when_ns(ns: int | np.integer) -> str:
    return pd.Timestamp(int(ns), tz="UTC").strftime("%Y-%m-%d %H:%M")


def sample(times_ns: IntArray, values: FloatArray, grid_ns: IntArray) -> FloatArray:
    """The last value at or before each grid time (NaN before the first)."""
    pos = np.searchsorted(times_ns, grid_ns, side="right") - 1
    return np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan)


def _is_history_file(path: Path) -> bool:
    return path.is_file() and path.name.endswith(_FILE_SUFFIXES) and not path.name.startswith(".")


def _leading_currency(name: str) -> str | None:
    m = re.match(r"^(BTC|ETH)(?![A-Z])", name.upper())
    return m.group(1) if m else None


def history_file(data_path: Path, currency: str, currencies: tuple[str, ...]) -> Path:
    """The history file of ``currency``: ``data_path`` itself, or in a folder the one file whose
    name starts with the currency (``BTC_…``, as ``fetch_history`` names them)."""
    if data_path.is_file():
        if len(currencies) > 1:
            raise SourceError(
                f"{data_path} is one history, but {' and '.join(currencies)} were asked for: give a folder "
                "holding one file per currency (named BTC_… and ETH_…, as fetch_history names them)",
                field="currencies",
            )
        named = _leading_currency(data_path.name)
        if named is not None and named != currency:
            raise SourceError(
                f"{data_path.name} looks like a {named} history (by its name), but {currency} was asked for",
                field="currencies",
            )
        return data_path
    found = [p for p in sorted(data_path.iterdir()) if _is_history_file(p)]
    mine = [p for p in found if _leading_currency(p.name) == currency]
    if not mine:
        listed = ", ".join(p.name for p in found[:5]) or "no .parquet, .csv or .csv.gz files"
        raise SourceError(
            f"no {currency} history in {data_path}: expected a file named {currency}_… (found: {listed})",
            field="data_path",
        )
    if len(mine) > 1:
        raise SourceError(
            f"several {currency} histories in {data_path} ({', '.join(p.name for p in mine)}): "
            "keep one per currency or name the file itself",
            field="data_path",
        )
    return mine[0]


def _norm(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _pick(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    by_norm = {_norm(c): c for c in reversed(columns)}
    return next((by_norm[w] for w in wanted if w in by_norm), None)


def _fail(path: Path, row_word: str, rows: IntArray, pos: int, column: str, problem: str) -> SourceError:
    return SourceError(
        f"{path.name}, {row_word} {int(rows[pos])}, column {column!r}: {problem}", field="data_path"
    )


def _parse_times(values: pd.Series, *, path: Path, column: str, row_word: str, rows: IntArray) -> IntArray:
    """UTC nanoseconds of a time column: ISO 8601 or other date text (naive = UTC) or epoch numbers
    (seconds, milliseconds, microseconds or nanoseconds, told apart by size)."""
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        as_numbers = pd.to_numeric(values, errors="coerce")
        if len(values) and as_numbers.notna().all():  # epoch numbers written as text
            values = as_numbers
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = pd.DatetimeIndex(values).tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = pd.DatetimeIndex(values).tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        num = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if (bad := np.flatnonzero(~np.isfinite(num))).size:
            raise _fail(path, row_word, rows, int(bad[0]), column, "missing time")
        size = float(np.median(np.abs(num))) if num.size else 0.0
        unit: Literal["s", "ms", "us", "ns"] = (
            "s" if size < 1e11 else "ms" if size < 1e14 else "us" if size < 1e17 else "ns"
        )
        parsed = pd.DatetimeIndex(pd.to_datetime(pd.Series(num), unit=unit, utc=True))
    else:
        text = values.astype("string")
        if (bad := np.flatnonzero(text.isna().to_numpy() | (text.str.strip() == "").to_numpy())).size:
            raise _fail(path, row_word, rows, int(bad[0]), column, "missing time")
        parsed = pd.DatetimeIndex(pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601"))
        if parsed.isna().all():
            parsed = pd.DatetimeIndex(pd.to_datetime(text, utc=True, errors="coerce", format="mixed"))
        if (bad := np.flatnonzero(parsed.isna())).size:
            pos = int(bad[0])
            raise _fail(path, row_word, rows, pos, column, f"cannot read {text.iloc[pos]!r} as a time")
    return np.asarray(parsed.as_unit("ns").asi8, dtype=np.int64)


def _parse_numbers(
    values: pd.Series, *, path: Path, column: str, row_word: str, rows: IntArray, positive: bool
) -> FloatArray:
    """Floats of a number column; empty cells are NaN, anything else unreadable is an error."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise _fail(path, row_word, rows, 0, column, "true/false is not a number")
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = values.astype("string").str.strip()
        out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        filled = text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
        if (bad := np.flatnonzero(np.isnan(out) & filled)).size:
            pos = int(bad[0])
            raise _fail(path, row_word, rows, pos, column, f"{text.iloc[pos]!r} is not a number")
    if (bad := np.flatnonzero(np.isinf(out))).size:
        raise _fail(path, row_word, rows, int(bad[0]), column, "not a finite number")
    if positive and (bad := np.flatnonzero(out <= 0.0)).size:
        pos = int(bad[0])
        raise _fail(path, row_word, rows, pos, column, f"{out[pos]:g} is not a positive price")
    return out


def _table_history(
    frame: pd.DataFrame,
    *,
    path: Path,
    currency: str,
    time_col: str,
    price_col: str,
    dvol_col: str | None,
    row_word: str,
    first_row: int,
    open_col: str | None,
) -> PriceHistory:
    """``open_col`` marks a candle table stamped at the open: closes count at the candle's end and
    the first candle's open at its start."""
    rows = np.arange(len(frame), dtype=np.int64) + first_row
    if len(frame) < 2:
        raise SourceError(
            f"{path.name}: needs at least two rows of prices, has {len(frame)}", field="data_path"
        )

    def numbers(column: str) -> FloatArray:
        return _parse_numbers(
            frame[column], path=path, column=column, row_word=row_word, rows=rows, positive=True
        )

    times = _parse_times(frame[time_col], path=path, column=time_col, row_word=row_word, rows=rows)
    price = numbers(price_col)
    dvol = numbers(dvol_col) if dvol_col is not None else None
    opened = numbers(open_col) if open_col is not None else None
    order = np.argsort(times, kind="stable")
    times, price, rows = times[order], price[order], rows[order]
    if (dup := np.flatnonzero(np.diff(times) == 0)).size:
        i = int(dup[0])
        raise SourceError(
            f"{path.name}, {row_word} {int(rows[i + 1])}, column {time_col!r}: the time {when_ns(times[i])} "
            f"is also on {row_word} {int(rows[i])}",
            field="data_path",
        )
    bar = pd.Timedelta(int(np.median(np.diff(times))), unit="ns")
    if dvol is not None:
        dvol = dvol[order]
    if opened is not None:
        first_time, first_open = times[0], opened[order[0]]
        times = times + bar.value
        if np.isfinite(first_open):  # the first candle's open is the price at its start
            times = np.concatenate([[first_time], times])
            price = np.concatenate([[first_open], price])
            rows = np.concatenate([rows[:1], rows])
            if dvol is not None:
                dvol = np.concatenate([[np.nan], dvol])
    has_price = np.isfinite(price)
    if has_price.sum() < 2:
        raise SourceError(
            f"{path.name}, column {price_col!r}: fewer than two prices (the cells are empty)",
            field="data_path",
        )
    dvol_times = dvol_values = None
    if dvol is not None:
        has_dvol = np.isfinite(dvol)
        if has_dvol.any():
            dvol_times, dvol_values = times[has_dvol], dvol[has_dvol]
    return PriceHistory(
        currency=currency,
        label=path.name,
        times_ns=times[has_price],
        price_usd=price[has_price],
        bar=bar,
        dvol_times_ns=dvol_times,
        dvol=dvol_values,
        rows=rows[has_price],
        row_word=row_word,
    )


def deribit_history(path: Path, currency: str) -> PriceHistory:
    """A history written by ``manage.py fetch_history`` (:func:`trading.marketdata.history.history_read`):
    perpetual candles stamped at their open; DVOL (``dvol_close``) is used when present."""
    is_csv = path.name.endswith((".csv", ".csv.gz"))
    try:
        frame = history_read(path)
    except (OSError, ValueError, EOFError, pa.ArrowException) as exc:
        if is_csv:  # name the bad cell, as for any CSV
            csv_history(path, currency)
        raise SourceError(
            f"{path.name}: cannot read it as a fetch_history file ({exc})", field="data_path"
        ) from None
    missing = [c for c in ("timestamp", "close") if c not in frame.columns]
    if missing:
        raise SourceError(
            f"{path.name} is not a fetch_history file: it has no {' or '.join(missing)} column "
            "(for another price file choose the CSV history)",
            field="data_path",
        )
    return _table_history(
        frame,
        path=path,
        currency=currency,
        time_col="timestamp",
        price_col="close",
        dvol_col="dvol_close" if "dvol_close" in frame.columns else None,
        row_word="line" if is_csv else "row",
        first_row=2 if is_csv else 1,
        open_col="open" if "open" in frame.columns else None,
    )


def csv_history(path: Path, currency: str) -> PriceHistory:
    """Any CSV (optionally gzipped) with a time column and a price column (see :data:`TIME_COLUMNS`,
    :data:`PRICE_COLUMNS`; an optional :data:`DVOL_COLUMNS`). Times are UTC (naive text is read as
    UTC); rows need not be sorted; empty price cells are skipped."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path.name}: cannot read it as a CSV file ({exc})", field="data_path") from None
    columns = [str(c) for c in frame.columns]
    time_col = _pick(columns, TIME_COLUMNS)
    price_col = _pick(columns, PRICE_COLUMNS)
    if time_col is None or price_col is None:
        need = [what for what, col in (("time", time_col), ("price", price_col)) if col is None]
        hint = "time column: timestamp, time, date, …; price column: close, price, …"
        raise SourceError(
            f"{path.name}: found no {' and no '.join(need)} column among {', '.join(columns) or 'none'} "
            f"({hint})",
            field="data_path",
        )
    frame = frame.replace("", None)
    has = {_norm(c) for c in columns}
    candles = "open" in has and "close" in has and _norm(time_col) != "close_time"
    open_col = _pick(columns, ("open",)) if candles else None
    return _table_history(
        frame,
        path=path,
        currency=currency,
        time_col=time_col,
        price_col=price_col,
        dvol_col=_pick(columns, DVOL_COLUMNS),
        row_word="line",
        first_row=2,
        open_col=open_col,
    )
