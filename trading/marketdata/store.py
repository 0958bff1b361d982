"""Snapshot files on disk, read back by the backtester and calibration with one function.

Layout: ``{root}/{CURRENCY}/{YYYY-MM-DD}.parquet``, one file per currency and UTC day holding every
snapshot of that day as one snapshot frame (:mod:`trading.marketdata.frame`), rows in its order
(time, expiry, strike, calls first). The harvester and the importers write this layout.

Writes are crash-safe: a day file is rewritten whole into a hidden temporary file beside it,
flushed to disk, then renamed over the old one, so a reader sees the old file or the new one and
never half a file, even if the writer is killed. Writers of one currency folder take a lock so
two of them cannot lose each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO, cast

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading.marketdata.frame import (
    ROW_ORDER,
    SNAPSHOT_COLUMNS,
    SnapshotFrameError,
    frame_from_table,
    frame_to_table,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "TimeBound",
    "atomic_write",
    "atomic_write_parquet",
    "load_snapshots",
    "read_snapshot_file",
    "snapshot_day_path",
    "snapshot_files",
    "snapshots_append",
]

TimeBound = datetime | date | str | pd.Timestamp | None
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
_KEY = ["timestamp", "instrument_name"]


def snapshot_day_path(root: Path | str, currency: str, day: date) -> Path:
    """``{root}/{CURRENCY}/{YYYY-MM-DD}.parquet``."""
    return Path(root) / currency.upper() / f"{day.isoformat()}.parquet"


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform lets a folder be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a hidden temporary file beside ``path``, flush it to disk, then rename it
    over ``path``: readers see the old file or the new one, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_parquet(path: Path, table: pa.Table) -> None:
    """Write ``table`` (zstd Parquet) to ``path`` crash-safely (see :func:`atomic_write`)."""
    atomic_write(path, lambda fh: pq.write_table(table, fh, compression="zstd"))


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(directory / ".lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_snapshot_file(path: Path | str) -> pd.DataFrame:
    """Every snapshot in one day file, as one snapshot frame."""
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise SnapshotFrameError(str(path), f"not a readable Parquet file ({exc})") from None
    missing = [c for c in SNAPSHOT_COLUMNS if c not in table.column_names]
    if missing:
        raise SnapshotFrameError(str(path), f"not a snapshot file: missing columns {', '.join(missing)}")
    return frame_from_table(table)


def snapshots_append(*, root: Path | str, frame: pd.DataFrame) -> list[Path]:
    """Merge the snapshots of a validated snapshot frame into their day files; returns the files.

    Rows with the same ``(timestamp, instrument_name)`` as rows already stored replace them, so
    writing the same snapshot twice is harmless.
    """
    if frame.empty:
        return []
    root = Path(root)
    written: list[Path] = []
    days = frame["timestamp"].dt.tz_convert("UTC").dt.date
    for (currency, day), part in frame.groupby([frame["currency"], days], sort=True):
        path = snapshot_day_path(root, str(currency), cast(date, day))
        with _locked(path.parent):
            # holding the lock, no writer is active here: temp files are debris of a killed one
            for debris in path.parent.glob(".*.tmp"):
                debris.unlink(missing_ok=True)
            merged = part
            if path.exists():
                merged = pd.concat([read_snapshot_file(path), part], ignore_index=True)
            merged = merged.drop_duplicates(_KEY, keep="last").sort_values(list(ROW_ORDER), kind="stable")
            atomic_write_parquet(path, frame_to_table(merged))
        written.append(path)
    return written


def _bound(value: TimeBound, *, end: bool) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time.max if end else time.min)
    ts = pd.Timestamp(value)
    if isinstance(value, str) and len(value) == 10 and end:  # a bare date: the whole day
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def snapshot_files(
    root: Path | str, currency: str, start: TimeBound = None, end: TimeBound = None
) -> list[Path]:
    """The day files of ``currency`` under ``root`` that may hold snapshots in [start, end], by date."""
    lo, hi = _bound(start, end=False), _bound(end, end=True)
    folder = Path(root) / currency.upper()
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        m = _DAY_FILE.match(path.name)
        if m is None:
            continue
        day = date.fromisoformat(m.group(1))
        if (lo is None or day >= lo.date()) and (hi is None or day <= hi.date()):
            out.append(path)
    return out


def load_snapshots(
    root: Path | str, currency: str, start: TimeBound = None, end: TimeBound = None
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """Yield ``(timestamp, frame)`` for each stored snapshot of ``currency`` in [start, end], in time
    order; each ``frame`` is a snapshot frame ready for ``chain_from_snapshot``.

    Bounds are inclusive; a date or ``"YYYY-MM-DD"`` means the whole day, naive times are UTC.
    Reads one day file at a time, so memory stays at one day's snapshots.
    """
    lo, hi = _bound(start, end=False), _bound(end, end=True)
    for path in snapshot_files(root, currency, start, end):
        day = read_snapshot_file(path)
        keep = pd.Series(True, index=day.index)
        if lo is not None:
            keep &= day["timestamp"] >= lo
        if hi is not None:
            keep &= day["timestamp"] <= hi
        day = day.loc[keep]
        for ts, snap in day.groupby("timestamp", sort=True):
            yield cast(pd.Timestamp, ts), snap.reset_index(drop=True)
