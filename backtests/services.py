"""Writes for backtest jobs: create, execute (the Celery task's body), cancel, sweeps, dead workers.

Status moves only along :data:`TRANSITIONS`, each by a compare-and-set update, so a worker, a
cancel and the stale-run check never overwrite each other:

* ``queued`` → ``running`` (a worker claims it), or → ``cancelled`` (cancelled before it started);
* ``running`` → ``succeeded`` | ``failed`` | ``cancelled`` (the worker finishes, fails, or sees
  the cancel flag), or → ``failed`` when its worker died (below).

While running, the worker writes progress, a heartbeat and reads the cancel flag at most every
:data:`PROGRESS_INTERVAL_S` seconds, and publishes ``backtest.progress``; the final status is
published as ``backtest.finished``. Any exception ends the run ``failed`` with a readable message.

A worker that dies mid-run (killed, out of memory, machine lost) leaves its run ``running``. Two
checks end such runs as ``failed``: when a worker starts, runs still marked as running on a worker
of the same name (that worker's previous life) are failed at once; and any run whose heartbeat is
older than :data:`STALE_AFTER` is failed whenever runs are listed or read
(:func:`backtest_runs_fail_stale`). The task is idempotent: a redelivered message finds its run no
longer queued and does nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from backtests import runner
from backtests.calibration_selectors import calibration_for_backtest
from backtests.models import BacktestRun, BacktestSweep
from backtests.selectors import backtest_run_resolved, registry_strategy_lookup
from backtests.sources import SourceError
from backtests.spec import ResolvedBacktest, SpecError, spec_validate
from backtests.sweeps import sweep_expand
from optionsbot.live import live_event_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = BacktestRun.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
    Status.SUCCEEDED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}
PROGRESS_INTERVAL_S = 0.5
"""Least time between progress writes (and cancel-flag reads) of one run."""
STALE_AFTER = timedelta(minutes=10)
"""A running run without a heartbeat for this long has lost its worker."""
STALE_MESSAGE = (
    "The worker running this backtest stopped without finishing (no progress for {minutes} minutes). "
    "Start it again."
)
ORPHAN_MESSAGE = "The worker running this backtest restarted before it finished. Start it again."
TASK_NAME = "backtests.tasks.run_backtest"


class RunFinishedError(Exception):
    """The run already has its final status."""

    def __init__(self, run: BacktestRun) -> None:
        self.run = run
        super().__init__(f"backtest {run.pk} is already {run.status}")


# --- Events ---------------------------------------------------------------------------------------


def progress_payload(run: BacktestRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "status": run.status,
        "done": run.progress_done,
        "total": run.progress_total,
        "fraction": run.progress_fraction,
        "eta_seconds": run.eta_seconds,
    }


def _publish(run_id: int) -> None:
    run = BacktestRun.objects.defer("equity", "round_trips", "fills", "metrics").get(pk=run_id)
    if run.is_finished:
        payload = {**progress_payload(run), "error": run.error or None}
        live_event_publish(topic="backtest.finished", payload=payload)
    else:
        live_event_publish(topic="backtest.progress", payload=progress_payload(run))


def _transition(run_id: int, *, from_status: str, to_status: str, **fields: Any) -> bool:
    """Move the run from ``from_status`` to ``to_status`` if it is still there; ``True`` if it moved."""
    if to_status not in TRANSITIONS[from_status]:
        raise ValueError(f"a backtest cannot go from {from_status} to {to_status}")
    moved = BacktestRun.objects.filter(pk=run_id, status=from_status).update(status=to_status, **fields)
    return moved == 1


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


def _user(user: User | AnonymousUser | None) -> User | None:
    return user if user is not None and not isinstance(user, AnonymousUser) else None


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
            **_row_fields(spec), created_by=_user(user), celery_task_id=str(uuid.uuid4())
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
            name=str(name).strip(), base_spec=base, grid=grid, created_by=_user(user)
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
        moved = BacktestRun.objects.filter(pk=self.run_id, status=Status.RUNNING).update(
            progress_done=done, progress_total=total, eta_seconds=eta, heartbeat_at=timezone.now()
        )
        flag = BacktestRun.objects.filter(pk=self.run_id).values_list("cancel_requested", flat=True).first()
        # Stop when cancelled, or when the run is no longer ours (e.g. failed as stale meanwhile).
        self.stop = bool(flag) or not moved
        if moved:
            _publish(self.run_id)

    def cancelled(self) -> bool:
        return self.stop


def _fail(run_id: int, message: str) -> None:
    if _transition(
        run_id,
        from_status=Status.RUNNING,
        to_status=Status.FAILED,
        error=message,
        eta_seconds=None,
        finished_at=timezone.now(),
    ):
        _publish(run_id)


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
    now = timezone.now()
    claimed = _transition(
        run_id,
        from_status=Status.QUEUED,
        to_status=Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker[:200],
        progress_done=0,
        eta_seconds=None,
        error="",
    )
    if not claimed:
        return BacktestRun.objects.filter(pk=run_id).first()
    _publish(run_id)
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
    if _transition(
        run.pk,
        from_status=Status.QUEUED,
        to_status=Status.CANCELLED,
        cancel_requested=True,
        finished_at=timezone.now(),
    ):
        _publish(run.pk)
    elif not BacktestRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(cancel_requested=True):
        run.refresh_from_db()
        raise RunFinishedError(run)
    run.refresh_from_db()
    return run


# --- Dead workers ---------------------------------------------------------------------------------


def _fail_many(ids: list[int], message: str, **still: Any) -> int:
    failed = 0
    for run_id in ids:
        moved = BacktestRun.objects.filter(pk=run_id, status=Status.RUNNING, **still).update(
            status=Status.FAILED, error=message, eta_seconds=None, finished_at=timezone.now()
        )
        if moved:
            failed += 1
            _publish(run_id)
    return failed


def backtest_runs_fail_stale(*, now: datetime | None = None) -> int:
    """Fail the running runs whose heartbeat is older than :data:`STALE_AFTER`; how many."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    stale = BacktestRun.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff)
    ids = list(stale.values_list("pk", flat=True))
    message = STALE_MESSAGE.format(minutes=int(STALE_AFTER.total_seconds() // 60))
    return _fail_many(ids, message, heartbeat_at__lt=cutoff)


def backtest_runs_fail_orphaned(*, worker: str) -> int:
    """Fail the runs still marked as running on ``worker`` (called when that worker starts: its
    previous process died with them); how many."""
    if not worker:
        return 0
    ids = list(BacktestRun.objects.filter(status=Status.RUNNING, worker=worker).values_list("pk", flat=True))
    return _fail_many(ids, ORPHAN_MESSAGE, worker=worker)
