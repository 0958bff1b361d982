"""The calibration REST API as the Calibration tab uses it: runs (create, list, read, cancel) and
parameter sets (list, approve), with errors per field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from backtests.models import CalibrationParamSet, CalibrationRun
from tests.backtests.calibration_data import write_market
from tests.backtests.factories import CalibrationParamSetFactory, CalibrationRunFactory, spec_body

pytestmark = pytest.mark.django_db

RUN_KEYS = {
    "id", "name", "source", "data_path", "currencies", "history_path", "fit_start", "fit_end", "test_start",
    "test_end", "trigger", "status", "progress", "error", "created_by", "created_at", "started_at",
    "finished_at", "source_description", "summary", "param_sets",
}  # fmt: skip
SET_KEYS = {
    "id", "currency", "status", "parameters", "source_run", "verdict", "decision", "decided_by", "decided_at",
    "reason", "retired_at", "retired_note", "created_at",
}  # fmt: skip


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_market(tmp_path_factory.mktemp("market"))


def test_create_then_the_worker_stores_a_report_the_detail_shows(
    operator_api: APIClient, market: Path, django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    body = {"name": "last hours", "source": "files", "data_path": str(market), "currencies": ["btc"]}
    body |= {"test_start": "2026-01-06T07:00:00Z", "test_end": "2026-01-06T13:00:00Z"}
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.post("/api/calibration/runs/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert set(created) == RUN_KEYS
    assert created["status"] == "queued" and created["created_by"] == "otto_operator"
    assert created["currencies"] == ["BTC"] and created["trigger"] == "manual"
    assert created["progress"] == {"done": 0, "total": 0, "fraction": 0.0, "note": ""}

    listed = operator_api.get("/api/calibration/runs/").json()
    assert listed["count"] == 1 and set(listed["results"][0]) == RUN_KEYS  # no report in lists
    summary = listed["results"][0]["summary"]["BTC"]
    assert summary["evaluated"] == "in_use" and summary["snapshots"] == 6 and summary["mae_vol_pts"] > 5

    detail = operator_api.get(f"/api/calibration/runs/{created['id']}/").json()
    assert set(detail) == RUN_KEYS | {"report"}
    assert detail["status"] == "succeeded" and detail["progress"]["fraction"] == 1.0
    test = detail["report"]["currencies"]["BTC"]["test"]
    assert test["overall"]["mae_vol_pts"] == summary["mae_vol_pts"]
    assert {"overall", "by_dte", "by_delta", "by_type", "smiles", "samples", "snapshots"} <= set(test)
    assert operator_api.get("/api/calibration/runs/?status=failed").json()["count"] == 0


def test_bad_input_comes_back_per_field(operator_api: APIClient, market: Path) -> None:
    response = operator_api.post("/api/calibration/runs/", {"source": "files"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"data_path": ["Give the folder or file of the option-chain snapshots."]}
    overlap = {
        "source": "files",
        "data_path": str(market),
        "fit_start": "2026-01-05",
        "fit_end": "2026-01-06T12:00:00Z",
        "test_start": "2026-01-06",
        "test_end": "2026-01-07",
    }
    errors = operator_api.post("/api/calibration/runs/", overlap, format="json").json()
    assert list(errors) == ["test_start"] and "overlaps the fit window" in errors["test_start"][0]
    errors = operator_api.post("/api/calibration/runs/", {"source": "moon"}, format="json").json()
    assert list(errors) == ["source"]
    errors = operator_api.post("/api/calibration/runs/", [1, 2], format="json").json()
    assert errors == {"non_field_errors": ["Send a JSON object."]}
    assert not CalibrationRun.objects.exists()


def test_cancel_a_queued_run_then_409(operator_api: APIClient) -> None:
    run = CalibrationRunFactory()
    response = operator_api.post(f"/api/calibration/runs/{run.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = operator_api.post(f"/api/calibration/runs/{run.pk}/cancel/")
    assert again.status_code == 409 and "already finished (cancelled)" in again.json()["detail"]


def test_parameter_sets_are_listed_and_an_operator_approves_one(
    operator_api: APIClient, viewer_api: APIClient
) -> None:
    first = CalibrationParamSetFactory()
    second = CalibrationParamSetFactory(currency="ETH", parameters={"currency": "ETH", "skew_short": -0.25})
    listed = viewer_api.get("/api/calibration/params/").json()
    assert [s["id"] for s in listed["results"]] == [second.pk, first.pk]
    assert set(listed["results"][0]) == SET_KEYS
    assert viewer_api.post(f"/api/calibration/params/{first.pk}/approve/").status_code == 403

    approved = operator_api.post(f"/api/calibration/params/{second.pk}/approve/").json()
    assert approved["status"] == "in_use" and approved["decided_by"] == "otto_operator"
    assert approved["decision"] == "operator" and approved["reason"].startswith("Approved by otto_operator")
    assert operator_api.post(f"/api/calibration/params/{second.pk}/approve/").status_code == 409
    in_use = viewer_api.get("/api/calibration/params/?status=in_use").json()["results"]
    assert [(s["id"], s["currency"]) for s in in_use] == [(second.pk, "ETH")]
    assert viewer_api.get("/api/calibration/params/?currency=BTC").json()["count"] == 1
    assert CalibrationParamSet.objects.get(pk=first.pk).status == "proposed"  # other coin: untouched


def test_a_backtest_shows_which_parameters_priced_it(operator_api: APIClient, operator: Any) -> None:
    assert operator_api.post("/api/backtests/", spec_body(), format="json").json()["calibration"] == {}
    param_set = CalibrationParamSetFactory()
    operator_api.post(f"/api/calibration/params/{param_set.pk}/approve/")
    run = operator_api.post("/api/backtests/", spec_body(), format="json").json()
    assert run["calibration"]["BTC"]["set_id"] == param_set.pk
    files = spec_body(source={"kind": "files", "data_path": "/tmp"})
    recorded = operator_api.post("/api/backtests/", files, format="json").json()
    assert recorded.get("calibration") == {}  # recorded prices are never re-priced
