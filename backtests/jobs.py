"""The job machinery every background run shares (a backtest, a calibration): its events, its
status transitions, progress writes, cancelling, and failing the runs whose worker died.

A :class:`JobKind` names the model and the words of one kind of run; the services of that kind
(``backtests.services``, ``backtests.calibration_services``) call these helpers with it.

Status moves only along :data:`TRANSITIONS`, each by a compare-and-set update, so a worker, a
cancel and the stale-run check never overwrite each other:

* ``queued`` → ``running`` (a worker claims it), or → ``cancelled`` (cancelled before it started);
* ``running`` → ``succeeded`` | ``failed`` | ``cancelled`` (the worker finishes, fails, or sees
  the cancel flag), or → ``failed`` when its worker died.

A worker that dies mid-run (killed, out of memory, machine lost) leaves its run ``running``. Two
checks end such runs as ``failed``: when a worker starts, runs still marked as running on a worker
of the same name (that worker's previous life) are failed at once (:func:`job_runs_fail_orphaned`);
and any run whose heartbeat is older than :data:`STALE_AFTER` is failed whenever runs are listed or
read (:func:`job_runs_fail_stale`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from backtests.models import JobRun
from optionsbot.live import live_event_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = JobRun.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
    Status.SUCCEEDED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}
RunT = TypeVar("RunT", bound=JobRun)
STALE_AFTER = timedelta(minutes=10)
"""A running run without a heartbeat for this long has lost its worker."""


class JobFinishedError(Exception):
    """The run already has its final status."""

    noun = "run"

    def __init__(self, run: JobRun) -> None:
        self.run = run
        super().__init__(f"{self.noun} {run.pk} is already {run.status}")


@dataclass(frozen=True)
class JobKind:
    """One kind of run: its model, how it is named in messages and event topics, and its own
    progress fields."""

    model: type[JobRun]
    noun: str
    """``backtest``: in errors ("a backtest cannot go …") and event topics (``backtest.progress``)."""
    finished_error: type[JobFinishedError]
    stale_message: str
    """May name ``{minutes}``: how long without a heartbeat."""
    orphan_message: str
    deferred: tuple[str, ...] = ()
    """Large columns the events never need."""
    payload_extra: Callable[[Any], dict[str, Any]] = field(default=lambda run: {})
    """The kind's own progress fields in its events (e.g. an ETA, or what it is doing)."""
    reset: Mapping[str, Any] = field(default_factory=dict)
    """Fields cleared when a run is claimed and when it fails (e.g. ``eta_seconds``)."""

    def runs(self) -> QuerySet[Any]:
        return self.model._default_manager.all()


def user_or_none(user: User | AnonymousUser | None) -> User | None:
    """The signed-in user to record as a run's creator; ``None`` for anonymous."""
    return user if user is not None and not isinstance(user, AnonymousUser) else None


# --- Events ---------------------------------------------------------------------------------------


def job_progress_payload(kind: JobKind, run: JobRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "status": run.status,
        "done": run.progress_done,
        "total": run.progress_total,
        "fraction": run.progress_fraction,
        **kind.payload_extra(run),
    }


def job_publish(kind: JobKind, run_id: int) -> None:
    """Publish ``<noun>.progress``, or ``<noun>.finished`` (with the error) once it finished."""
    run = kind.runs().defer(*kind.deferred).get(pk=run_id)
    if run.is_finished:
        payload = {**job_progress_payload(kind, run), "error": run.error or None}
        live_event_publish(topic=f"{kind.noun}.finished", payload=payload)
    else:
        live_event_publish(topic=f"{kind.noun}.progress", payload=job_progress_payload(kind, run))


# --- Transitions ----------------------------------------------------------------------------------


def job_transition(kind: JobKind, run_id: int, *, from_status: str, to_status: str, **fields: Any) -> bool:
    """Move the run from ``from_status`` to ``to_status`` if it is still there; ``True`` if it moved."""
    if to_status not in TRANSITIONS[from_status]:
        raise ValueError(f"a {kind.noun} cannot go from {from_status} to {to_status}")
    moved = kind.runs().filter(pk=run_id, status=from_status).update(status=to_status, **fields)
    return moved == 1


