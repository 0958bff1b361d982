"""``manage.py calibrate``: the same report as a stored run, a readable table, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from backtests.models import CalibrationParamSet, CalibrationRun
from tests.backtests.calibration_data import write_market
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db

FIT = "2026-01-05T09:00Z:2026-01-06T07:00Z"
TEST = "2026-01-06T07:00Z:2026-01-06T13:00Z"


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_market(tmp_path_factory.mktemp("market"))


def _calibrate(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calibrate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_prints_exactly_the_report_an_api_run_stores(
    operator_api: APIClient, market: Path, django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    body = {
        "source": "files",
        "data_path": str(market),
        "fit_start": "2026-01-05T09:00:00Z",
        "fit_end": "2026-01-06T07:00:00Z",
        "test_start": "2026-01-06T07:00:00Z",
        "test_end": "2026-01-06T13:00:00Z",
    }
    out, err = _calibrate(
        "--source", "files", "--data", str(market), "--fit-window", FIT, "--test-window", TEST, "--json"
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = operator_api.post("/api/calibration/runs/", body, format="json").json()
    stored = CalibrationRun.objects.get(pk=created["id"])
    assert stored.status == CalibrationRun.Status.SUCCEEDED, stored.error
    assert json.loads(out) == stored.report
    assert "[1/3] Fitting the BTC model on 22 snapshots" in err  # progress goes to stderr
    assert CalibrationParamSet.objects.count() == 1  # the API run proposed; the command stored nothing


def test_the_readable_report_and_save(market: Path) -> None:
    out, _ = _calibrate(
        "--source", "files", "--data", str(market), "--currency", "BTC", "--test-window", TEST
    )
    assert "BTC: parameters in use: the generator's defaults" in out
    assert "Errors of the parameters in use on the test window (6 snapshots" in out
    assert "All options" in out and "DTE 0-2d" in out and "|delta| 0.00-0.10" in out and "MAE vol pts" in out
    assert not CalibrationRun.objects.exists()

    out, _ = _calibrate(
        "--source",
        "files",
        "--data",
        str(market),
        "--fit-window",
        FIT,
        "--test-window",
        TEST,
        "--save",
        "-v",
        "0",
    )
    run = CalibrationRun.objects.get()
    assert out.startswith(f"Stored as calibration #{run.pk}.")
    assert "Policy: Put in use automatically" in out and "[ok] Fitted on" in out
    assert CalibrationParamSet.objects.get().status == CalibrationParamSet.Status.IN_USE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "files"], "data_path: Give the folder or file of the option-chain snapshots."),
        (["--source", "files", "--data", "/no/such/dir"], "data_path: No file or folder at /no/such/dir."),
        (["--source", "live", "--fit-window", FIT], "fit_start: A live snapshot is one moment"),
        (["--source", "harvest", "--fit-window", "last week"], "--fit-window 'last week' is not START:END"),
        (
            ["--source", "harvest", "--fit-window", "2026-01-06:2026-01-05"],
            "fit_end: The fit window must end after it starts.",
        ),
        (
            ["--source", "files", "--data", "{market}", "--test-window", "2025-01-01:2025-01-02"],
            "The data could not be used: No BTC snapshots in the test window",
        ),
    ],
    ids=["no data", "missing folder", "live fit", "window syntax", "window order", "empty window"],
)
def test_bad_input_is_one_readable_error(market: Path, args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        _calibrate(*[a.replace("{market}", str(market)) for a in args])
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_bad_input_exits_non_zero_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "OPTIONSBOT_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "calibrate", "--source", "files", "--data", str(tmp_path / "none")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"CommandError: data_path: No file or folder at {tmp_path / 'none'}."
    ]
