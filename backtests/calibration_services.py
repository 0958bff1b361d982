"""Writes for calibration runs: create, execute (the Celery task's body), cancel, the daily schedule
and dead workers.

A run is a job like a backtest (:mod:`backtests.jobs`: compare-and-set transitions, cancelling,
failing runs whose worker died). While running, the worker writes its stage (``progress_note``), reads the
cancel flag between stages and publishes ``calibration.progress``; the final status is published as
``calibration.finished``. A heartbeat thread keeps ``heartbeat_at`` fresh during long fits, so a run
without a heartbeat for :data:`backtests.jobs.STALE_AFTER` has lost its worker and is failed when
runs are read.

When a fitted run succeeds, its parameters are proposed (and put in use when the policy holds) in
the same transaction (:mod:`backtests.calibration_param_sets`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from backtests import calibration_runner
from backtests.calibration import CalibrationError
from backtests.calibration_param_sets import calibration_params_propose
from backtests.calibration_runner import LiveFetch, RunCancelled
from backtests.calibration_selectors import calibration_in_use
from backtests.calibration_spec import CalibrationSpec, calibration_spec_validate, day_windows
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
from backtests.models import CalibrationRun
from trading.exchange.client import DeribitClient
from trading.exchange.errors import ExchangeError
from trading.marketdata.fetch import ChainSnapshot, chain_snapshot_fetch
from trading.marketdata.frame import SnapshotFrameError
from trading.marketdata.harvester import run_sync
from trading.marketdata.services import harvest_dir
from trading.marketdata.store import snapshot_files
from trading.services.exchange import exchange_client_config

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = CalibrationRun.Status
TASK_NAME = "backtests.tasks.run_calibration"
HEARTBEAT_EVERY_S = 30.0
STALE_MESSAGE = "The worker running this calibration stopped without finishing. Start it again."
ORPHAN_MESSAGE = "The worker running this calibration restarted before it finished. Start it again."


class CalibrationFinishedError(JobFinishedError):
    """The calibration already has its final status."""

    noun = "calibration"


JOB = JobKind(
    model=CalibrationRun,
    noun="calibration",
    finished_error=CalibrationFinishedError,
    stale_message=STALE_MESSAGE,
    orphan_message=ORPHAN_MESSAGE,
    deferred=("report",),
    payload_extra=lambda run: {"note": run.progress_note},
)


def progress_payload(run: CalibrationRun) -> dict[str, Any]:
    return job_progress_payload(JOB, run)


def _publish(run_id: int) -> None:
    job_publish(JOB, run_id)


def _transition(run_id: int, *, from_status: str, to_status: str, **fields: Any) -> bool:
    return job_transition(JOB, run_id, from_status=from_status, to_status=to_status, **fields)


# --- Create ---------------------------------------------------------------------------------------


def _row_fields(spec: CalibrationSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "source": spec.source.value,
        "data_path": spec.data_path or "",
        "currencies": list(spec.currencies),
        "history_path": spec.history_path or "",
        "fit_start": spec.fit_start,
        "fit_end": spec.fit_end,
        "test_start": spec.test_start,
        "test_end": spec.test_end,
    }


def calibration_run_create(
    *,
    data: Any,
    user: User | AnonymousUser | None = None,
    trigger: str = CalibrationRun.Trigger.MANUAL,
    dispatch: bool = True,
) -> CalibrationRun:
    """Validate a request (raises :class:`~backtests.spec.SpecError`), store the run as queued and,
    with ``dispatch``, send its task on the ``backtests`` queue after commit."""
    spec = calibration_spec_validate(data, harvest_root=harvest_dir())
    with transaction.atomic():
        run = CalibrationRun.objects.create(
            **_row_fields(spec),
            trigger=trigger,
            created_by=user_or_none(user),
            celery_task_id=str(uuid.uuid4()),
        )
        _publish(run.pk)
        if dispatch:
            from backtests.tasks import run_calibration

            signature = run_calibration.si(run.pk).set(task_id=run.celery_task_id)
            transaction.on_commit(lambda: signature.apply_async())
    return run


# --- Execute --------------------------------------------------------------------------------------


class _Progress:
    """Stage writes and cancel-flag reads of one running run."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.stop = False

    def __call__(self, done: int, total: int, note: str) -> None:
        self.stop = job_progress_write(
            JOB, self.run_id, progress_done=done, progress_total=total, progress_note=note[:200]
        )

    def cancelled(self) -> bool:
        return self.stop


