"""The strategy registry through its two doors, admin and API: one validation, nothing half-saved."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, StrategyFactory, UserFactory
from trading.models import Strategy
from trading.strategies.params import preset

pytestmark = pytest.mark.django_db


def _new_strategy_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "cc_test",
        "description": "",
        "logic_kind": "covered_call",
        "risk_profile": "moderate",
        "underlyings": ["BTC"],
        "option_types": ["call"],
        "decision_mode": "rules",
        "parameters": preset("covered_call", "moderate"),
        "risk_limits": {},
        "enabled": False,
    }
    body.update(overrides)
    return body


# --- API -------------------------------------------------------------------------------------


def test_api_creates_a_valid_strategy_and_fills_default_limits(operator_api) -> None:  # type: ignore[no-untyped-def]
    response = operator_api.post("/api/strategies/", _new_strategy_body(), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["risk_limits"]["max_open_positions"] == 5
    assert Strategy.objects.get(name="cc_test").parameters == preset("covered_call", "moderate")


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        (
            {"parameters": {**preset("covered_call", "moderate"), "bogus": 1}},
            "parameters",
            "bogus: Unknown field",
        ),
        ({"parameters": {**preset("covered_call", "moderate"), "delta_max": 3}}, "parameters", "delta_max:"),
        ({"parameters": "not an object"}, "parameters", "JSON object"),
        ({"underlyings": ["DOGE"]}, "underlyings", "Unknown underlyings"),
        ({"option_types": ["put"]}, "option_types", "trades only ['call']"),
        ({"risk_limits": {"max_contracts": 0}}, "risk_limits", "max_contracts:"),
        ({"logic_kind": "martingale"}, "logic_kind", "not a valid choice"),
        ({"name": "Has Spaces"}, "name", "lowercase"),
    ],
)
def test_api_refuses_bad_input_with_a_field_error_and_saves_nothing(  # type: ignore[no-untyped-def]
    operator_api, change: dict[str, Any], field: str, fragment: str
) -> None:
    response = operator_api.post("/api/strategies/", _new_strategy_body(**change), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert any(fragment in message for message in errors[field]), errors
    assert not Strategy.objects.exists()


def test_api_refuses_malformed_json(operator_api) -> None:  # type: ignore[no-untyped-def]
    response = operator_api.post("/api/strategies/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not Strategy.objects.exists()


def test_api_refuses_unknown_top_level_field(operator_api) -> None:  # type: ignore[no-untyped-def]
    response = operator_api.post("/api/strategies/", _new_strategy_body(leverage=100), format="json")
    assert response.status_code == 400
    assert response.json() == {"leverage": ["Unknown field."]}


def test_api_parameter_update_is_validated_and_atomic(operator_api) -> None:  # type: ignore[no-untyped-def]
    strategy = StrategyFactory(name="cc_one")
    before = dict(strategy.parameters)
    bad = {**before, "take_profit_pct": 150}
    response = operator_api.patch(
        "/api/strategies/cc_one/", {"parameters": bad, "description": "changed"}, format="json"
    )
    assert response.status_code == 400
    assert any("take_profit_pct" in m for m in response.json()["parameters"])
    strategy.refresh_from_db()
    assert strategy.parameters == before and strategy.description == ""

    good = {**before, "take_profit_pct": 60.0}
    response = operator_api.patch("/api/strategies/cc_one/", {"parameters": good}, format="json")
    assert response.status_code == 200
    strategy.refresh_from_db()
    assert strategy.parameters["take_profit_pct"] == 60.0


def test_changing_logic_kind_revalidates_the_parameters(operator_api) -> None:  # type: ignore[no-untyped-def]
    StrategyFactory(name="cc_two")
    response = operator_api.patch(
        "/api/strategies/cc_two/", {"logic_kind": "cash_secured_put", "option_types": ["put"]}, format="json"
    )
    assert response.status_code == 400
    assert any("collateral_pct" in m for m in response.json()["parameters"])
    assert Strategy.objects.get(name="cc_two").logic_kind == "covered_call"


def test_enable_and_disable(operator_api) -> None:  # type: ignore[no-untyped-def]
    StrategyFactory(name="cc_three", enabled=False)
    assert operator_api.post("/api/strategies/cc_three/enable/").json()["enabled"] is True
    assert Strategy.objects.get(name="cc_three").enabled
    assert operator_api.post("/api/strategies/cc_three/disable/").json()["enabled"] is False
    assert not Strategy.objects.get(name="cc_three").enabled


def test_list_filters_by_enabled(viewer_api) -> None:  # type: ignore[no-untyped-def]
    StrategyFactory(name="on_one", enabled=True)
    StrategyFactory(name="off_one", enabled=False)
    names = [s["name"] for s in viewer_api.get("/api/strategies/?enabled=true").json()["results"]]
    assert names == ["on_one"]


# --- Admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client() -> Client:
    UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=False)
    assert client.login(username="root", password=PASSWORD)
    return client


def _admin_form(**overrides: Any) -> dict[str, Any]:
    body = _new_strategy_body(**overrides)
    form = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in body.items()}
    form["enabled"] = "on" if body["enabled"] else ""
    form["approved_for_live"] = ""
    form["priority"] = "100"
    return {k: v for k, v in form.items() if v != ""}


def test_admin_adds_a_valid_strategy(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:trading_strategy_add"), _admin_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Strategy.objects.get(name="cc_test").risk_limits["max_contracts"] == 10.0


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("parameters", "{not json", "Enter a valid JSON."),
        (
            "parameters",
            json.dumps({**preset("covered_call", "moderate"), "surprise": 1}),
            "surprise: Unknown field",
        ),
        ("parameters", json.dumps({**preset("covered_call", "moderate"), "dte_max": 9999}), "dte_max:"),
        ("underlyings", json.dumps(["BTC", "BTC"]), "listed once"),
        ("risk_limits", json.dumps({"max_open_positions": 0}), "max_open_positions:"),
    ],
)
def test_admin_shows_a_clear_field_error_and_saves_nothing(
    admin_client: Client, field: str, raw: str, message: str
) -> None:
    form = _admin_form()
    form[field] = raw
    response = admin_client.post(reverse("admin:trading_strategy_add"), form)
    assert response.status_code == 200  # the form is shown again, with the error
    errors = response.context["adminform"].form.errors
    assert any(message in e for e in errors[field]), errors
    assert not Strategy.objects.exists()


def test_admin_changelist_has_filters_search_and_actions(admin_client: Client) -> None:
    StrategyFactory(name="alpha_calls", enabled=False)
    StrategyFactory(name="beta_calls", enabled=True)
    url = reverse("admin:trading_strategy_changelist")
    page = admin_client.get(url, {"q": "alpha"})
    assert page.status_code == 200
    assert [s.name for s in page.context["cl"].result_list] == ["alpha_calls"]
    filtered = admin_client.get(url, {"enabled__exact": "1"})
    assert [s.name for s in filtered.context["cl"].result_list] == ["beta_calls"]
    ids = list(Strategy.objects.values_list("pk", flat=True))
    admin_client.post(url, {"action": "enable_strategies", "_selected_action": ids})
    assert Strategy.objects.filter(enabled=True).count() == 2
    admin_client.post(url, {"action": "disable_strategies", "_selected_action": ids})
    assert Strategy.objects.filter(enabled=True).count() == 0
