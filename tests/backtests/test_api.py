"""The backtest REST API as the Lab uses it (contract: runs, results, cancel, compare, sweeps)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from backtests.metrics import METRICS
from backtests.models import BacktestRun
from tests.backtests.factories import BacktestRunFactory, spec_body
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db

Status = BacktestRun.Status
RUN_KEYS = {
    "id",
    "name",
    "strategy",
    "logic_kind",
    "parameters",
    "underlyings",
    "source",
    "initial_balance_coin",
    "fill",
    "risk_free_rate",
    "seed",
    "status",
    "progress",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "created_by",
    "sweep",
    "metrics",
    "decisions",
    "source_description",
    "provenance",
    "calibration",
}


def _post_and_run(client: APIClient, capture: Any, body: dict[str, Any]) -> dict[str, Any]:
    with capture(execute=True):
        response = client.post("/api/backtests/", body, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def test_create_returns_the_queued_run_then_the_worker_finishes_it(
    operator_api: APIClient, django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    created = _post_and_run(operator_api, django_capture_on_commit_callbacks, spec_body())
    assert set(created) == RUN_KEYS
    assert created["status"] == Status.QUEUED
    assert created["progress"] == {"done": 0, "total": 0, "fraction": 0.0, "eta_seconds": None}
    assert created["created_by"] == "otto_operator" and created["error"] is None
    assert created["strategy"] is None and created["logic_kind"] == "covered_call"
    assert created["source"]["start"].startswith("2024-03-01T00:00:00") and created["seed"] == 7
    fill = {"price": "touch", "slippage_pct": 0.0, "respect_limit": True, "max_oi_pct": None}
    assert created["fill"] == fill
    run = operator_api.get(f"/api/backtests/{created['id']}/").json()
    assert run["status"] == Status.SUCCEEDED
    assert run["progress"] == {"done": 48, "total": 48, "fraction": 1.0, "eta_seconds": None}
    assert run["metrics"]["period"]["steps"] == 48
    outcomes = run["decisions"]["outcomes"]
    assert sum(outcomes.values()) >= 48  # at least one proposal a step, each counted once
    assert all(r["count"] > 0 and "#" not in r["reason"][:1] for r in run["decisions"]["reasons"])
    assert run["source_description"].startswith("synthetic BTC chains")
    assert run["finished_at"] is not None

    equity = operator_api.get(f"/api/backtests/{run['id']}/equity/").json()
    assert set(equity) == {"points"} and equity["points"][0]["currencies"]["BTC"]["buy_hold_coin"] == 1.0
    assert equity["points"][0]["at"].startswith("2024-03-01T00:00:00")
    trades = operator_api.get(f"/api/backtests/{run['id']}/trades/").json()
    assert set(trades) == {"round_trips", "fills"}
    for fill in trades["fills"]:
        assert set(fill) == {
            "at",
            "strategy",
            "currency",
            "instrument_name",
            "side",
            "kind",
            "size_contracts",
            "price_coin",
            "fee_coin",
            "index_price_usd",
            "provenance",
        }


def test_a_registry_strategy_with_overrides(operator_api: APIClient) -> None:
    row = StrategyFactory(name="cc_btc", risk_profile="moderate")
    body = spec_body(strategy="cc_btc", logic_kind=None, parameters={"delta_max": 0.35})
    response = operator_api.post("/api/backtests/", body, format="json")
    assert response.status_code == 201, response.json()
    run = response.json()
    assert run["strategy"] == "cc_btc" and run["logic_kind"] == "covered_call"
    assert run["parameters"] == {**row.parameters, "delta_max": 0.35}
    assert run["underlyings"] == ["BTC"]


def test_the_fill_model_is_stored_as_given(operator_api: APIClient) -> None:
    fill = {"price": "mid", "slippage_pct": 2.0, "respect_limit": False, "max_oi_pct": 5.0}
    response = operator_api.post("/api/backtests/", spec_body(fill=fill), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["fill"] == fill


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"parameters": {"delta_max": 2.0}},
            {"parameters.delta_max": ["Input should be less than or equal to 1"]},
        ),
        (
            {"parameters": {"gamma_max": 1}},
            {"parameters.gamma_max": ["Unknown field: it is not a parameter of this strategy kind."]},
        ),
        (
            {"strategy": "ghost", "logic_kind": None},
            {"strategy": ["No strategy named 'ghost' in the registry."]},
        ),
        ({"logic_kind": None}, {"logic_kind": ["Choose a strategy from the registry, or a logic kind."]}),
        ({"source": {"end": "2024-02-01T00:00:00Z"}}, {"source.end": ["end must be after start"]}),
        ({"source": {"kind": "files"}}, {"source.data_path": ["data_path is required for this source"]}),
        (
            {"source": {"kind": "files", "data_path": "/nonexistent/chains"}},
            {"source.data_path": ["no file or folder at /nonexistent/chains"]},
        ),
        ({"source": {"history": "csv", "data_path": "/nonexistent/btc.csv"}}, {"source.data_path": None}),
        ({"source": {"start": "yesterday"}}, {"source.start": None}),
        ({"fill": {"price": "best"}}, {"fill.price": None}),
        ({"fill": {"max_oi_pct": 0}}, {"fill.max_oi_pct": None}),
        ({"initial_balance_coin": {"ETH": 1.0}}, {"initial_balance_coin.ETH": None}),
        ({"underlyings": ["ETH"]}, {"underlyings": ["ETH not in source.currencies."]}),
        ({"leverage": 10}, {"leverage": ["Unknown field."]}),
    ],
    ids=lambda v: str(v)[:40],
)
def test_validation_errors_name_the_field(
    operator_api: APIClient, change: dict[str, Any], errors: dict[str, list[str] | None]
) -> None:
    response = operator_api.post("/api/backtests/", spec_body(**change), format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == set(errors), body
    for field, messages in errors.items():
        assert messages is None or body[field] == messages
    assert not BacktestRun.objects.exists()


def test_every_error_is_reported_at_once(operator_api: APIClient) -> None:
    body = spec_body(parameters={"delta_max": 2.0}, source={"end": "2024-01-01T00:00:00Z"})
    response = operator_api.post("/api/backtests/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"parameters.delta_max", "source.end"}


def test_a_body_that_is_not_an_object_is_refused(operator_api: APIClient) -> None:
    response = operator_api.post("/api/backtests/", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Send a JSON object."]}


def test_the_list_is_paginated_newest_first_and_filters(viewer_api: APIClient) -> None:
    StrategyFactory(name="cc_a")
    older = BacktestRunFactory(strategy_name="cc_a", status=Status.SUCCEEDED, equity=[{"big": 1}])
    newer = BacktestRunFactory()
    page = viewer_api.get("/api/backtests/").json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert [r["id"] for r in page["results"]] == [newer.pk, older.pk]
    assert set(page["results"][0]) == RUN_KEYS
    assert [r["id"] for r in viewer_api.get("/api/backtests/?status=succeeded").json()["results"]] == [
        older.pk
    ]
    assert [r["id"] for r in viewer_api.get("/api/backtests/?strategy=cc_a").json()["results"]] == [older.pk]
    assert viewer_api.get("/api/backtests/?status=exploded").status_code == 400


def test_cancel_a_queued_run_then_409(operator_api: APIClient, outbox: None) -> None:
    run = BacktestRunFactory()
    response = operator_api.post(f"/api/backtests/{run.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == Status.CANCELLED
    again = operator_api.post(f"/api/backtests/{run.pk}/cancel/")
    assert again.status_code == 409
    assert again.json() == {"detail": "The backtest already finished (cancelled)."}


def test_cancel_a_running_run_asks_its_worker(operator_api: APIClient) -> None:
    from django.utils import timezone

    run = BacktestRunFactory(status=Status.RUNNING, heartbeat_at=timezone.now())
    response = operator_api.post(f"/api/backtests/{run.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == Status.RUNNING
    run.refresh_from_db()
    assert run.cancel_requested


def test_the_metric_definitions(viewer_api: APIClient) -> None:
    body = viewer_api.get("/api/backtests/metrics/").json()
    assert len(body["metrics"]) == len(METRICS)
    first = body["metrics"][0]
    assert set(first) == {"key", "label", "unit", "help", "higher_is_better", "group"}
    assert first["key"] == METRICS[0].key


def test_compare_returns_the_runs_in_the_order_asked(viewer_api: APIClient) -> None:
    a, b = BacktestRunFactory(metrics={"x": 1}), BacktestRunFactory()
    body = viewer_api.get(f"/api/backtests/compare/?ids={b.pk},{a.pk}").json()
    assert [r["id"] for r in body["runs"]] == [b.pk, a.pk]
    assert set(body["runs"][0]) == {"id", "name", "strategy", "status", "parameters", "source", "metrics"}
    assert body["runs"][1]["metrics"] == {"x": 1}
    unknown = viewer_api.get(f"/api/backtests/compare/?ids={a.pk},999999")
    assert unknown.status_code == 400 and "999999" in unknown.json()["ids"][0]
    too_many = viewer_api.get("/api/backtests/compare/?ids=" + ",".join(str(i) for i in range(1, 14)))
    assert too_many.status_code == 400 and too_many.json() == {"ids": ["Compare at most 12 runs."]}
    assert viewer_api.get("/api/backtests/compare/").status_code == 400
    assert viewer_api.get("/api/backtests/compare/?ids=1,x").status_code == 400


def test_a_sweep_then_compare_its_runs(
    operator_api: APIClient, django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    body = {"name": "deltas", "base": spec_body(), "grid": {"delta_max": [0.2, 0.3]}}
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.post("/api/backtests/sweeps/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (
        set(created) == {"id", "name", "runs"} and created["name"] == "deltas" and len(created["runs"]) == 2
    )

    sweep = operator_api.get(f"/api/backtests/sweeps/{created['id']}/").json()
    assert set(sweep) == {"id", "name", "grid", "created_at", "runs"}
    assert sweep["grid"] == {"delta_max": [0.2, 0.3]}
    assert [r["id"] for r in sweep["runs"]] == created["runs"]
    assert all(r["status"] == Status.SUCCEEDED and r["sweep"] == created["id"] for r in sweep["runs"])
    listed = operator_api.get("/api/backtests/sweeps/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == created["id"]

    ids = ",".join(str(i) for i in created["runs"])
    compared = operator_api.get(f"/api/backtests/compare/?ids={ids}").json()["runs"]
    assert [r["parameters"]["delta_max"] for r in compared] == [0.2, 0.3]
    assert all(r["metrics"]["period"]["steps"] == 48 for r in compared)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"name": "s", "base": spec_body(source={"end": "2024-01-01"}), "grid": {"delta_max": [0.2]}},
            "base.source.end",
        ),
        ({"name": "s", "base": spec_body(), "grid": {"delta_max": [0.2, 5]}}, "grid.delta_max"),
        ({"name": "s", "base": spec_body(), "grid": {}}, "grid"),
        ({"name": "s", "base": spec_body(), "grid": {"delta_max": []}}, "grid.delta_max"),
        ({"name": "", "base": spec_body(), "grid": {"delta_max": [0.2]}}, "name"),
        ({"name": "s", "base": spec_body(), "grid": {"delta_max": [0.2]}, "x": 1}, "x"),
    ],
    ids=["base", "combination", "empty grid", "empty values", "name", "unknown field"],
)
def test_sweep_errors(operator_api: APIClient, body: dict[str, Any], field: str) -> None:
    response = operator_api.post("/api/backtests/sweeps/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not BacktestRun.objects.exists()