class _Heartbeat:
    """Touches the run's heartbeat every :data:`HEARTBEAT_EVERY_S` while a long stage runs."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"calibration-{run_id}-heartbeat", daemon=True
        )

    def _beat(self) -> None:
        try:
            while not self._stop.wait(HEARTBEAT_EVERY_S):
                CalibrationRun.objects.filter(pk=self.run_id, status=Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:  # a missed heartbeat must never break the run
            logger.exception("calibration %s: heartbeat failed", self.run_id)
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _fail(run_id: int, message: str) -> None:
    job_fail(JOB, run_id, message)


def failure_message(exc: Exception) -> str:
    """A failed calibration's error in words (also the command's one-line error)."""
    if isinstance(exc, CalibrationError):
        return f"The data could not be used: {exc}"
    if isinstance(exc, SnapshotFrameError):
        return f"The snapshot files could not be read: {exc}"
    if isinstance(exc, ExchangeError):
        return f"The exchange did not give a snapshot: {exc}"
    if isinstance(exc, OSError):
        return f"The data could not be read: {exc}"
    return f"The calibration failed: {type(exc).__name__}: {exc}"


def calibration_live_fetch(currency: str) -> ChainSnapshot:
    """One snapshot of ``currency``'s chain now, from the public endpoints of the exchange the
    settings name (the simulated exchange in ``TRADING_MODE=sim``)."""

    async def fetch() -> ChainSnapshot:
        async with DeribitClient(exchange_client_config(authenticated=False)) as client:
            return await chain_snapshot_fetch(
                client=client,
                currency=currency,
                now=datetime.now(UTC),
                max_age_s=float(settings.MARKET_SNAPSHOT_MAX_AGE_SECONDS),
                min_instruments=settings.MARKET_SNAPSHOT_MIN_INSTRUMENTS,
            )

    return run_sync(fetch())


def calibration_run_execute(
    *, run_id: int, worker: str = "", fetch_live: LiveFetch | None = None
) -> CalibrationRun | None:
    """Run a queued calibration to its final status (the Celery task's body); idempotent. A run
    that is not queued (another delivery claimed it, or it was cancelled) is returned untouched."""
    from backtests.calibration_selectors import calibration_run_spec

    if not job_claim(JOB, run_id, worker=worker):
        return CalibrationRun.objects.filter(pk=run_id).first()
    progress = _Progress(run_id)
    try:
        spec = calibration_run_spec(run=CalibrationRun.objects.get(pk=run_id))
        in_use = calibration_in_use(currencies=spec.currencies)
        with _Heartbeat(run_id):
            out = calibration_runner.execute(
                spec,
                in_use=in_use,
                fetch_live=fetch_live or calibration_live_fetch,
                on_progress=progress,
                is_cancelled=progress.cancelled,
            )
    except RunCancelled:
        if _transition(
            run_id, from_status=Status.RUNNING, to_status=Status.CANCELLED, finished_at=timezone.now()
        ):
            _publish(run_id)
        return CalibrationRun.objects.filter(pk=run_id).first()
    except Exception as exc:
        logger.exception("calibration %s failed", run_id)
        _fail(run_id, failure_message(exc))
        return CalibrationRun.objects.filter(pk=run_id).first()
    try:
        with transaction.atomic():
            stored = _transition(
                run_id,
                from_status=Status.RUNNING,
                to_status=Status.SUCCEEDED,
                finished_at=timezone.now(),
                heartbeat_at=timezone.now(),
                progress_done=out.done,
                progress_total=out.total,
                progress_note="",
                source_description=out.description,
                report=out.report,
                summary=out.summary,
            )
            if stored:
                calibration_params_propose(run_id=run_id, out=out)
                _publish(run_id)
    except Exception as exc:  # the run must not stay running
        logger.exception("calibration %s: storing the results failed", run_id)
        _fail(run_id, f"The results could not be stored: {type(exc).__name__}: {exc}")
    return CalibrationRun.objects.filter(pk=run_id).first()


# --- Cancel, the schedule, dead workers -------------------------------------------------------------


def calibration_run_cancel(*, run: CalibrationRun) -> CalibrationRun:
    """Cancel a run: a queued one at once, a running one after its current stage. Raises
    :class:`CalibrationFinishedError` when it already finished."""
    job_cancel(JOB, run)
    return run


def calibration_schedule_run(
    *, now: datetime, fit_days: int = 7, test_days: int = 1, worker: str = ""
) -> CalibrationRun | None:
    """The daily calibration on the harvester's snapshots: fit on the ``fit_days`` before the last
    ``test_days`` whole UTC days, test on those. Runs here and now; ``None`` (nothing done) when
    the harvester recorded nothing in either window. Idempotent per test window."""
    windows = day_windows(today=now, fit_days=fit_days, test_days=test_days)
    root = harvest_dir()
    last = timedelta(microseconds=1)
    currencies = [
        c
        for c in settings.HARVEST_CURRENCIES
        if snapshot_files(root, c, windows["fit_start"], windows["fit_end"] - last)
        and snapshot_files(root, c, windows["test_start"], windows["test_end"] - last)
    ]
    if not currencies:
        logger.info("daily calibration skipped: no harvested snapshots in %s for both windows", root)
        return None
    run = CalibrationRun.objects.filter(
        trigger=CalibrationRun.Trigger.SCHEDULE,
        test_start=windows["test_start"],
        test_end=windows["test_end"],
    ).first()
    if run is None:
        day = f"{windows['test_start']:%Y-%m-%d}"
        data = {"name": f"Daily, tested on {day}", "source": "harvest", "currencies": currencies, **windows}
        run = calibration_run_create(data=data, trigger=CalibrationRun.Trigger.SCHEDULE, dispatch=False)
    if run.status == Status.QUEUED:
        return calibration_run_execute(run_id=run.pk, worker=worker)
    return run


def calibration_runs_fail_stale(*, now: datetime | None = None) -> int:
    """Fail the running runs whose heartbeat is older than :data:`backtests.jobs.STALE_AFTER`; how many."""
    return job_runs_fail_stale(JOB, now=now)


def calibration_runs_fail_orphaned(*, worker: str) -> int:
    """Fail the runs still marked as running on ``worker`` (called when that worker starts)."""
    return job_runs_fail_orphaned(JOB, worker=worker)
