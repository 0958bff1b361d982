"""Calibration runs as jobs: create → task → report stored; the policy puts fitted parameters in use
only when both of its conditions hold; an operator's approval; a backtest afterwards is priced with
the parameters in use and records which; the daily schedule; cancel, failures and dead workers.

The market is a small hand-made one (``calibration_data``): 28 hourly BTC snapshots priced with a
higher DVOL scale and a steeper skew than the generator's defaults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.utils import timezone

from backtests import calibration_policy, calibration_runner, calibration_services
from backtests.calibration import CalibrationParams
from backtests.calibration_param_sets import AlreadyInUseError, calibration_params_approve
from backtests.calibration_policy import policy_verdict
from backtests.calibration_selectors import calibration_in_use
from backtests.calibration_services import (
    CalibrationFinishedError,
    calibration_run_cancel,
    calibration_run_create,
    calibration_run_execute,
    calibration_runs_fail_orphaned,
    calibration_runs_fail_stale,
    calibration_schedule_run,
)
from backtests.models import BacktestRun, CalibrationParamSet, CalibrationRun
from backtests.selectors import backtest_run_resolved
from backtests.services import backtest_run_create, backtest_run_execute
from backtests.spec import SpecError
from backtests.tasks import calibrate_daily, run_calibration
from optionsbot.models import LiveEvent
from tests.backtests.calibration_data import write_market
from tests.backtests.factories import CalibrationParamSetFactory, CalibrationRunFactory, spec_body

pytestmark = pytest.mark.django_db

Status = CalibrationRun.Status
SetStatus = CalibrationParamSet.Status
FIT = {"fit_start": "2026-01-05T09:00:00Z", "fit_end": "2026-01-06T07:00:00Z"}  # 22 snapshots
TEST = {"test_start": "2026-01-06T07:00:00Z", "test_end": "2026-01-06T13:00:00Z"}  # 6 snapshots
SHORT_FIT = {"fit_start": "2026-01-06T01:00:00Z", "fit_end": "2026-01-06T07:00:00Z"}  # 6 snapshots


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_market(tmp_path_factory.mktemp("market"))


@pytest.fixture
def run_with(market: Path) -> Callable[..., CalibrationRun]:
    def run(**fields: Any) -> CalibrationRun:
        created = calibration_run_create(data={"source": "files", "data_path": str(market), **fields})
        calibration_run_execute(run_id=created.pk, worker="celery@test")
        created.refresh_from_db()
        return created

    return run


def test_a_created_run_is_queued_then_its_task_stores_the_report(
    market: Path, django_capture_on_commit_callbacks: Any, eager_celery: Any, outbox: None
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = calibration_run_create(data={"source": "files", "data_path": str(market), "name": "all"})
        assert CalibrationRun.objects.get(pk=run.pk).status == Status.QUEUED
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.progress_done == run.progress_total == 2 and run.progress_fraction == 1.0
    block = run.report["currencies"]["BTC"]
    assert block["evaluated"] == "in_use" and block["in_use"] == {
        "set_id": None,
        "label": "the generator's defaults",
        "parameters": CalibrationParams.default("BTC").model_dump(mode="json"),
    }
    test = block["test"]
    assert test["snapshots"] == 28 and test["samples"] > 3000
    # The defaults price this market's IVs too low: the errors say so.
    assert test["overall"]["mae_vol_pts"] > 5 and test["overall"]["bias_vol_pts"] < -5
    assert [b["band"] for b in test["by_dte"]][:2] == ["0-2d", "2-7d"]
    assert test["smiles"] and test["smiles"][0]["points"][0]["model_iv"] > 0
    assert block["fit"] is None and block["policy"] is None and block["test_in_use"] is None
    assert run.summary["BTC"]["mae_vol_pts"] == test["overall"]["mae_vol_pts"]
    assert run.summary["BTC"]["in_use_mae_vol_pts"] == test["overall"]["mae_vol_pts"]
    assert "measured on 28 snapshots" in run.source_description
    assert not CalibrationParamSet.objects.exists()  # nothing fitted, nothing proposed
    notes = [
        e["note"]
        for e in LiveEvent.objects.filter(topic="calibration.progress").values_list("payload", flat=True)
    ]
    assert "Reading the BTC snapshots" in notes and "Measuring the BTC errors on 28 snapshots" in notes
    finished = LiveEvent.objects.get(topic="calibration.finished").payload
    assert finished["status"] == Status.SUCCEEDED and finished["error"] is None
    assert run_calibration.apply(args=[run.pk]).get() == Status.SUCCEEDED  # a second delivery: nothing
    assert CalibrationRun.objects.get(pk=run.pk).finished_at == run.finished_at


def test_a_fit_on_enough_prices_that_beats_the_defaults_is_put_in_use(
    run_with: Callable[..., CalibrationRun], outbox: None
) -> None:
    run = run_with(**FIT, **TEST)
    assert run.status == Status.SUCCEEDED, run.error
    block = run.report["currencies"]["BTC"]
    assert block["evaluated"] == "fitted" and block["fit"]["converged"]
    assert block["fitted_parameters"]["dvol_scale"] == pytest.approx(1.2, abs=0.01)  # the market's
    assert block["train"]["snapshots"] == 22 and block["train"]["samples"] >= 2000
    new, old = block["test"]["overall"]["mae_vol_pts"], block["test_in_use"]["overall"]["mae_vol_pts"]
    assert new < 1.0 < 5.0 < old
    assert block["policy"]["passed"] is True
    assert [c["passed"] for c in block["policy"]["checks"]] == [True, True]
    (param_set,) = CalibrationParamSet.objects.all()
    assert param_set.status == SetStatus.IN_USE and param_set.source_run_id == run.pk
    assert param_set.decision == CalibrationParamSet.Decision.POLICY and param_set.decided_by is None
    assert param_set.reason.startswith(f"Put in use by the policy after calibration #{run.pk}.")
    assert calibration_in_use(currencies=["BTC"])["BTC"].set_id == param_set.pk
    assert LiveEvent.objects.filter(topic="calibration.params").exists()
    # The next run measures the set in use, and says so.
    again = run_with(**TEST)
    assert again.report["currencies"]["BTC"]["in_use"]["set_id"] == param_set.pk
    assert again.summary["BTC"]["mae_vol_pts"] == pytest.approx(new)


def test_a_fit_on_too_few_prices_stays_proposed_even_when_better(
    run_with: Callable[..., CalibrationRun],
) -> None:
    run = run_with(**SHORT_FIT, **TEST)
    policy = run.report["currencies"]["BTC"]["policy"]
    assert policy["passed"] is False
    assert [c["passed"] for c in policy["checks"]] == [False, True]  # too few snapshots, but better
    assert "6 snapshots" in policy["checks"][0]["text"]
    (param_set,) = CalibrationParamSet.objects.all()
    assert param_set.status == SetStatus.PROPOSED and param_set.reason == policy["summary"]
    assert calibration_in_use(currencies=["BTC"])["BTC"].set_id is None


def test_a_fit_that_does_not_beat_the_parameters_in_use_stays_proposed(
    run_with: Callable[..., CalibrationRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fit = calibration_runner.fit_params

    def worse(frames: Any, **kwargs: Any) -> Any:
        result = real_fit(frames, **kwargs)
        bad = result.params.model_copy(update={"dvol_scale": 0.6})
        return type(result)(**{**result.__dict__, "params": bad})

    monkeypatch.setattr(calibration_runner, "fit_params", worse)
    run = run_with(**FIT, **TEST)
    policy = run.report["currencies"]["BTC"]["policy"]
    assert [c["passed"] for c in policy["checks"]] == [True, False] and not policy["passed"]
    assert "worse" in policy["checks"][1]["text"]
    assert CalibrationParamSet.objects.get().status == SetStatus.PROPOSED


def test_the_policy_needs_both_conditions() -> None:
    def verdict(options: int, snapshots: int, new: float | None, old: float | None) -> bool:
        return policy_verdict(
            fit_options=options, fit_snapshots=snapshots, new_error=new, in_use_error=old, in_use_label="x"
        ).passed

    assert verdict(2000, 20, 1.0, 2.0)
    assert not verdict(1999, 20, 1.0, 2.0) and not verdict(5000, 19, 1.0, 2.0)
    assert not verdict(5000, 50, 2.0, 2.0) and not verdict(5000, 50, 2.5, 2.0)
    assert not verdict(5000, 50, None, 2.0)
    assert calibration_policy.MIN_OPTIONS == 2000 and calibration_policy.MIN_SNAPSHOTS == 20


def test_an_operator_approves_a_proposal_and_the_next_backtest_is_priced_with_it(operator: Any) -> None:
    older = CalibrationParamSetFactory()
    before = backtest_run_create(data=spec_body())
    assert before.calibration == {}  # nothing in use: the generator's defaults
    proposal = CalibrationParamSetFactory(
        parameters={**older.parameters, "skew_short": -0.35, "skew_long": -0.3}
    )
    approved = calibration_params_approve(param_set=proposal, user=operator)
    assert approved.status == SetStatus.IN_USE and approved.decided_by == operator
    assert approved.decision == CalibrationParamSet.Decision.OPERATOR
    assert approved.reason.startswith("Approved by otto_operator on ")
    older.refresh_from_db()
    assert older.status == SetStatus.RETIRED and older.retired_note == f"Superseded by set #{proposal.pk}."
    with pytest.raises(AlreadyInUseError):
        calibration_params_approve(param_set=proposal, user=operator)

    after = backtest_run_create(data=spec_body())
    assert after.calibration == {"BTC": {"set_id": proposal.pk, "parameters": proposal.parameters}}
    for run in (before, after):
        backtest_run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == BacktestRun.Status.SUCCEEDED, run.error
    assert f"calibrated parameters in use (BTC set #{proposal.pk})" in after.source_description
    assert "generator's default parameters" in before.source_description
    # A steeper skew prices the same calls differently.
    assert [f["price_coin"] for f in after.fills] != [f["price_coin"] for f in before.fills]

    # Going back to the older set retires this one; the stored run still reruns as it ran.
    calibration_params_approve(param_set=older, user=operator)
    proposal.refresh_from_db()
    assert proposal.status == SetStatus.RETIRED and proposal.retired_note == f"Replaced by set #{older.pk}."
    assert backtest_run_resolved(run=after).calibration["BTC"]["set_id"] == proposal.pk


def test_the_policy_does_not_replace_parameters_that_changed_during_the_run(
    run_with: Callable[..., CalibrationRun], monkeypatch: pytest.MonkeyPatch, operator: Any
) -> None:
    real_fit = calibration_runner.fit_params

    def approve_meanwhile(frames: Any, **kwargs: Any) -> Any:
        calibration_params_approve(param_set=CalibrationParamSetFactory(), user=operator)
        return real_fit(frames, **kwargs)

    monkeypatch.setattr(calibration_runner, "fit_params", approve_meanwhile)
    run = run_with(**FIT, **TEST)
    assert run.report["currencies"]["BTC"]["policy"]["passed"] is True
    fitted = CalibrationParamSet.objects.get(source_run=run)
    assert fitted.status == SetStatus.PROPOSED
    assert "changed while calibration" in fitted.reason


def test_the_daily_schedule_fits_the_harvested_days_once(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.HARVEST_CURRENCIES = ["BTC"]
    now = pd.Timestamp("2026-01-07T00:30:00Z").to_pydatetime()
    assert calibration_schedule_run(now=now) is None  # nothing harvested: nothing to do
    write_market(tmp_path / "harvest")
    run = calibration_schedule_run(now=now, fit_days=7, test_days=1)
    assert run is not None and run.status == Status.SUCCEEDED, run and run.error
    assert run.trigger == CalibrationRun.Trigger.SCHEDULE and run.name == "Daily, tested on 2026-01-06"
    assert run.data_path == str(tmp_path / "harvest")
    assert (run.fit_start, run.fit_end, run.test_end) == (
        pd.Timestamp("2025-12-30T00:00Z"),
        pd.Timestamp("2026-01-06T00:00Z"),
        pd.Timestamp("2026-01-07T00:00Z"),
    )
    data = run.report["currencies"]["BTC"]["data"]
    assert (data["fit_snapshots"], data["test_snapshots"]) == (15, 13)
    assert calibration_schedule_run(now=now) == run  # idempotent per test day
    assert CalibrationRun.objects.count() == 1


def test_the_daily_task_is_on_the_backtests_queue_and_does_nothing_without_data(
    settings: Any, tmp_path: Path
) -> None:
    from optionsbot.celery import app

    settings.DATA_DIR = tmp_path
    assert app.amqp.router.route({}, "backtests.tasks.calibrate_daily")["queue"].name == "backtests"
    assert app.amqp.router.route({}, "backtests.tasks.run_calibration")["queue"].name == "backtests"
    assert calibrate_daily.apply(kwargs={"fit_days": 7, "test_days": 1}).get() is None


def test_a_run_without_data_in_a_window_fails_with_a_readable_message(
    run_with: Callable[..., CalibrationRun], outbox: None
) -> None:
    run = run_with(fit_start="2025-06-01", fit_end="2025-06-02", **TEST)
    assert run.status == Status.FAILED and run.finished_at is not None
    assert run.error.startswith(
        "The data could not be used: No BTC snapshots in the fit window 2025-06-01 00:00"
    )
    assert "the data holds 2026-01-05 09:00 → 2026-01-06 12:00 UTC" in run.error
    assert LiveEvent.objects.get(topic="calibration.finished").payload["error"] == run.error


def test_bad_requests_are_refused_per_field(market: Path) -> None:
    cases = [
        ({"source": "files"}, "data_path"),
        ({"source": "files", "data_path": "/no/such/folder"}, "data_path"),
        ({"source": "live", **FIT}, "fit_start"),
        ({"source": "files", "data_path": str(market), "fit_start": "2026-01-05"}, "fit_end"),
        (
            {
                "source": "files",
                "data_path": str(market),
                **FIT,
                "test_start": "2026-01-06",
                "test_end": "2026-01-07",
            },
            "test_start",
        ),
        ({"source": "harvest", "currencies": ["SOL"]}, "currencies"),
        ({"source": "files", "data_path": str(market), "history_path": "/no/file.csv"}, "history_path"),
        ({"source": "files", "data_path": str(market), "colour": "red"}, "colour"),
    ]
    for data, field in cases:
        with pytest.raises(SpecError) as caught:
            calibration_run_create(data=data)
        assert field in caught.value.errors, (data, caught.value.errors)
    assert not CalibrationRun.objects.exists()


def test_cancel_a_queued_run_and_a_running_one_between_stages(
    run_with: Callable[..., CalibrationRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = CalibrationRunFactory()
    assert calibration_run_cancel(run=queued).status == Status.CANCELLED
    calibration_run_execute(run_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == Status.CANCELLED and queued.started_at is None
    with pytest.raises(CalibrationFinishedError):
        calibration_run_cancel(run=queued)

    real_progress = calibration_services._Progress.__call__

    def cancel_at_the_fit(self: Any, done: int, total: int, note: str) -> None:
        if note.startswith("Fitting"):
            calibration_run_cancel(run=CalibrationRun.objects.get(pk=self.run_id))
        real_progress(self, done, total, note)

    monkeypatch.setattr(calibration_services._Progress, "__call__", cancel_at_the_fit)
    run = run_with(**FIT, **TEST)
    assert run.status == Status.CANCELLED and run.report is None
    assert not CalibrationParamSet.objects.exists()


def test_runs_of_dead_workers_are_failed() -> None:
    now = timezone.now()
    stale = CalibrationRunFactory(
        status=Status.RUNNING, heartbeat_at=now - timedelta(minutes=11), worker="w@a"
    )
    mine = CalibrationRunFactory(status=Status.RUNNING, heartbeat_at=now, worker="w@b")
    assert calibration_runs_fail_stale(now=now) == 1
    assert calibration_runs_fail_orphaned(worker="w@b") == 1
    stale.refresh_from_db()
    mine.refresh_from_db()
    assert stale.status == mine.status == Status.FAILED
    assert "stopped without finishing" in stale.error and "restarted" in mine.error


def test_a_live_snapshot_from_the_exchange_measures_the_parameters_in_use(settings: Any) -> None:
    from tests.trading.marketdata.conftest import START_MS, emulator_in_thread
    from trading.exchange.emulator import ManualClock, SyntheticSource

    with emulator_in_thread(source=SyntheticSource(), clock=ManualClock(START_MS)) as emulator:
        settings.TRADING_MODE = "sim"
        settings.DERIBIT_BASE_URL = emulator.base_url
        created = calibration_run_create(data={"source": "live", "currencies": ["BTC", "ETH"]})
        run = calibration_run_execute(run_id=created.pk)
    assert run is not None and run.status == Status.SUCCEEDED, run and run.error
    for coin in ("BTC", "ETH"):
        block = run.report["currencies"][coin]
        assert block["test"]["snapshots"] == 1 and block["test"]["samples"] > 50
        assert block["data"]["test_first"].startswith("2026-01-05")
    assert run.source_description.startswith("Compared with a live snapshot from the exchange.")


def test_the_default_parameters_are_the_generators_own() -> None:
    from backtests.sources.synthetic import chain_config

    (in_use,) = calibration_in_use(currencies=["ETH"]).values()
    assert in_use.set_id is None and in_use.params == CalibrationParams.default("ETH")
    step = pd.Timedelta("1h")
    for generated in (True, False):
        today = chain_config("ETH", step, generated=generated)
        assert chain_config("ETH", step, generated=generated, base=in_use.params.chain_config()) == today
