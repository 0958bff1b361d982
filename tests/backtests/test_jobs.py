"""Backtest runs as jobs: create → task → succeeded, determinism, cancel, failures, dead workers,
progress events and sweeps (services and the Celery task, on small synthetic markets)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from backtests import runner, services
from backtests.models import BacktestRun
from backtests.services import (
    RunFinishedError,
    backtest_run_cancel,
    backtest_run_create,
    backtest_run_execute,
    backtest_runs_fail_orphaned,
    backtest_runs_fail_stale,
    backtest_sweep_create,
)
from backtests.sources import SourceError
from backtests.spec import SpecError
from backtests.tasks import run_backtest
from optionsbot.models import LiveEvent
from tests.backtests.factories import BacktestRunFactory, spec_body

pytestmark = pytest.mark.django_db

Status = BacktestRun.Status
STEPS = 48  # two days at 1h


def _run(body: dict[str, Any] | None = None) -> BacktestRun:
    run = backtest_run_create(data=body or spec_body())
    backtest_run_execute(run_id=run.pk, worker="celery@test")
    run.refresh_from_db()
    return run


class _Wrapped:
    """A market source that calls ``before(i)`` before yielding step ``i`` (0-based)."""

    def __init__(self, source: Any, before: Any) -> None:
        self.source = source
        self.before = before

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def __iter__(self) -> Iterator[Any]:
        for i, step in enumerate(self.source):
            self.before(i)
            yield step


def test_a_created_run_is_queued_and_its_task_runs_after_commit(
    django_capture_on_commit_callbacks: Any, eager_celery: Any, outbox: None
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = backtest_run_create(data=spec_body())
        assert BacktestRun.objects.get(pk=run.pk).status == Status.QUEUED
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.progress_done == run.progress_total == STEPS
    assert run.progress_fraction == 1.0 and run.eta_seconds is None
    assert run.started_at is not None and run.finished_at is not None and run.started_at <= run.finished_at
    assert run.metrics is not None and run.metrics["period"]["steps"] == STEPS
    assert not run.metrics["period"]["cancelled"]
    assert "BTC" in run.metrics["currencies"]
    assert 2 <= len(run.equity) <= STEPS + 1
    assert run.error == ""
    # The resolved inputs are stored: the full parameters, not only the overrides.
    assert run.parameters["min_ivrv"] == 0.0 and run.parameters["delta_max"] == 0.2
    assert run.seed == 7 and run.initial_balance_coin == {"BTC": 1.0}
    assert run.provenance and run.source_description


def test_same_inputs_and_seed_give_identical_results() -> None:
    first, second = _run(), _run()
    assert first.status == second.status == Status.SUCCEEDED
    assert first.metrics == second.metrics
    assert first.equity == second.equity
    assert first.fills == second.fills and first.round_trips == second.round_trips
    other_seed = _run(spec_body(source={"seed": 8}))
    assert other_seed.equity != first.equity


def test_the_task_is_idempotent(eager_celery: Any) -> None:
    run = backtest_run_create(data=spec_body())
    assert run_backtest.apply(args=[run.pk]).get() == Status.SUCCEEDED
    run.refresh_from_db()
    finished_at = run.finished_at
    assert run_backtest.apply(args=[run.pk]).get() == Status.SUCCEEDED  # a second delivery
    run.refresh_from_db()
    assert run.finished_at == finished_at
    assert run_backtest.apply(args=[10**9]).get() is None  # no such run: nothing to do


def test_a_queued_run_is_cancelled_at_once_and_never_runs(outbox: None) -> None:
    run = backtest_run_create(data=spec_body())
    run = backtest_run_cancel(run=run)
    assert run.status == Status.CANCELLED and run.finished_at is not None
    backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.metrics is None and run.started_at is None
    finished = LiveEvent.objects.filter(topic="backtest.finished").get()
    assert finished.payload["status"] == Status.CANCELLED and finished.payload["error"] is None


def test_cancelling_a_running_run_stops_it_at_the_next_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "PROGRESS_INTERVAL_S", 0.0)
    run = backtest_run_create(data=spec_body())
    real_open = runner.open_source

    def cancel_before(i: int) -> None:
        if i == 5:  # five steps done: the owner presses cancel
            cancelled = backtest_run_cancel(run=BacktestRun.objects.get(pk=run.pk))
            assert cancelled.status == Status.RUNNING and cancelled.cancel_requested

    monkeypatch.setattr(
        runner, "open_source", lambda spec, **kw: _Wrapped(real_open(spec, **kw), cancel_before)
    )
    backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert run.progress_done == 6 and run.progress_total == STEPS  # the step under way finished
    assert run.metrics is not None and run.metrics["period"]["cancelled"] is True
    assert run.metrics["period"]["steps"] == 6
    with pytest.raises(RunFinishedError):
        backtest_run_cancel(run=run)


def test_a_failure_is_stored_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, outbox: None) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the engine broke")

    run = backtest_run_create(data=spec_body())
    monkeypatch.setattr(runner, "run_backtest", broken)
    backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.finished_at is not None
    assert run.error == "The backtest failed: RuntimeError: the engine broke"
    finished = LiveEvent.objects.filter(topic="backtest.finished").get()
    assert finished.payload["error"] == run.error and finished.payload["status"] == Status.FAILED


def test_unreadable_market_data_fails_the_run_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(spec: Any, **_: Any) -> Any:
        raise SourceError("no file or folder at /data/gone", field="data_path")

    run = backtest_run_create(data=spec_body())
    monkeypatch.setattr(runner, "open_source", missing)
    backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error == "The market data could not be read (data_path): no file or folder at /data/gone"


def test_progress_is_published_with_every_status_change(outbox: None) -> None:
    run = _run()
    progress = list(LiveEvent.objects.filter(topic="backtest.progress").values_list("payload", flat=True))
    assert {"id", "status", "done", "total", "fraction", "eta_seconds"} == set(progress[0])
    assert [p["status"] for p in progress[:2]] == [Status.QUEUED, Status.RUNNING]
    assert progress[-1] == {
        "id": run.pk,
        "status": Status.RUNNING,
        "done": STEPS,
        "total": STEPS,
        "fraction": 1.0,
        "eta_seconds": 0.0,
    }
    finished = LiveEvent.objects.filter(topic="backtest.finished").get()
    assert finished.payload == {
        "id": run.pk,
        "status": Status.SUCCEEDED,
        "done": STEPS,
        "total": STEPS,
        "fraction": 1.0,
        "eta_seconds": None,
        "error": None,
    }


def test_progress_is_written_at_most_twice_a_second(outbox: None) -> None:
    run = BacktestRunFactory(status=Status.RUNNING, heartbeat_at=timezone.now())
    ticks = iter([0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 1.2, 1.3])
    progress = services._Progress(run.pk, clock=lambda: next(ticks))
    for done in range(9):
        progress(done, 100, None)
    written = [
        e["done"]
        for e in LiveEvent.objects.filter(topic="backtest.progress").values_list("payload", flat=True)
    ]
    assert written == [0, 4, 7]  # at 0.0 s, 0.6 s and 1.2 s
    run.refresh_from_db()
    assert run.progress_done == 7 and run.eta_seconds == pytest.approx(1.2 / 7 * 93)


def test_a_run_left_running_by_a_dead_worker_is_failed_when_stale(viewer_api: Any) -> None:
    now = timezone.now()
    dead = BacktestRunFactory(
        status=Status.RUNNING, heartbeat_at=now - timedelta(minutes=11), worker="celery@a"
    )
    alive = BacktestRunFactory(
        status=Status.RUNNING, heartbeat_at=now - timedelta(seconds=5), worker="celery@b"
    )
    body = viewer_api.get(f"/api/backtests/{dead.pk}/").json()
    assert body["status"] == Status.FAILED
    assert body["error"].startswith("The worker running this backtest stopped without finishing")
    alive.refresh_from_db()
    assert alive.status == Status.RUNNING
    assert backtest_runs_fail_stale(now=now + timedelta(minutes=11)) == 1
    alive.refresh_from_db()
    assert alive.status == Status.FAILED


def test_a_restarted_worker_fails_the_runs_its_previous_process_left() -> None:
    now = timezone.now()
    mine = BacktestRunFactory(status=Status.RUNNING, heartbeat_at=now, worker="celery@host1")
    other = BacktestRunFactory(status=Status.RUNNING, heartbeat_at=now, worker="celery@host2")
    assert backtest_runs_fail_orphaned(worker="celery@host1") == 1
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.status == Status.FAILED and "restarted" in mine.error
    assert other.status == Status.RUNNING


def test_a_sweep_creates_one_run_per_combination_in_one_group(
    django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    grid = {"delta_max": [0.2, 0.3], "dte_max": [21, 30]}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sweep = backtest_sweep_create(name="delta x dte", base=spec_body(), grid=grid)
    sends = [c for c in callbacks if c.__qualname__.startswith("_dispatch")]
    assert len(sends) == 1  # one Celery group (other callbacks publish live events with Redis)
    runs = list(sweep.runs.order_by("id"))
    assert [(r.parameters["delta_max"], r.parameters["dte_max"]) for r in runs] == [
        (0.2, 21),
        (0.2, 30),
        (0.3, 21),
        (0.3, 30),
    ]
    assert runs[0].name == "delta x dte [delta_max=0.2, dte_max=21]"
    assert all(r.status == Status.SUCCEEDED and r.metrics is not None for r in runs)


def test_a_sweep_refuses_a_bad_combination_and_stores_nothing() -> None:
    with pytest.raises(SpecError) as caught:
        backtest_sweep_create(name="bad", base=spec_body(), grid={"delta_max": [0.2, 0.6]})
    assert list(caught.value.errors) == ["grid"]  # delta_max 0.6 is above the preset's roll_delta
    assert "delta_max=0.6" in caught.value.errors["grid"][0]
    with pytest.raises(SpecError) as caught:
        backtest_sweep_create(name="bad", base=spec_body(), grid={"delta_max": [0.2, 2.0]})
    assert list(caught.value.errors) == ["grid.delta_max"]
    with pytest.raises(SpecError) as caught:
        backtest_sweep_create(
            name="big",
            base=spec_body(),
            grid={"dte_max": list(range(20, 41)), "delta_max": [0.1 + i / 100 for i in range(10)]},
        )
    assert "at most 200" in caught.value.errors["grid"][0]
    assert not BacktestRun.objects.exists()
