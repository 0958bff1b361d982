"""Backtest and calibration tasks, on the ``backtests`` queue (``CELERY_TASK_ROUTES``); each calls
one service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready

from backtests.services import TASK_NAME, backtest_run_execute, backtest_runs_fail_orphaned

logger = logging.getLogger(__name__)


@shared_task(bind=True, name=TASK_NAME, ignore_result=True)
def run_backtest(self: Task, run_id: int) -> str | None:
    """Run the queued backtest ``run_id`` to its final status; a second delivery does nothing."""
    run = backtest_run_execute(run_id=run_id, worker=self.request.hostname or "")
    return run.status if run is not None else None


def _fail_orphans(sender: Any, fail_orphaned: Callable[..., int], noun: str) -> None:
    """Fail the runs (``noun``: "backtest") still marked as running on this worker's name."""
    hostname = getattr(sender, "hostname", "") or ""
    try:
        failed = fail_orphaned(worker=hostname)
    except Exception:  # the worker must start even when the database is briefly unavailable
        logger.exception("could not check for %ss left running by %s", noun, hostname)
        return
    if failed:
        logger.warning("failed %d %s(s) left running by the previous %s", failed, noun, hostname)


@worker_ready.connect
def _fail_runs_of_previous_life(sender: Any = None, **kwargs: Any) -> None:
    """Runs still marked as running on this worker's name died with its previous process."""
    _fail_orphans(sender, backtest_runs_fail_orphaned, "backtest")


# --- Calibration -----------------------------------------------------------------------------------


@shared_task(bind=True, name="backtests.tasks.run_calibration", ignore_result=True)
def run_calibration(self: Task, run_id: int) -> str | None:
    """Run the queued calibration ``run_id`` to its final status; a second delivery does nothing."""
    from backtests.calibration_services import calibration_run_execute

    run = calibration_run_execute(run_id=run_id, worker=self.request.hostname or "")
    return run.status if run is not None else None


@shared_task(bind=True, name="backtests.tasks.calibrate_daily", ignore_result=True)
def calibrate_daily(self: Task, fit_days: int = 7, test_days: int = 1) -> int | None:
    """The daily calibration on the harvester's snapshots (scheduled by the seed; off in the admin
    by disabling its schedule). Returns the run's id, or ``None`` when there was nothing to fit."""
    from django.utils import timezone

    from backtests.calibration_services import calibration_schedule_run

    run = calibration_schedule_run(
        now=timezone.now(), fit_days=fit_days, test_days=test_days, worker=self.request.hostname or ""
    )
    return run.pk if run is not None else None


@worker_ready.connect
def _fail_calibrations_of_previous_life(sender: Any = None, **kwargs: Any) -> None:
    """Calibrations still marked as running on this worker's name died with its previous process."""
    from backtests.calibration_services import calibration_runs_fail_orphaned

    _fail_orphans(sender, calibration_runs_fail_orphaned, "calibration")
