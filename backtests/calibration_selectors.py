"""Reads of calibration runs and parameter sets, and the parameters synthetic prices use now."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django_celery_beat.models import PeriodicTask

from backtests.calibration import CalibrationParams
from backtests.calibration_runner import InUse
from backtests.calibration_spec import CalibrationSource, CalibrationSpec
from backtests.jobs import job_run_get, job_run_list
from backtests.models import CalibrationParamSet, CalibrationRun
from backtests.sources.spec import SourceKind, SourceSpec

SCHEDULE_TASK = "backtests.tasks.calibrate_daily"


def calibration_run_list(*, status: str | None = None) -> QuerySet[CalibrationRun]:
    """Runs, newest first, without their full reports."""
    return job_run_list(CalibrationRun, deferred=("report",), status=status)


def calibration_run_get(*, run_id: int) -> CalibrationRun | None:
    return job_run_get(CalibrationRun, run_id=run_id)


def calibration_run_spec(*, run: CalibrationRun) -> CalibrationSpec:
    """The run's inputs as the runner takes them (validated again: stored JSON is not trusted)."""
    return CalibrationSpec(
        name=run.name,
        source=CalibrationSource(run.source),
        data_path=run.data_path or None,
        currencies=tuple(run.currencies),
        history_path=run.history_path or None,
        fit_start=run.fit_start,
        fit_end=run.fit_end,
        test_start=run.test_start,
        test_end=run.test_end,
    )


def calibration_param_sets(
    *, currency: str | None = None, status: str | None = None
) -> QuerySet[CalibrationParamSet]:
    """Parameter sets, newest first."""
    qs = CalibrationParamSet.objects.select_related("decided_by", "source_run")
    if currency:
        qs = qs.filter(currency=currency.upper())
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def calibration_in_use(*, currencies: Iterable[str]) -> dict[str, InUse]:
    """Per currency, the parameter set in use, or the generator's defaults when none is."""
    wanted = [c.upper() for c in currencies]
    rows = {
        r.currency: r
        for r in CalibrationParamSet.objects.filter(
            currency__in=wanted, status=CalibrationParamSet.Status.IN_USE
        )
    }
    out: dict[str, InUse] = {}
    for c in wanted:
        row = rows.get(c)
        if row is None:
            out[c] = InUse(set_id=None, params=CalibrationParams.default(c))
        else:
            out[c] = InUse(set_id=row.pk, params=CalibrationParams.model_validate(row.parameters))
    return out


def calibration_for_backtest(*, source: SourceSpec) -> dict[str, Any]:
    """What a synthetic backtest on ``source`` is priced with, to store on its run:
    ``{currency: {"set_id", "parameters"}}`` for each currency with a set in use (empty: the
    generator's defaults; recorded chains are never re-priced)."""
    if source.kind is not SourceKind.SYNTHETIC:
        return {}
    return {
        c: {"set_id": u.set_id, "parameters": u.params.model_dump(mode="json")}
        for c, u in calibration_in_use(currencies=source.currencies).items()
        if u.set_id is not None
    }


def calibration_schedule() -> dict[str, Any] | None:
    """The daily calibration schedule as the page shows it, or ``None`` when it is not set up."""
    task = PeriodicTask.objects.filter(task=SCHEDULE_TASK).select_related("interval").first()
    if task is None:
        return None
    try:
        kwargs = json.loads(task.kwargs or "{}")
    except ValueError:
        kwargs = {}
    return {
        "id": task.pk,
        "name": task.name,
        "enabled": task.enabled,
        "every_seconds": task.interval.every
        * {"days": 86400, "hours": 3600, "minutes": 60}.get(task.interval.period, 1)
        if task.interval is not None
        else None,
        "last_run_at": task.last_run_at.isoformat() if task.last_run_at else None,
        "fit_days": kwargs.get("fit_days"),
        "test_days": kwargs.get("test_days"),
    }
