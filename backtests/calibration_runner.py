"""The one place that turns a calibration spec into its report: read the snapshots, fit (when asked),
measure the errors, judge the fit by the policy.

Used by the Celery task (through ``backtests.calibration_services``) and by ``manage.py
calibrate``, so both give the same report for the same spec, data and parameters in use. No
database access: the parameters in use and the live-snapshot fetcher are passed in.

The report (JSON, no NaN) holds per currency: the parameters in use (``in_use``), what was
evaluated on the test window (``evaluated``: ``fitted`` or ``in_use``), the test-window error
report (``test``, see ``backtests.calibration.calibration_report``), and with a fit the fitted
parameters, the fit's own numbers, the in-sample report (``train``), the parameters in use
measured on the same test window (``test_in_use``) and the policy's verdict (``policy``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from backtests.calibration import (
    CalibrationError,
    CalibrationParams,
    IndexHistory,
    calibration_report,
    fit_params,
    index_history_from_file,
    index_history_from_snapshots,
)
from backtests.calibration_policy import METRIC, policy_rules, policy_verdict
from backtests.calibration_spec import CalibrationSource, CalibrationSpec
from trading.marketdata.fetch import ChainSnapshot
from trading.marketdata.importers import (
    chain_files,
    chain_format_detect,
    harvest_file_snapshots,
    svcj_file_snapshots,
)
from trading.marketdata.store import load_snapshots, snapshot_files
from trading.marketdata.tardis import tardis_snapshots

WARMUP = pd.Timedelta(days=35)
"""Index history read before the first window, so realised vol is known from its start."""
TARDIS_EVERY = pd.Timedelta("1h")
"""Raw Tardis files are reduced to one snapshot an hour."""

ProgressCallback = Callable[[int, int, str], None]
"""Called with the stages done, the stages in all, and what the run does now (words)."""
CancelCheck = Callable[[], bool]
LiveFetch = Callable[[str], ChainSnapshot]
"""Takes one snapshot of a currency's chain now."""

Json = dict[str, Any]


class RunCancelled(Exception):
    """The run was cancelled between two stages."""


@dataclass(frozen=True)
class InUse:
    """The parameters a currency's synthetic prices use now: a stored set, or the defaults."""

    set_id: int | None
    params: CalibrationParams

    @property
    def label(self) -> str:
        return f"set #{self.set_id}" if self.set_id is not None else "the generator's defaults"

    def as_json(self) -> Json:
        return {"set_id": self.set_id, "label": self.label, "parameters": self.params.model_dump(mode="json")}


