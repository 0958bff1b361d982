"""Import option-chain files into the snapshot store, all or nothing.

Formats: ``harvest`` (the store's own Parquet day files, e.g. from the harvester), ``tardis``
(Tardis.dev ``options_chain`` CSV(.gz), reduced to snapshots on a time grid) and ``svcj`` (the
SVCJ collector's snapshot CSVs in ``deribit_data``); ``auto`` tells them apart by name and header.

Every file is read and checked before anything is written: converted snapshots go to a hidden
staging folder inside the target, and only when every file has passed are they merged into the
day files (each one replaced atomically). A bad file raises
:class:`~trading.marketdata.frame.SnapshotFrameError` naming the file, row and column, and the
target is left as it was.
"""

from __future__ import annotations

import itertools
import secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from trading.marketdata.frame import SnapshotFrameError, frame_to_table, validate_snapshot_frame
from trading.marketdata.store import read_snapshot_file, snapshots_append
from trading.marketdata.tardis import tardis_snapshots

__all__ = [
    "FORMATS",
    "SVCJ_COLUMNS",
    "ImportReport",
    "chain_files",
    "chain_format_detect",
    "chain_import",
    "harvest_file_snapshots",
    "svcj_file_snapshots",
]

FORMATS = ("auto", "harvest", "tardis", "svcj")
SVCJ_COLUMNS = [
    "timestamp",
    "instrument_name",
    "underlying",
    "underlying_name",
    "option_type",
    "strike",
    "expiry_datetime",
    "bid_price",
    "ask_price",
    "mark_price",
    "mid_price",
    "implied_volatility",
    "open_interest",
    "volume",
    "currency",
    "index_price",
]
"""Columns an SVCJ snapshot file must have (it may have more: delta, vega, volume_usd, ...)."""

_SUFFIXES = (".parquet", ".csv", ".csv.gz")


@dataclass
class ImportReport:
    """What an import did: files by format, snapshots and rows per currency, files written."""

    formats: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    first: dict[str, pd.Timestamp] = field(default_factory=dict)
    last: dict[str, pd.Timestamp] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, frame: pd.DataFrame) -> None:
        cur = str(frame["currency"].iloc[0])
        ts = pd.Timestamp(frame["timestamp"].iloc[0])
        self.snapshots[cur] = self.snapshots.get(cur, 0) + 1
        self.rows[cur] = self.rows.get(cur, 0) + len(frame)
        self.first[cur] = min(self.first.get(cur, ts), ts)
        self.last[cur] = max(self.last.get(cur, ts), ts)

    def summary(self) -> list[str]:
        lines = [
            f"{cur}: {n} snapshots, {self.rows[cur]} rows, {self.first[cur]} to {self.last[cur]}"
            for cur, n in sorted(self.snapshots.items())
        ]
        return lines or ["no snapshots found"]


