"""Recorded chains (``kind="files"``): the snapshot store ``manage.py import_chain`` and the
harvester write (``{root}/{CURRENCY}/{YYYY-MM-DD}.parquet``), or for convenience a file or folder of
raw chain files ``import_chain`` understands (harvester Parquet, Tardis ``options_chain`` CSV, the
SVCJ snapshot CSVs), read through :mod:`trading.marketdata.importers`.

Steps are the buckets ``[start + k·step, start + (k+1)·step)`` holding a snapshot; a step carries,
per currency, the first snapshot of that currency in the bucket, and its time is the latest of
those snapshot times (every chain of the step is known by then).

``rv`` is the zero-mean close-to-close realised vol of the snapshots' index prices (the median over
the chain's rows) over a trailing window of :data:`RV_WINDOW_DAYS` days, counting every snapshot in
the data, also those a coarse step skips and those up to a window before ``start``; it is ``None``
until the window holds :data:`RV_MIN_RETURNS` returns spanning :data:`RV_MIN_DAYS` days. ``dvol``
is the snapshot's DVOL when it was recorded.

A store is read one day file at a time while iterating. Raw files are read (and checked) once
when the source opens and the chosen snapshots are kept in memory, up to :data:`RAW_ROW_BUDGET`
rows; larger sets should be imported into a store first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from backtests.engine.fills import REAL_QUOTE
from backtests.engine.market import StepChain
from backtests.sources.base import (
    MarketSource,
    SourceError,
    SourceStep,
    currency_list,
    existing_path,
    finite_or_none,
    index_frame,
    span,
    when,
)
from backtests.sources.history import FloatArray, IntArray
from backtests.sources.spec import SourceSpec
from trading.marketdata.frame import PARQUET_SCHEMA, SnapshotFrameError
from trading.marketdata.importers import (
    chain_files,
    chain_format_detect,
    harvest_file_snapshots,
    svcj_file_snapshots,
)
from trading.marketdata.store import load_snapshots, snapshot_files
from trading.marketdata.tardis import tardis_snapshots
from trading.quant.candidates import ChainArrays, chain_from_snapshot
from trading.quant.synthetic import trailing_realized_vol

RV_WINDOW_DAYS = 30.0
"""Trailing window of the realised vol, days (as the live agent's)."""
RV_MIN_RETURNS = 20
"""Returns the window must hold before realised vol is given."""
RV_MIN_DAYS = 7.0
"""Days the window's returns must span before realised vol is given."""
RAW_ROW_BUDGET = 5_000_000
"""Option rows of raw files kept in memory at most; beyond, import into a store first."""

_NS_PER_DAY = 86_400 * 10**9
_SCAN_SCHEMA = pa.schema([PARQUET_SCHEMA.field(c) for c in ("timestamp", "index_price", "dvol")])
_KIND_NAMES = {"harvest": "harvester", "tardis": "Tardis", "svcj": "SVCJ"}


@dataclass(frozen=True)
class _Seen:
    """Every snapshot of one currency from a window before ``start`` to ``end``: time (UTC ns,
    increasing), index price (USD, median over the chain) and DVOL (vol points, NaN: unknown)."""

    ts_ns: IntArray
    index_usd: FloatArray
    dvol: FloatArray


@dataclass(frozen=True)
class _Coverage:
    first: pd.Timestamp
    last: pd.Timestamp
    count: int | None = None


@dataclass(frozen=True)
class _Chosen:
    """The snapshot of one currency chosen for each step that has one: step bucket, time (UTC ns),
    realised vol, DVOL and index price (NaN: unknown)."""

    bucket: IntArray
    ts_ns: IntArray
    rv: FloatArray
    dvol: FloatArray
    index_usd: FloatArray

    def on(self, buckets: list[int]) -> FloatArray:
        """The index price at each of ``buckets`` (NaN where this currency has no snapshot)."""
        by_bucket = dict(zip(self.bucket.tolist(), self.index_usd.tolist(), strict=True))
        return np.array([by_bucket.get(b, np.nan) for b in buckets], dtype=np.float64)

    def rows(self) -> dict[int, tuple[int, float, float]]:
        """bucket → (time ns, rv, dvol)."""
        return {
            b: (t, r, d)
            for b, t, r, d in zip(
                self.bucket.tolist(), self.ts_ns.tolist(), self.rv.tolist(), self.dvol.tolist(), strict=True
            )
        }


def _utc(ns: int | np.integer) -> pd.Timestamp:
    return pd.Timestamp(int(ns), tz="UTC")


def snapshot_rv(ts_ns: IntArray, index_usd: FloatArray) -> FloatArray:
    """Trailing realised vol at each snapshot (see the module docstring), NaN where unknown."""
    ok = np.isfinite(index_usd) & (index_usd > 0.0)
    out = np.full(len(ts_ns), np.nan)
    t, px = ts_ns[ok], index_usd[ok]
    if len(t) < 2:
        return out
    rv = trailing_realized_vol(t, px, window_days=RV_WINDOW_DAYS, min_returns=RV_MIN_RETURNS)
    first = np.searchsorted(t, t - int(RV_WINDOW_DAYS * _NS_PER_DAY), side="left")
    rv = np.where(t - t[first] >= RV_MIN_DAYS * _NS_PER_DAY, rv, np.nan)
    pos = np.searchsorted(t, ts_ns, side="right") - 1  # a snapshot without index: the last value
    return np.where(pos >= 0, rv[np.maximum(pos, 0)], np.nan)


def _median(frame: pd.DataFrame, column: str) -> float:
    if column not in frame.columns:
        return math.nan
    values = frame[column].to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else math.nan


def _is_store(path: Path) -> bool:
    return path.is_dir() and any(snapshot_files(path, c) for c in ("BTC", "ETH"))


def _step_chain(frame: pd.DataFrame, rv: float, dvol: float) -> StepChain:
    return StepChain(
        chain=ChainArrays.from_chain(chain_from_snapshot(frame)),
        rv=finite_or_none(rv),
        dvol=finite_or_none(dvol),
        provenance=REAL_QUOTE,
    )


class FilesMarket(MarketSource):
    """Recorded chains of ``spec.currencies`` under ``spec.data_path`` (see the module docstring)."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.provenance = REAL_QUOTE
        self._path = existing_path(spec)
        self._step = pd.Timedelta(spec.step_timedelta)
        self._start, self._end = pd.Timestamp(spec.start), pd.Timestamp(spec.end)
        self._seen_from = self._start - pd.Timedelta(days=RV_WINDOW_DAYS)
        self._store = _is_store(self._path)
        self._frames: dict[tuple[str, int], pd.DataFrame] = {}
        self._read_notes: list[str] = []
        if self._store:
            seen, coverage = self._scan_store()
            what = f"the snapshot store at {self._path}"
        else:
            seen, coverage, kinds = self._scan_raw()
            what = f"the {'/'.join(sorted(kinds))} files in {self._path}"
        self._select(seen, coverage)
        c_list = currency_list(spec.currencies)
        self.description = (
            f"recorded {c_list} chains every {spec.step} from {what}, "
            f"{span(self.index_path.index[0], self.index_path.index[-1])} ({self.n_steps} step"
            f"{'' if self.n_steps == 1 else 's'})"
        )

    # ------------------------------------------------------------------ reading

    def _scan_store(self) -> tuple[dict[str, _Seen], dict[str, _Coverage]]:
        seen: dict[str, _Seen] = {}
        coverage: dict[str, _Coverage] = {}
        for c in self.spec.currencies:
            files = snapshot_files(self._path, c)
            if not files:
                held = [x for x in ("BTC", "ETH") if snapshot_files(self._path, x)]
                raise SourceError(
                    f"the snapshot store at {self._path} holds no {c} snapshots (only {currency_list(held)})",
                    field="currencies",
                )
            first, last = self._scan_columns([files[0]]), self._scan_columns([files[-1]])
            coverage[c] = _Coverage(_utc(first["timestamp"].min()), _utc(last["timestamp"].max()))
            seen[c] = self._seen_of(
                self._scan_columns(snapshot_files(self._path, c, self._seen_from, self._end))
            )
        return seen, coverage

    def _scan_columns(self, files: list[Path]) -> pd.DataFrame:
        """Time (UTC ns), index price and DVOL of every row of ``files`` (read together, fast)."""
        if not files:
            return pd.DataFrame({"timestamp": np.empty(0, np.int64), "index_price": [], "dvol": []})
        try:
            table = ds.dataset([str(f) for f in files], format="parquet", schema=_SCAN_SCHEMA).to_table()
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(
                f"the snapshot store at {self._path} has a day file that cannot be read ({exc})",
                field="data_path",
            ) from None
        frame = table.to_pandas()
        frame["timestamp"] = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
        return frame

    def _seen_of(self, table: pd.DataFrame) -> _Seen:
        ts = table["timestamp"].to_numpy(np.int64)
        keep = (ts >= self._seen_from.value) & (ts < self._end.value)
        values = {
            "index": table["index_price"].to_numpy(np.float64)[keep],
            "dvol": table["dvol"].to_numpy(np.float64)[keep],
        }
        per = pd.DataFrame(values, index=ts[keep]).groupby(level=0).median()
        return _Seen(
            per.index.to_numpy(dtype=np.int64),
            per["index"].to_numpy(np.float64),
            per["dvol"].to_numpy(np.float64),
        )

    def _raw_frames(self, files: list[Path], kinds: dict[Path, str]) -> Iterator[pd.DataFrame]:
        wanted = self.spec.currencies[0] if len(self.spec.currencies) == 1 else None
        tardis = [f for f in files if kinds[f] == "tardis"]
        if tardis:
            every = min(self._step, pd.Timedelta(hours=1))
            yield from tardis_snapshots(tardis, every=every, currency=wanted, notes=self._read_notes)
        for f in files:
            if kinds[f] == "svcj":
                yield from svcj_file_snapshots(f, currency=wanted)
            elif kinds[f] == "harvest":
                yield from harvest_file_snapshots(f, currency=wanted)

    def _scan_raw(self) -> tuple[dict[str, _Seen], dict[str, _Coverage], set[str]]:
        rows: dict[str, dict[int, tuple[float, float]]] = {c: {} for c in self.spec.currencies}
        firsts: dict[str, int] = {}
        lasts: dict[str, int] = {}
        counts: dict[str, int] = {}
        kept_rows = 0
        start, end, step = self._start.value, self._end.value, self._step.value
        try:
            files = chain_files([self._path])
            kinds = {f: chain_format_detect(f) for f in files}
            for frame in self._raw_frames(files, kinds):
                if frame.empty:
                    continue
                c = str(frame["currency"].iloc[0])
                if c not in rows:
                    continue
                ts = int(pd.Timestamp(frame["timestamp"].iloc[0]).value)
                firsts[c] = min(firsts.get(c, ts), ts)
                lasts[c] = max(lasts.get(c, ts), ts)
                counts[c] = counts.get(c, 0) + 1
                if not self._seen_from.value <= ts < end:
                    continue
                rows[c][ts] = (_median(frame, "index_price"), _median(frame, "dvol"))
                if ts < start:
                    continue
                key = (c, (ts - start) // step)
                held = self._frames.get(key)
                if held is None or ts <= int(pd.Timestamp(held["timestamp"].iloc[0]).value):
                    kept_rows += len(frame) - (len(held) if held is not None else 0)
                    self._frames[key] = frame
                if kept_rows > RAW_ROW_BUDGET:
                    raise SourceError(
                        f"{self._path} holds more than {RAW_ROW_BUDGET:,} option rows in the chosen range: "
                        f"import it once (manage.py import_chain {self._path}) and choose the snapshot "
                        "store as the data path",
                        field="data_path",
                    )
        except (SnapshotFrameError, OSError) as exc:
            raise SourceError(str(exc), field="data_path") from None
        seen = {}
        for c, by_ts in rows.items():
            ts_sorted = np.array(sorted(by_ts), dtype=np.int64)
            values = np.array([by_ts[t] for t in ts_sorted.tolist()], dtype=np.float64).reshape(-1, 2)
            seen[c] = _Seen(ts_sorted, values[:, 0], values[:, 1])
        coverage = {
            c: _Coverage(pd.Timestamp(firsts[c], tz="UTC"), pd.Timestamp(lasts[c], tz="UTC"), counts[c])
            for c in firsts
        }
        return seen, coverage, {_KIND_NAMES.get(k, k) for k in kinds.values()}

    # ------------------------------------------------------------------ choosing the steps

    def _select(self, seen: dict[str, _Seen], coverage: dict[str, _Coverage]) -> None:
        start, step = self._start.value, self._step.value
        n_buckets = math.ceil((self._end - self._start) / self._step)
        chosen: dict[str, _Chosen] = {}
        notes: list[str] = list(self._read_notes)
        for c in self.spec.currencies:
            s = seen.get(c, _Seen(np.empty(0, np.int64), np.empty(0), np.empty(0)))
            rv = snapshot_rv(s.ts_ns, s.index_usd)
            inside = np.flatnonzero(s.ts_ns >= start)
            bucket = (s.ts_ns[inside] - start) // step
            first_of_bucket = np.flatnonzero(np.diff(bucket, prepend=-1) != 0)
            rows = inside[first_of_bucket]
            if len(rows) == 0:
                raise self._outside(c, coverage.get(c))
            chosen[c] = _Chosen(
                bucket[first_of_bucket], s.ts_ns[rows], rv[rows], s.dvol[rows], s.index_usd[rows]
            )
            notes.extend(self._notes(c, chosen[c], s, n_buckets))
        step_ts: dict[int, int] = {}
        for t in chosen.values():
            for b, ts in zip(t.bucket.tolist(), t.ts_ns.tolist(), strict=True):
                step_ts[b] = max(step_ts.get(b, ts), ts)
        self._buckets = sorted(step_ts)
        self._chosen = chosen
        self._times = pd.DatetimeIndex(
            np.array([step_ts[b] for b in self._buckets], dtype=np.int64), tz="UTC"
        )
        self.n_steps = len(self._buckets)
        self.index_path = index_frame(self._times, {c: t.on(self._buckets) for c, t in chosen.items()})
        self.notes = tuple(notes)

    def _outside(self, c: str, cov: _Coverage | None) -> SourceError:
        asked = span(self._start, self._end)
        if cov is None:
            return SourceError(f"{self._path} holds no {c} snapshots", field="currencies")
        count = f", {cov.count} snapshots" if cov.count is not None else ""
        holds = f"{self._path} holds {c} snapshots from {span(cov.first, cov.last)}{count}"
        field = "start" if cov.last < self._start else "end" if cov.first >= self._end else "start"
        return SourceError(f"{holds}; none in the requested {asked}", field=field)

    def _notes(self, c: str, chosen: _Chosen, s: _Seen, n_buckets: int) -> list[str]:
        out = []
        first, last = int(chosen.bucket[0]), int(chosen.bucket[-1])
        if first > 0 or last < n_buckets - 1:
            t0, t1 = _utc(chosen.ts_ns[0]), _utc(chosen.ts_ns[-1])
            out.append(f"{c}: the data covers {span(t0, t1)} of the requested {span(self._start, self._end)}")
        missing = (last - first + 1) - len(chosen.bucket)
        if missing > 0:
            out.append(
                f"{c}: {missing} of {last - first + 1} steps in that time have no snapshot (gaps in the data)"
            )
        known = np.flatnonzero(np.isfinite(chosen.rv))
        if len(known) == 0 or known[0] > 0:
            before = s.ts_ns[s.ts_ns < self._start.value]
            held = f"{(self._start.value - before[0]) / _NS_PER_DAY:.0f} days" if len(before) else "nothing"
            until = when(_utc(chosen.ts_ns[known[0]])) if len(known) else "the end"
            out.append(
                f"{c}: realised vol needs {RV_MIN_RETURNS} snapshots over at least {RV_MIN_DAYS:g} days "
                f"within {RV_WINDOW_DAYS:g} days; the data holds {held} before the start, so it is unknown "
                f"until {until}"
            )
        return out

    # ------------------------------------------------------------------ steps

    def __iter__(self) -> Iterator[SourceStep]:
        streams = {
            c: load_snapshots(self._path, c, _utc(t.ts_ns[0]), _utc(t.ts_ns[-1]))
            for c, t in self._chosen.items()
            if self._store
        }
        rows = {c: t.rows() for c, t in self._chosen.items()}
        for bucket, now in zip(self._buckets, self._times.to_pydatetime(), strict=True):
            step: dict[str, StepChain] = {}
            for c in self.spec.currencies:
                row = rows[c].get(bucket)
                if row is None:
                    continue
                ts_ns, rv, dvol = row
                frame = self._next(streams[c], ts_ns) if self._store else self._frames[(c, bucket)]
                step[c] = _step_chain(frame, rv, dvol)
            yield now, step

    def _next(self, stream: Iterator[tuple[pd.Timestamp, pd.DataFrame]], ts_ns: int) -> pd.DataFrame:
        for ts, frame in stream:
            if ts.value == ts_ns:
                return frame
        raise SourceError(
            f"the snapshot at {when(_utc(ts_ns))} vanished from {self._path} while reading", field="data_path"
        )