def job_claim(kind: JobKind, run_id: int, *, worker: str) -> bool:
    """Claim a queued run for ``worker`` (``False``: another delivery claimed it, or it was
    cancelled) and publish that it runs."""
    now = timezone.now()
    claimed = job_transition(
        kind,
        run_id,
        from_status=Status.QUEUED,
        to_status=Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker[:200],
        progress_done=0,
        error="",
        **kind.reset,
    )
    if claimed:
        job_publish(kind, run_id)
    return claimed


def job_progress_write(kind: JobKind, run_id: int, **fields: Any) -> bool:
    """Store a running run's progress with a fresh heartbeat and publish it; ``True`` when the run
    should stop (cancel requested, or no longer running, e.g. failed as stale meanwhile)."""
    moved = kind.runs().filter(pk=run_id, status=Status.RUNNING).update(heartbeat_at=timezone.now(), **fields)
    flag = kind.runs().filter(pk=run_id).values_list("cancel_requested", flat=True).first()
    if moved:
        job_publish(kind, run_id)
    return bool(flag) or not moved


def job_fail(kind: JobKind, run_id: int, message: str) -> None:
    """End a running run as failed with ``message``."""
    if job_transition(
        kind,
        run_id,
        from_status=Status.RUNNING,
        to_status=Status.FAILED,
        error=message,
        finished_at=timezone.now(),
        **kind.reset,
    ):
        job_publish(kind, run_id)


def job_cancel(kind: JobKind, run: JobRun) -> None:
    """Cancel a run: a queued one at once, a running one when its worker next reads the flag.
    Raises ``kind.finished_error`` when it already finished; ``run`` is refreshed."""
    if job_transition(
        kind,
        run.pk,
        from_status=Status.QUEUED,
        to_status=Status.CANCELLED,
        cancel_requested=True,
        finished_at=timezone.now(),
    ):
        job_publish(kind, run.pk)
    elif not kind.runs().filter(pk=run.pk, status=Status.RUNNING).update(cancel_requested=True):
        run.refresh_from_db()
        raise kind.finished_error(run)
    run.refresh_from_db()


# --- Dead workers ---------------------------------------------------------------------------------


def _fail_many(kind: JobKind, ids: list[int], message: str, **still: Any) -> int:
    failed = 0
    for run_id in ids:
        moved = (
            kind.runs()
            .filter(pk=run_id, status=Status.RUNNING, **still)
            .update(status=Status.FAILED, error=message, finished_at=timezone.now(), **kind.reset)
        )
        if moved:
            failed += 1
            job_publish(kind, run_id)
    return failed


def job_runs_fail_stale(kind: JobKind, *, now: datetime | None = None) -> int:
    """Fail the running runs whose heartbeat is older than :data:`STALE_AFTER`; how many."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    stale = kind.runs().filter(status=Status.RUNNING, heartbeat_at__lt=cutoff)
    ids = list(stale.values_list("pk", flat=True))
    message = kind.stale_message.format(minutes=int(STALE_AFTER.total_seconds() // 60))
    return _fail_many(kind, ids, message, heartbeat_at__lt=cutoff)


def job_runs_fail_orphaned(kind: JobKind, *, worker: str) -> int:
    """Fail the runs still marked as running on ``worker`` (called when that worker starts: its
    previous process died with them); how many."""
    if not worker:
        return 0
    ids = list(kind.runs().filter(status=Status.RUNNING, worker=worker).values_list("pk", flat=True))
    return _fail_many(kind, ids, kind.orphan_message, worker=worker)


# --- Reads ----------------------------------------------------------------------------------------


def job_run_list(model: type[RunT], *, deferred: tuple[str, ...], status: str | None) -> QuerySet[RunT]:
    """Runs of ``model``, newest first, without the ``deferred`` columns, with their creator."""
    qs = model._default_manager.defer(*deferred).select_related("created_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def job_run_get(model: type[RunT], *, run_id: int) -> RunT | None:
    """The run ``run_id`` of ``model`` with its creator, or ``None``."""
    return model._default_manager.select_related("created_by").filter(pk=run_id).first()