def chain_files(paths: Iterable[Path | str]) -> list[Path]:
    """The chain files named by ``paths``; folders are searched (recursively) for .parquet, .csv
    and .csv.gz files, skipping hidden ones."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = [
                f
                for f in sorted(p.rglob("*"))
                if f.is_file()
                and f.name.endswith(_SUFFIXES)
                and not any(s.startswith(".") for s in f.relative_to(p).parts)
            ]
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise SnapshotFrameError(str(p), "no such file or folder")
    if not out:
        raise SnapshotFrameError(", ".join(map(str, paths)), "no .parquet, .csv or .csv.gz files found")
    return out


def chain_format_detect(path: Path) -> str:
    """``harvest``, ``tardis`` or ``svcj``, from the file name and header."""
    if path.suffix == ".parquet":
        return "harvest"
    try:
        columns = set(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError, EOFError) as exc:
        raise SnapshotFrameError(str(path), f"cannot read as a CSV file ({exc})") from None
    # one telling column is enough: the reader then names any other column that is missing
    if "local_timestamp" in columns or "symbol" in columns:
        return "tardis"
    if "expiry_datetime" in columns or "underlying_name" in columns:
        return "svcj"
    raise SnapshotFrameError(
        str(path),
        "unknown format: the header is neither a Tardis options_chain file (symbol, local_timestamp, "
        "mark_iv, ...) nor an SVCJ snapshot (implied_volatility, underlying_name, expiry_datetime, ...)",
    )


def _split(frame: pd.DataFrame, currency: str | None) -> Iterator[pd.DataFrame]:
    if currency is not None:
        frame = frame[frame["currency"] == currency].reset_index(drop=True)
    for _, snap in frame.groupby(["currency", "timestamp"], sort=True):
        yield snap.reset_index(drop=True)


def svcj_file_snapshots(path: Path, *, currency: str | None = None) -> Iterator[pd.DataFrame]:
    """The snapshots (one per currency and time) of an SVCJ snapshot CSV."""
    try:
        raw = pd.read_csv(path)
    except (OSError, ValueError, EOFError) as exc:
        raise SnapshotFrameError(str(path), f"cannot read as a CSV file ({exc})") from None
    missing = [c for c in SVCJ_COLUMNS if c not in raw.columns]
    if missing:
        raise SnapshotFrameError(
            str(path),
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} in the header",
            column=missing[0],
        )
    raw = raw.rename(columns={"underlying_name": "underlying_index"})
    keep = [c for c in raw.columns if c not in ("dvol", "bid_iv", "ask_iv")]  # not in this format
    frame = validate_snapshot_frame(raw.loc[:, keep], source_name=str(path), line_offset=1)
    yield from _split(frame, currency)


def harvest_file_snapshots(path: Path, *, currency: str | None = None) -> Iterator[pd.DataFrame]:
    """The snapshots in a snapshot-store Parquet file (written by the harvester or an import)."""
    frame = validate_snapshot_frame(read_snapshot_file(path), source_name=str(path))
    yield from _split(frame, currency)


class _Staging:
    """Converted snapshots held until every input file has passed: in memory, spilled to a hidden
    folder inside the target when they grow large (long Tardis imports)."""

    def __init__(self, into: Path, *, spill_rows: int = 2_000_000) -> None:
        self.into = into
        self.dir = into / f".import-{secrets.token_hex(6)}"
        self.spill_rows = spill_rows
        self.parts = itertools.count()
        self.memory: dict[tuple[str, str], list[pd.DataFrame]] = {}
        self.held_rows = 0
        self.spilled: set[tuple[str, str]] = set()

    def add(self, frame: pd.DataFrame) -> None:
        key = (str(frame["currency"].iloc[0]), pd.Timestamp(frame["timestamp"].iloc[0]).strftime("%Y-%m-%d"))
        self.memory.setdefault(key, []).append(frame)
        self.held_rows += len(frame)
        if self.held_rows > self.spill_rows:
            self._spill()

    def _spill(self) -> None:
        for (cur, day), frames in self.memory.items():
            folder = self.dir / cur / day
            folder.mkdir(parents=True, exist_ok=True)
            table = frame_to_table(pd.concat(frames, ignore_index=True))
            pq.write_table(table, folder / f"{next(self.parts):08d}.parquet")
            self.spilled.add((cur, day))
        self.memory.clear()
        self.held_rows = 0

    def commit(self) -> list[Path]:
        written: list[Path] = []
        for key in sorted(self.spilled | set(self.memory)):
            cur, day = key
            parts = [read_snapshot_file(p) for p in sorted((self.dir / cur / day).glob("*.parquet"))]
            merged = pd.concat([*parts, *self.memory.get(key, [])], ignore_index=True)
            written.extend(snapshots_append(root=self.into, frame=merged))
        return written

    def discard(self) -> None:
        self.memory.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


def chain_import(
    *,
    paths: Iterable[Path | str],
    into: Path | str,
    fmt: str = "auto",
    currency: str | None = None,
    every: pd.Timedelta | str = "1h",
    max_age: pd.Timedelta | str | None = None,
    chunk_rows: int = 1_000_000,
) -> ImportReport:
    """Convert chain files to snapshot frames and merge them into the store at ``into``.

    ``fmt`` is one of :data:`FORMATS`; ``currency`` keeps one currency; ``every`` and ``max_age``
    apply to Tardis files (see :func:`~trading.marketdata.tardis.tardis_snapshots`). Snapshots
    already stored with the same time are replaced, so importing a file twice is harmless.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    wanted = currency.upper() if currency else None
    files = chain_files(paths)
    report = ImportReport()
    for f in files:
        report.formats[str(f)] = chain_format_detect(f) if fmt == "auto" else fmt
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    staging = _Staging(into)
    try:
        tardis = [f for f in files if report.formats[str(f)] == "tardis"]
        if tardis:
            for frame in tardis_snapshots(
                tardis,
                every=pd.Timedelta(every),
                currency=wanted,
                max_age=pd.Timedelta(max_age) if max_age is not None else None,
                chunk_rows=chunk_rows,
                notes=report.notes,
            ):
                report.count(frame)
                staging.add(frame)
        for f in files:
            kind = report.formats[str(f)]
            if kind == "tardis":
                continue
            reader = svcj_file_snapshots if kind == "svcj" else harvest_file_snapshots
            for frame in reader(f, currency=wanted):
                report.count(frame)
                staging.add(frame)
        report.written = staging.commit()
    finally:
        staging.discard()
    return report
