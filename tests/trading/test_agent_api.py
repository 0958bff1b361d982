"""The agent API: status, kill switch, per-strategy figures and the records with their filters.

Permissions of every route are in tests/test_permissions.py; here the contents and the filters.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.test import APIClient

from optionsbot.models import LiveEvent
from tests.factories import StrategyFactory
from tests.trading.factories import (
    T0,
    AgentEventFactory,
    AgentTickFactory,
    DecisionFactory,
    FillFactory,
    OrderFactory,
    PositionFactory,
)
from trading.agent.state import kill_switch_trip
from trading.models import AgentEvent, AgentState, Decision, Order
from trading.selectors.agent import account_summary_parse

pytestmark = pytest.mark.django_db


def _results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


# --- Status -----------------------------------------------------------------------------------


def test_status_before_anything_ran_says_so_and_invents_nothing(viewer_api: APIClient) -> None:
    body = viewer_api.get("/api/agent/status/").json()
    assert body["last_tick"] is None
    assert body["account"] is None
    assert body["kill_switch"]["engaged"] is False
    assert body["reconciliation"] == {
        "outcome": "pending",
        "outcome_display": "Not yet reconciled",
        "reconciled_at": None,
        "problems": [],
    }
    assert body["schedule"] == {"every_seconds": None, "enabled": False}
    assert not AgentState.objects.exists(), "reading the status must not write"


def test_status_names_the_simulated_exchange(viewer_api: APIClient, settings: Any) -> None:
    settings.TRADING_MODE = "sim"
    settings.DERIBIT_BASE_URL = ""
    settings.EMULATOR_PORT = 8765
    exchange = viewer_api.get("/api/agent/status/").json()["exchange"]
    assert exchange == {
        "trading_mode": "sim",
        "environment": "emulator",
        "name": "Deribit emulator on this machine",
        "real_money": False,
        "base_url": "http://127.0.0.1:8765",
    }


@pytest.mark.parametrize(
    ("env", "real_money", "host"), [("testnet", False, "test."), ("mainnet", True, "www.")]
)
def test_status_names_deribit_in_live_mode(
    viewer_api: APIClient, settings: Any, env: str, real_money: bool, host: str
) -> None:
    settings.TRADING_MODE = "live"
    settings.DERIBIT_ENV = env
    settings.DERIBIT_BASE_URL = ""
    exchange = viewer_api.get("/api/agent/status/").json()["exchange"]
    assert exchange["environment"] == env and exchange["real_money"] is real_money
    assert exchange["base_url"].startswith(f"https://{host}deribit.com")


def test_status_shows_the_last_tick_schedule_and_reconciliation(viewer_api: APIClient) -> None:
    interval = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="agent tick", task="trading.tasks.agent_tick", interval=interval)
    AgentTickFactory(started_at=T0 - timedelta(minutes=2), message="older")
    tick = AgentTickFactory(started_at=T0, message="2 strategies, 3 decisions")
    AgentState.objects.create(
        reconciliation=AgentState.Reconciliation.MISMATCH,
        reconciled_at=T0,
        reconciliation_problems=[
            "BTC-27MAR26-110000-C: exchange -1, ours -0.5",
            {"message": "an order the agent does not know"},
        ],
    )
    body = viewer_api.get("/api/agent/status/").json()
    assert body["last_tick"] == {
        "id": tick.pk,
        "started_at": "2026-03-02T09:00:00Z",
        "finished_at": "2026-03-02T09:00:01.250000Z",
        "status": "ok",
        "status_display": "OK",
        "duration_ms": 1250.0,
        "message": "2 strategies, 3 decisions",
    }
    assert body["schedule"] == {"every_seconds": 120, "enabled": True}
    assert body["reconciliation"]["outcome"] == "mismatch"
    assert body["reconciliation"]["problems"] == [
        "BTC-27MAR26-110000-C: exchange -1, ours -0.5",
        "an order the agent does not know",
    ]


def test_account_comes_from_the_latest_tick_that_recorded_one(viewer_api: APIClient) -> None:
    account = {
        "BTC": {
            "currency": "BTC",
            "balance_coin": 10.0,
            "equity_coin": 10.25,
            "initial_margin_coin": 0.12,
            "maintenance_margin_coin": 0.09,
        },
        "ETH": {"currency": "ETH", "balance_coin": 100.0, "equity_coin": 100.0},
    }
    first = AgentTickFactory(started_at=T0, summary={"account": account})
    body = viewer_api.get("/api/agent/status/").json()["account"]
    assert body["tick_id"] == first.pk and body["from_latest_tick"] is True
    assert body["observed_at"] == "2026-03-02T09:00:01.250000Z"
    btc, eth = body["currencies"]
    assert btc == {
        "currency": "BTC",
        "equity_coin": "10.25",
        "balance_coin": "10",
        "margin_balance_coin": None,
        "initial_margin_coin": "0.12",
        "maintenance_margin_coin": "0.09",
        "available_funds_coin": None,
    }
    assert eth["currency"] == "ETH" and eth["equity_coin"] == "100"

    # A later tick that failed before reading the account: the earlier account, marked as such.
    AgentTickFactory(started_at=T0 + timedelta(minutes=1), status="failed", summary={})
    body = viewer_api.get("/api/agent/status/").json()["account"]
    assert body["tick_id"] == first.pk and body["from_latest_tick"] is False


@pytest.mark.parametrize(
    "raw",
    [
        {"BTC": {"equity": 1.5, "balance": 1.0, "available_funds": 0.75}},
        {"observed_at": "2026-03-02T09:00:00+00:00", "currencies": {"BTC": {"equity": "1.5"}}},
        [{"currency": "BTC", "equity": 1.5}],
    ],
)
def test_account_shapes_from_deribit_names_and_lists(raw: Any) -> None:
    coins, _ = account_summary_parse(raw)
    assert [c.currency for c in coins] == ["BTC"]
    assert coins[0].equity_coin == Decimal("1.5")


@pytest.mark.parametrize(
    "raw", [None, "n/a", {"BTC": {"equity": "lots"}}, {"BTC": {"equity": float("nan")}}, []]
)
def test_unreadable_accounts_are_left_out_not_guessed(raw: Any) -> None:
    assert account_summary_parse(raw)[0] == []


# --- Kill switch --------------------------------------------------------------------------------


def test_engage_needs_a_reason(operator_api: APIClient) -> None:
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = operator_api.post("/api/agent/kill-switch/engage/", body, format="json")
        assert response.status_code == 400
        assert response.json() == {"reason": ["Say why you are stopping the agent."]}
    too_long = operator_api.post("/api/agent/kill-switch/engage/", {"reason": "x" * 501}, format="json")
    assert too_long.status_code == 400 and "reason" in too_long.json()
    assert not AgentState.objects.filter(kill_switch_engaged=True).exists()


def test_engage_and_reset_change_the_state_log_it_and_tell_the_dashboards(
    operator_api: APIClient, operator: Any, settings: Any
) -> None:
    settings.LIVE_EVENTS_VIA_OUTBOX = True
    response = operator_api.post(
        "/api/agent/kill-switch/engage/", {"reason": "  exchange maintenance  "}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["engaged"] is True and body["manual"] is True
    assert body["reason"] == "exchange maintenance"
    assert body["changed_by"] == operator.username and body["changed_at"]
    assert viewer_status(operator_api)["kill_switch"]["engaged"] is True
    assert AgentEvent.objects.filter(kind="kill_switch.engaged").count() == 1
    assert LiveEvent.objects.filter(topic="agent.kill_switch").count() == 1

    response = operator_api.post("/api/agent/kill-switch/reset/")
    assert response.status_code == 200
    assert response.json()["engaged"] is False and response.json()["reason"] == ""
    assert AgentEvent.objects.filter(kind="kill_switch.reset").count() == 1
    assert LiveEvent.objects.filter(topic="agent.kill_switch").count() == 2


def viewer_status(client: APIClient) -> dict[str, Any]:
    return dict(client.get("/api/agent/status/").json())


def test_reset_lifts_an_automatic_trip(operator_api: APIClient) -> None:
    kill_switch_trip(reason="daily loss 6% over the 5% limit (BTC)", now=T0)
    status = viewer_status(operator_api)["kill_switch"]
    assert status["engaged"] is True and status["manual"] is False
    assert status["tripped_reason"].startswith("daily loss")
    operator_api.post("/api/agent/kill-switch/reset/")
    assert viewer_status(operator_api)["kill_switch"]["engaged"] is False


def test_kill_switch_by_session_needs_the_csrf_token(operator: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(operator)
    refused = client.post("/api/agent/kill-switch/engage/", {"reason": "test"}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert client.post("/api/agent/kill-switch/reset/").status_code == 403

    client.get("/")  # the dashboard sets the CSRF cookie, as in a browser
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/agent/kill-switch/engage/", {"reason": "test"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200 and accepted.json()["engaged"] is True


def test_viewers_cannot_engage(viewer_api: APIClient) -> None:
    response = viewer_api.post("/api/agent/kill-switch/engage/", {"reason": "test"}, format="json")
    assert response.status_code == 403
    assert not AgentState.objects.filter(kill_switch_engaged=True).exists()


# --- Per-strategy status ------------------------------------------------------------------------


def test_strategy_status_sums_positions_per_coin_and_in_usd(
    viewer_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    cc = StrategyFactory(name="cc_both", underlyings=["BTC", "ETH"], decision_mode="llm")
    StrategyFactory(name="idle", enabled=False)
    PositionFactory(strategy=cc)  # open short BTC call
    PositionFactory(
        strategy=cc,
        instrument_name="BTC-27FEB26-100000-C",
        size_contracts=Decimal("0"),
        premium_collected_coin=Decimal("0.01"),
        premium_collected_usd=Decimal("950"),
        realized_pnl_coin=Decimal("0.0098"),
        realized_pnl_usd=Decimal("931.5"),
        closed_at=T0,
    )
    PositionFactory(
        strategy=cc,
        instrument_name="ETH-27MAR26-4000-C",
        currency="ETH",
        premium_collected_coin=Decimal("0.2"),
        premium_collected_usd=Decimal("600"),
        realized_pnl_coin=Decimal("-0.05"),
        realized_pnl_usd=Decimal("-150"),
    )
    DecisionFactory(strategy=cc, created_at=T0, action="open")
    latest = DecisionFactory(
        strategy=cc, created_at=T0 + timedelta(minutes=1), action="hold", verdict="not_reviewed"
    )
    with django_assert_max_num_queries(4):
        rows = viewer_api.get("/api/agent/strategies/").json()
    assert [r["name"] for r in rows] == ["cc_both", "idle"]
    both, idle = rows
    assert both["decision_mode"] == "llm" and both["enabled"] is True
    assert both["open_positions"] == 2
    assert both["premium_collected_usd"] == "2143.75"
    assert both["realized_pnl_usd"] == "781.5"
    assert both["coins"] == [
        {
            "currency": "BTC",
            "open_positions": 1,
            "premium_collected_coin": "0.01625",
            "premium_collected_usd": "1543.75",
            "realized_pnl_coin": "0.0098",
            "realized_pnl_usd": "931.5",
            "fees_coin": "0.0003",
        },
        {
            "currency": "ETH",
            "open_positions": 1,
            "premium_collected_coin": "0.2",
            "premium_collected_usd": "600",
            "realized_pnl_coin": "-0.05",
            "realized_pnl_usd": "-150",
            "fees_coin": "0.00015",
        },
    ]
    assert both["last_decision"]["id"] == latest.pk and both["last_decision"]["action"] == "hold"
    assert idle["open_positions"] == 0 and idle["coins"] == [] and idle["last_decision"] is None
    assert idle["premium_collected_usd"] == "0" and idle["realized_pnl_usd"] == "0"


# --- Decisions ----------------------------------------------------------------------------------


@pytest.fixture
def decisions() -> dict[str, Decision]:
    a = StrategyFactory(name="alpha")
    b = StrategyFactory(name="beta")
    tick = AgentTickFactory()
    return {
        "open": DecisionFactory(strategy=a, tick=tick, created_at=T0),
        "hold": DecisionFactory(
            strategy=a,
            tick=tick,
            action="hold",
            verdict="not_reviewed",
            legs=[],
            created_at=T0 + timedelta(hours=1),
        ),
        "rejected": DecisionFactory(
            strategy=b,
            verdict="rejected",
            risk_reasons=["margin: 0.4 BTC needed, 0.1 free"],
            created_at=T0 + timedelta(days=1),
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["rejected", "hold", "open"]),
        ("?strategy=alpha", ["hold", "open"]),
        ("?strategy=nobody", []),
        ("?action=hold", ["hold"]),
        ("?verdict=rejected", ["rejected"]),
        ("?strategy=alpha&action=open&verdict=approved", ["open"]),
        ("?created_after=2026-03-02T09:30:00Z", ["rejected", "hold"]),
        ("?created_before=2026-03-02T10:00:00Z", ["open"]),
        ("?created_after=2026-03-02T00:00:00Z&created_before=2026-03-03T00:00:00Z", ["hold", "open"]),
    ],
)
def test_decision_filters(
    viewer_api: APIClient, decisions: dict[str, Decision], query: str, expected: list[str]
) -> None:
    ids = [d["id"] for d in _results(viewer_api.get(f"/api/decisions/{query}"))]
    assert ids == [decisions[name].pk for name in expected]


def test_decision_filter_by_tick(viewer_api: APIClient, decisions: dict[str, Decision]) -> None:
    tick = decisions["open"].tick
    assert tick is not None
    ids = {d["id"] for d in _results(viewer_api.get(f"/api/decisions/?tick={tick.pk}"))}
    assert ids == {decisions["open"].pk, decisions["hold"].pk}


@pytest.mark.parametrize(
    "query", ["?verdict=maybe", "?action=sell", "?created_after=yesterday", "?tick=abc", "?tick=1.5"]
)
def test_bad_filters_are_refused_with_the_reason(viewer_api: APIClient, query: str) -> None:
    response = viewer_api.get(f"/api/decisions/{query}")
    assert response.status_code == 400
    assert set(response.json()) <= {"verdict", "action", "created_after", "tick"}


def test_decision_detail_has_everything_a_person_needs(
    viewer_api: APIClient, decisions: dict[str, Decision]
) -> None:
    decision = decisions["rejected"]
    decision.mode, decision.decided_by = "llm", "rules"
    decision.llm_choice = "rejected: not among the candidates"
    decision.llm_raw = '{"choice": "BTC-28MAR26-200000-C"}'
    decision.fallback_reason = "the LLM picked an instrument that was not offered"
    decision.save()
    OrderFactory(decision=decision, state=Order.State.REJECTED, filled_amount=Decimal("0"))
    body = viewer_api.get(f"/api/decisions/{decision.pk}/").json()
    assert body["strategy"] == "beta" and body["verdict_display"] == "Rejected"
    assert body["risk_reasons"] == ["margin: 0.4 BTC needed, 0.1 free"]
    assert body["legs"][0]["instrument_name"] == "BTC-27MAR26-110000-C"
    assert body["candidates"][0]["score"] == 0.71
    assert body["llm_choice"].startswith("rejected") and body["llm_raw"].startswith("{")
    assert body["fallback_reason"].startswith("the LLM picked")
    assert body["orders"][0]["state"] == "rejected"
    assert body["orders"][0]["amount_contracts"] == "0.5"
    assert body["orders"][0]["limit_price_coin"] == "0.0125"
    assert viewer_api.get("/api/decisions/999999/").status_code == 404


def test_decision_list_is_paginated(viewer_api: APIClient, decisions: dict[str, Decision]) -> None:
    body = viewer_api.get("/api/decisions/?limit=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


# --- Orders, fills, positions, events ------------------------------------------------------------


def test_orders_filter_by_strategy_and_state(viewer_api: APIClient) -> None:
    a = DecisionFactory(strategy=StrategyFactory(name="alpha"))
    b = DecisionFactory(strategy=StrategyFactory(name="beta"))
    filled = OrderFactory(decision=a)
    working = OrderFactory(decision=a, state=Order.State.OPEN, filled_amount=Decimal("0"))
    OrderFactory(decision=b)
    assert {o["id"] for o in _results(viewer_api.get("/api/orders/?strategy=alpha"))} == {
        filled.pk,
        working.pk,
    }
    rows = _results(viewer_api.get("/api/orders/?strategy=alpha&state=open"))
    assert [o["id"] for o in rows] == [working.pk]
    assert rows[0]["state_display"] == "Open on the exchange"
    assert rows[0]["amount_contracts"] == "0.5" and rows[0]["filled_amount_contracts"] == "0"
    assert viewer_api.get("/api/orders/?state=lost").status_code == 400


def test_fills_filter_by_strategy_and_time(viewer_api: APIClient) -> None:
    mine = FillFactory(order=OrderFactory(decision=DecisionFactory(strategy=StrategyFactory(name="alpha"))))
    FillFactory(
        order=OrderFactory(decision=DecisionFactory(strategy=StrategyFactory(name="beta"))),
        traded_at=T0 + timedelta(days=1),
    )
    rows = _results(viewer_api.get("/api/fills/?strategy=alpha"))
    assert [f["id"] for f in rows] == [mine.pk]
    assert rows[0]["price_coin"] == "0.0125" and rows[0]["fee_coin"] == "0.00015"
    assert rows[0]["index_price_usd"] == "95000" and rows[0]["order_label"] == mine.order.label
    assert len(_results(viewer_api.get("/api/fills/?traded_after=2026-03-02T12:00:00Z"))) == 1


def test_positions_filter_open_or_closed(viewer_api: APIClient) -> None:
    cc = StrategyFactory(name="alpha")
    open_ = PositionFactory(strategy=cc)
    closed = PositionFactory(
        strategy=cc, instrument_name="BTC-27FEB26-100000-C", size_contracts=0, closed_at=T0
    )
    PositionFactory(strategy=StrategyFactory(name="beta"))
    assert {p["id"] for p in _results(viewer_api.get("/api/positions/?strategy=alpha&open=true"))} == {
        open_.pk
    }
    rows = _results(viewer_api.get("/api/positions/?open=false"))
    assert [p["id"] for p in rows] == [closed.pk]
    assert rows[0]["is_open"] is False and rows[0]["size_contracts"] == "0"
    assert len(_results(viewer_api.get("/api/positions/"))) == 3
    row = _results(viewer_api.get("/api/positions/?strategy=beta"))[0]
    assert row["size_contracts"] == "-0.5" and row["strike_usd"] == "110000"
    assert row["premium_collected_coin"] == "0.00625" and row["premium_collected_usd"] == "593.75"


def test_events_newest_first_and_filtered(viewer_api: APIClient) -> None:
    AgentEventFactory(at=T0)
    warn = AgentEventFactory(
        at=T0 + timedelta(minutes=1),
        kind="kill_switch.engaged",
        severity="warning",
        message="Kill switch engaged by otto: maintenance",
    )
    rows = _results(viewer_api.get("/api/agent/events/"))
    assert [r["kind"] for r in rows] == ["kill_switch.engaged", "reconcile.ok"]
    assert [r["id"] for r in _results(viewer_api.get("/api/agent/events/?severity=warning"))] == [warn.pk]
    assert [r["id"] for r in _results(viewer_api.get("/api/agent/events/?kind=kill_switch"))] == [warn.pk]