@dataclass(frozen=True)
class CalibrationOutput:
    report: Json
    summary: Json
    """Headline figures per currency (what lists and the error history show)."""
    description: str
    fitted: dict[str, CalibrationParams] = field(default_factory=dict)
    done: int = 0
    total: int = 0


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as ``None`` and tuples as lists (storable as JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _iso(ts: datetime | pd.Timestamp | None) -> str | None:
    return None if ts is None else pd.Timestamp(ts).tz_convert("UTC").isoformat()


def _when(ts: datetime | pd.Timestamp | None) -> str:
    return "—" if ts is None else pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M")


# --- Reading snapshots ------------------------------------------------------------------------------


def _is_store(root: Path, currency: str) -> bool:
    return root.is_dir() and bool(snapshot_files(root, currency))


def _raw_snapshots(
    root: Path, currency: str, notes: list[str]
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    files = chain_files([root])
    formats = {f: chain_format_detect(f) for f in files}
    frames: list[pd.DataFrame] = []
    tardis = [f for f in files if formats[f] == "tardis"]
    if tardis:
        frames.extend(tardis_snapshots(tardis, every=TARDIS_EVERY, currency=currency, notes=notes))
    for f in files:
        if formats[f] == "svcj":
            frames.extend(svcj_file_snapshots(f, currency=currency))
        elif formats[f] == "harvest":
            frames.extend(harvest_file_snapshots(f, currency=currency))
    frames.sort(key=lambda fr: fr["timestamp"].iloc[0])
    for frame in frames:
        yield pd.Timestamp(frame["timestamp"].iloc[0]), frame


def _stored_snapshots(
    spec: CalibrationSpec, currency: str, lo: pd.Timestamp | None, hi: pd.Timestamp | None, notes: list[str]
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    root = Path(spec.data_path or "")
    if _is_store(root, currency):
        yield from load_snapshots(root, currency, lo, hi)
    elif spec.source is CalibrationSource.HARVEST or (root.is_dir() and (root / currency).is_dir()):
        return  # a snapshot folder without this currency's day files: nothing recorded
    else:
        yield from _raw_snapshots(root, currency, notes)


def _inside(ts: pd.Timestamp, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or ts >= pd.Timestamp(start)) and (end is None or ts < pd.Timestamp(end))


@dataclass
class _Data:
    fit: list[pd.DataFrame] = field(default_factory=list)
    test: list[pd.DataFrame] = field(default_factory=list)
    marks: list[pd.DataFrame] = field(default_factory=list)
    """Every snapshot read (one row each outside the windows): the index history it gives."""
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)

    def seen(self, ts: pd.Timestamp) -> None:
        self.first = ts if self.first is None else min(self.first, ts)
        self.last = ts if self.last is None else max(self.last, ts)


def _test_window(spec: CalibrationSpec) -> tuple[datetime | None, datetime | None]:
    if spec.test_start is not None:
        return spec.test_start, spec.test_end
    return (spec.fit_end, None) if spec.fitted else (None, None)


def _read(spec: CalibrationSpec, currency: str, fetch_live: LiveFetch | None) -> _Data:
    data = _Data()
    if spec.source is CalibrationSource.LIVE:
        if fetch_live is None:
            raise CalibrationError("Live snapshots cannot be taken here.")
        snap = fetch_live(currency)
        if snap.frame.empty:
            raise CalibrationError(
                f"The exchange ({snap.environment or 'Deribit'}) listed no {currency} options."
            )
        data.notes.extend(
            f"{currency} snapshot: {p}" for p in [*snap.quality.problems, *snap.quality.warnings]
        )
        ts = pd.Timestamp(snap.frame["timestamp"].iloc[0])
        data.test.append(snap.frame)
        data.marks.append(snap.frame.iloc[:1])
        data.seen(ts)
        return data
    test_start, test_end = _test_window(spec)
    starts = [spec.fit_start, test_start] if spec.fitted else [test_start]
    ends = [spec.fit_end, test_end] if spec.fitted else [test_end]
    lo = None if None in starts else pd.Timestamp(min(s for s in starts if s is not None)) - WARMUP
    hi = None if None in ends else pd.Timestamp(max(e for e in ends if e is not None))
    for ts, frame in _stored_snapshots(spec, currency, lo, hi, data.notes):
        in_fit = spec.fitted and _inside(ts, spec.fit_start, spec.fit_end)
        in_test = _inside(ts, test_start, test_end)
        if in_fit:
            data.fit.append(frame)
        if in_test:
            data.test.append(frame)
        data.marks.append(frame.iloc[:1])
        data.seen(ts)
    if data.first is not None:
        held = f"the data holds {_when(data.first)} → {_when(data.last)} UTC"
    else:  # nothing in range: say what the folder holds, or that it holds nothing
        days = snapshot_files(Path(spec.data_path or ""), currency)
        if not days:
            raise CalibrationError(f"No {currency} option-chain snapshots in {spec.data_path}.")
        held = f"the data holds the days {days[0].stem} → {days[-1].stem}"
    if spec.fitted and not data.fit:
        window = f"{_when(spec.fit_start)} → {_when(spec.fit_end)}"
        raise CalibrationError(f"No {currency} snapshots in the fit window {window} UTC; {held}.")
    if not data.test:
        window = f"{_when(test_start)} → {_when(test_end) if test_end else 'the end'}"
        raise CalibrationError(f"No {currency} snapshots in the test window {window} UTC; {held}.")
    return data


def _history(spec: CalibrationSpec, currency: str, data: _Data) -> IndexHistory:
    """What the model may know of the underlying: the snapshots' index (and DVOL); with a history
    file, its prices instead, and its DVOL where the snapshots have none."""
    snapshots = index_history_from_snapshots(data.marks, currency=currency)
    if not spec.history_path:
        return snapshots
    given = index_history_from_file(Path(spec.history_path), currency)
    if given.times_ns.size == 0:  # DVOL only: the snapshots give the index
        return snapshots.combined(given)
    dvol = given if given.has_dvol else snapshots
    return IndexHistory(
        currency, given.times_ns, given.index_usd, dvol.dvol_times_ns, dvol.dvol, label=given.label
    )


# --- Measuring ----------------------------------------------------------------------------------


def _overall(report: Json | None, key: str) -> float | None:
    if not report:
        return None
    value = (report.get("overall") or {}).get(key)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _summary(block: Json) -> Json:
    test = block["test"]
    in_use = block["test_in_use"] or test
    keys = (
        "mae_vol_pts",
        "mae_usd",
        "mae_pct",
        "vega_weighted_mae_pct",
        "bias_vol_pts",
        "inside_bid_ask_pct",
    )
    return {
        "evaluated": block["evaluated"],
        "samples": test.get("samples"),
        "snapshots": test.get("snapshots"),
        **{k: _overall(test, k) for k in keys},
        "in_use_mae_vol_pts": _overall(in_use, "mae_vol_pts"),
        "in_use_set_id": block["in_use"]["set_id"],
        "policy_passed": block["policy"]["passed"] if block["policy"] else None,
        "test_last": block["data"]["test_last"],
    }


def execute(
    spec: CalibrationSpec,
    *,
    in_use: Mapping[str, InUse],
    fetch_live: LiveFetch | None = None,
    on_progress: ProgressCallback | None = None,
    is_cancelled: CancelCheck | None = None,
) -> CalibrationOutput:
    """Run ``spec`` to its report. Raises :class:`~backtests.calibration.CalibrationError` (or
    ``SnapshotFrameError``) with a readable message when the data cannot be used, and
    :class:`RunCancelled` when ``is_cancelled`` says stop between two stages."""
    per_currency = 3 if spec.fitted else 2
    total = per_currency * len(spec.currencies)
    done = 0

    def stage(note: str) -> None:
        if is_cancelled is not None and is_cancelled():
            raise RunCancelled
        if on_progress is not None:
            on_progress(done, total, note)

    blocks: dict[str, Json] = {}
    fitted: dict[str, CalibrationParams] = {}
    lines: list[str] = []
    for currency in spec.currencies:
        current = in_use[currency]
        taking = "Taking a live" if spec.source is CalibrationSource.LIVE else "Reading the"
        stage(f"{taking} {currency} snapshots")
        data = _read(spec, currency, fetch_live)
        history = _history(spec, currency, data)
        done += 1
        block: Json = {
            "currency": currency,
            "in_use": current.as_json(),
            "evaluated": "in_use",
            "fitted_parameters": None,
            "fit": None,
            "train": None,
            "test_in_use": None,
            "policy": None,
        }
        evaluated = current.params
        if spec.fitted:
            stage(f"Fitting the {currency} model on {len(data.fit)} snapshots")
            result = fit_params(data.fit, history=history, initial=current.params, currency=currency)
            done += 1
            evaluated = fitted[currency] = result.params
            train = json_safe(result.train_report)
            block.update(
                evaluated="fitted",
                fitted_parameters=result.params.model_dump(mode="json"),
                fit={
                    "n_samples": int(result.n_samples),
                    "iterations": int(result.iterations),
                    "converged": bool(result.converged),
                    "message": str(result.message),
                },
                train=train,
            )
        stage(f"Measuring the {currency} errors on {len(data.test)} snapshots")
        block["test"] = json_safe(calibration_report(data.test, params=evaluated, history=history))
        if spec.fitted:
            block["test_in_use"] = json_safe(
                calibration_report(data.test, params=current.params, history=history)
            )
            train = block["train"] or {}
            block["policy"] = policy_verdict(
                fit_options=int(train.get("samples") or 0),
                fit_snapshots=int(train.get("snapshots") or 0),
                new_error=_overall(block["test"], METRIC),
                in_use_error=_overall(block["test_in_use"], METRIC),
                in_use_label=current.label,
            ).as_json()
        done += 1
        test_times = [pd.Timestamp(f["timestamp"].iloc[0]) for f in data.test]
        block["data"] = {
            "fit_start": _iso(spec.fit_start),
            "fit_end": _iso(spec.fit_end),
            "fit_snapshots": len(data.fit),
            "test_first": _iso(min(test_times)),
            "test_last": _iso(max(test_times)),
            "test_snapshots": len(data.test),
            "first": _iso(data.first),
            "last": _iso(data.last),
            "history": f"the file {spec.history_path}"
            if spec.history_path
            else "the snapshots' index prices",
        }
        block["notes"] = data.notes
        blocks[currency] = json_safe(block)
        fit_text = f"fitted on {len(data.fit)}, " if spec.fitted else ""
        first, last = min(test_times), max(test_times)
        when = f"at {_when(first)}" if first == last else f"{_when(first)} → {_when(last)}"
        plural = "s" if len(data.test) > 1 else ""
        lines.append(f"{currency}: {fit_text}measured on {len(data.test)} snapshot{plural} ({when} UTC)")
    if on_progress is not None:
        on_progress(done, total, "Finished")
    origin = {
        CalibrationSource.LIVE: "a live snapshot from the exchange",
        CalibrationSource.HARVEST: f"the harvester's snapshots in {spec.data_path}",
        CalibrationSource.FILES: f"the snapshot files in {spec.data_path}",
    }[spec.source]
    report = {"source": spec.source.value, "currencies": blocks, "policy_rules": policy_rules()}
    return CalibrationOutput(
        report=report,
        summary={c: _summary(b) for c, b in blocks.items()},
        description=f"Compared with {origin}. " + "; ".join(lines) + ".",
        fitted=fitted,
        done=done,
        total=total,
    )
