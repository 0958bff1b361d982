"""Writes for backtest jobs: create, execute (the Celery task's body), cancel, sweeps, dead workers.

The job machinery (status transitions by compare-and-set, cancelling, failing runs whose worker
died) is :mod:`backtests.jobs`; this module gives it the backtest's words and columns.

While running, the worker writes progress, a heartbeat and reads the cancel flag at most every
:data:`PROGRESS_INTERVAL_S` seconds, and publishes ``backtest.progress``; the final status is
published as ``backtest.finished``. Any exception ends the run ``failed`` with a readable message.
The task is idempotent: a redelivered message finds its run no longer queued and does nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from backtests import runner
from backtests.calibration_selectors import calibration_for_backtest
from backtests.jobs import (
    JobFinishedError,
    JobKind,
    job_cancel,
    job_claim,
    job_fail,
    job_progress_payload,
    job_progress_write,
    job_publish,
    job_runs_fail_orphaned,
    job_runs_fail_stale,
    job_transition,
    user_or_none,
)
from backtests.models import BacktestRun, BacktestSweep
from backtests.selectors import backtest_run_resolved, registry_strategy_lookup
from backtests.sources import SourceError
from backtests.spec import ResolvedBacktest, SpecError, spec_validate
from backtests.sweeps import sweep_expand

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = BacktestRun.Status
PROGRESS_INTERVAL_S = 0.5
"""Least time between progress writes (and cancel-flag reads) of one run."""
STALE_MESSAGE = (
    "The worker running this backtest stopped without finishing (no progress for {minutes} minutes). "
    "Start it again."
)
ORPHAN_MESSAGE = "The worker running this backtest restarted before it finished. Start it again."
TASK_NAME = "backtests.tasks.run_backtest"


class RunFinishedError(JobFinishedError):
    """The backtest already has its final status."""

    noun = "backtest"


JOB = JobKind(
    model=BacktestRun,
    noun="backtest",
    finished_error=RunFinishedError,
    stale_message=STALE_MESSAGE,
    orphan_message=ORPHAN_MESSAGE,
    deferred=("equity", "round_trips", "fills", "metrics"),
    payload_extra=lambda run: {"eta_seconds": run.eta_seconds},
    reset={"eta_seconds": None},
)


def progress_payload(run: BacktestRun) -> dict[str, Any]:
    return job_progress_payload(JOB, run)


def _publish(run_id: int) -> None:
    job_publish(JOB, run_id)


def _transition(run_id: int, *, from_status: str, to_status: str, **fields: Any) -> bool:
    return job_transition(JOB, run_id, from_status=from_status, to_status=to_status, **fields)


# --- Create ---------------------------------------------------------------------------------------


def _row_fields(spec: ResolvedBacktest) -> dict[str, Any]:
    return {
        "name": spec.name,
        "strategy_name": spec.strategy or "",
        "logic_kind": spec.logic_kind.value,
        "parameters": spec.parameters,
        "underlyings": list(spec.underlyings),
        "option_types": list(spec.option_types),
        "risk_limits": spec.risk_limits,
        "priority": spec.priority,
        "source": spec.source.model_dump(mode="json"),
        "initial_balance_coin": spec.initial_balance_coin,
        "fill": spec.fill.model_dump(mode="json"),
        "risk_free_rate": spec.risk_free_rate,
        "seed": spec.seed,
        # The calibrated synthetic-price parameters in use now: the run keeps them for its reruns.
        "calibration": spec.calibration or calibration_for_backtest(source=spec.source),
    }


def _dispatch(runs: list[BacktestRun]) -> None:
    """Send one task per run (a sweep as one Celery group) once the rows are committed."""
    from celery import group

    from backtests.tasks import run_backtest

    signatures = [run_backtest.si(r.pk).set(task_id=r.celery_task_id) for r in runs]
    if len(signatures) == 1:
        transaction.on_commit(lambda: signatures[0].apply_async())
    elif signatures:
        transaction.on_commit(lambda: group(signatures).apply_async())


def backtest_run_create(*, data: Any, user: User | AnonymousUser | None = None) -> BacktestRun:
    """Validate a spec (raises :class:`~backtests.spec.SpecError`), store the run as queued and
    send its task after commit."""
    spec = spec_validate(data, lookup=registry_strategy_lookup)
    runner.source_check(spec.source)
    with transaction.atomic():
        run = BacktestRun.objects.create(
            **_row_fields(spec), created_by=user_or_none(user), celery_task_id=str(uuid.uuid4())
        )
        _publish(run.pk)
        _dispatch([run])
    return run


def backtest_sweep_create(
    *, name: Any, base: Any, grid: Any, user: User | AnonymousUser | None = None
) -> BacktestSweep:
    """One run per combination of ``grid`` over ``base`` (every one validated first; nothing is
    stored when any fails), dispatched as one Celery group after commit."""
    specs = sweep_expand(name=name, base=base, grid=grid, lookup=registry_strategy_lookup)
    for source in dict.fromkeys(spec.source for spec in specs):
        runner.source_check(source, prefix="base.source")
    with transaction.atomic():
        sweep = BacktestSweep.objects.create(
            name=str(name).strip(), base_spec=base, grid=grid, created_by=user_or_none(user)
        )
        runs = [
            BacktestRun.objects.create(
                **_row_fields(spec),
                sweep=sweep,
                created_by=sweep.created_by,
                celery_task_id=str(uuid.uuid4()),
            )
            for spec in specs
        ]
        _dispatch(runs)
    return sweep


# --- Execute --------------------------------------------------------------------------------------


class _Progress:
    """Progress writes, heartbeat and cancel-flag reads of one running run, throttled."""

    def __init__(self, run_id: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.run_id = run_id
        self.clock = clock
        self.opened_at: float | None = None
        self.last_write = -float("inf")
        self.stop = False

    def __call__(self, done: int, total: int, at: datetime | None) -> None:
        now = self.clock()
        if self.opened_at is None:
            self.opened_at = now
        if done and done < total and now - self.last_write < PROGRESS_INTERVAL_S:
            return
        self.last_write = now
        eta = None
        if 0 < done <= total:
            eta = (now - self.opened_at) / done * (total - done)
        self.stop = job_progress_write(
            JOB, self.run_id, progress_done=done, progress_total=total, eta_seconds=eta
        )

    def cancelled(self) -> bool:
        return self.stop


def _fail(run_id: int, message: str) -> None:
    job_fail(JOB, run_id, message)


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, SourceError):
        field = getattr(exc, "field", None)
        where = f" ({field})" if field else ""
        return f"The market data could not be read{where}: {exc}"
    if isinstance(exc, SpecError):
        return f"The stored inputs are no longer valid: {exc.one_line()}"
    return f"The backtest failed: {type(exc).__name__}: {exc}"


def backtest_run_execute(*, run_id: int, worker: str = "") -> BacktestRun | None:
    """Run a queued backtest to its final status (the Celery task's body); idempotent.

    Returns the run, or ``None`` when there is no such run. A run that is not queued (already
    claimed by another delivery of the task, or cancelled) is returned untouched.
    """
    if not job_claim(JOB, run_id, worker=worker):
        return BacktestRun.objects.filter(pk=run_id).first()
    progress = _Progress(run_id)
    try:
        run = BacktestRun.objects.get(pk=run_id)
        out = runner.execute(
            backtest_run_resolved(run=run), on_progress=progress, is_cancelled=progress.cancelled
        )
    except Exception as exc:
        logger.exception("backtest %s failed", run_id)
        _fail(run_id, _failure_message(exc))
        return BacktestRun.objects.filter(pk=run_id).first()
    try:
        final = Status.CANCELLED if out.cancelled else Status.SUCCEEDED
        stored = _transition(
            run_id,
            from_status=Status.RUNNING,
            to_status=final,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            progress_done=out.done_steps,
            progress_total=out.total_steps,
            eta_seconds=None,
            source_description=out.source_description,
            provenance=out.provenance[:120],
            metrics=out.metrics,
            equity=out.equity,
            round_trips=out.round_trips,
            fills=out.fills,
            decisions=out.decisions,
        )
    except Exception as exc:  # e.g. results the database refuses; the run must not stay running
        logger.exception("backtest %s: storing the results failed", run_id)
        _fail(run_id, f"The results could not be stored: {type(exc).__name__}: {exc}")
        return BacktestRun.objects.filter(pk=run_id).first()
    if stored:
        _publish(run_id)
    return BacktestRun.objects.filter(pk=run_id).first()


# --- Cancel ---------------------------------------------------------------------------------------


def backtest_run_cancel(*, run: BacktestRun) -> BacktestRun:
    """Cancel a run: a queued one at once, a running one when its worker next checks (within about
    :data:`PROGRESS_INTERVAL_S`). Raises :class:`RunFinishedError` when it already finished."""
    job_cancel(JOB, run)
    return run


# --- Dead workers ---------------------------------------------------------------------------------


def backtest_runs_fail_stale(*, now: datetime | None = None) -> int:
    """Fail the running runs whose heartbeat is older than :data:`backtests.jobs.STALE_AFTER`; how many."""
    return job_runs_fail_stale(JOB, now=now)


def backtest_runs_fail_orphaned(*, worker: str) -> int:
    """Fail the runs still marked as running on ``worker`` (called when that worker starts: its
    previous process died with them); how many."""
    return job_runs_fail_orphaned(JOB, worker=worker)
