"""``manage.py backtest``: in-process runs, the same metrics as the API, readable errors."""

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

from backtests.models import BacktestRun
from tests.backtests.factories import spec_body
from tests.conftest import REPO_ROOT
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db

ARGS = [
    "--source",
    "synthetic",
    "--start",
    "2024-03-01T00:00:00Z",
    "--end",
    "2024-03-03T00:00:00Z",
    "--step",
    "1h",
    "--currency",
    "BTC",
    "--seed",
    "7",
]
OVERRIDES = ["--param", "min_ivrv=0.0", "--param", "min_open_interest=0.0"]


def _backtest(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("backtest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_prints_exactly_the_metrics_an_api_run_stores(
    operator_api: APIClient, django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = operator_api.post("/api/backtests/", spec_body(), format="json").json()
    stored = BacktestRun.objects.get(pk=created["id"])
    assert stored.status == BacktestRun.Status.SUCCEEDED
    out, err = _backtest("--logic-kind", "covered_call", *OVERRIDES, *ARGS, "--json")
    assert json.loads(out) == stored.metrics
    assert "48/48 steps (100 %)" in err  # progress goes to stderr


def test_a_registry_strategy_and_the_readable_table() -> None:
    StrategyFactory(name="cc_cli", parameters={**StrategyFactory.build().parameters, "min_ivrv": 0.0})
    out, _ = _backtest("--strategy", "cc_cli", "--param", "delta_max=0.3", *ARGS, "--fill", "mid")
    assert "synthetic BTC chains every 1h" in out
    assert "BTC in coin" in out and "All currencies, USD" in out
    assert "Net profit" in out and "Max drawdown" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--logic-kind", "covered_call", "--param", "delta_max=2", *ARGS],
            "parameters.delta_max: Input should be",
        ),
        (["--strategy", "ghost", *ARGS], "strategy: No strategy named 'ghost' in the registry."),
        (
            ["--logic-kind", "covered_call", *ARGS[:5], "2024-02-01", *ARGS[6:]],
            "source.end: end must be after start",
        ),
        (
            ["--logic-kind", "covered_call", *ARGS[:1], "files", *ARGS[2:]],
            "source.data_path: data_path is required",
        ),
        (
            ["--logic-kind", "covered_call", "--param", "delta_max", *ARGS],
            "--param 'delta_max' is not key=value",
        ),
    ],
    ids=["parameter", "strategy", "dates", "data path", "param syntax"],
)
def test_bad_input_is_one_readable_error(args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        _backtest(*args)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_bad_input_exits_non_zero_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "OPTIONSBOT_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "backtest",
            "--logic-kind",
            "covered_call",
            "--param",
            "delta_max=2",
            *ARGS,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "CommandError: parameters.delta_max: Input should be less than or equal to 1"
    ]
