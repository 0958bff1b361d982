from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from optionsbot.services import SEED_STRATEGIES, seed_run
from trading.models import AgentTick, Strategy
from trading.services.strategies import strategy_clean

pytestmark = pytest.mark.django_db


def test_health_reports_every_dependency(client: Any) -> None:
    body = client.get("/api/health/").json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "channel_layer", "agent"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["agent"]["last_tick_at"] is None


def test_health_marks_a_stale_agent_as_degraded(client: Any, settings: Any) -> None:
    started = timezone.now() - timedelta(seconds=10 * settings.AGENT_TICK_SECONDS)
    AgentTick.objects.create(started_at=started, finished_at=started, status="ok")
    body = client.get("/api/health/").json()
    assert body["status"] == "degraded"
    assert body["checks"]["agent"]["stale"] is True


def test_health_fails_with_503_when_the_broker_is_unreachable(client: Any, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/api/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert "Connection" in response.json()["checks"]["broker"]["error"]


def test_seed_creates_the_three_roadmap_strategies_with_valid_parameters() -> None:
    report = seed_run(admin_username="admin", admin_password=None)
    assert sorted(report.strategies_created) == [
        "covered_call_aggressive",
        "covered_call_conservative",
        "puts_experimental",
    ]
    conservative = Strategy.objects.get(name="covered_call_conservative")
    aggressive = Strategy.objects.get(name="covered_call_aggressive")
    puts = Strategy.objects.get(name="puts_experimental")
    assert conservative.parameters["delta_max"] < aggressive.parameters["delta_min"] + 0.1
    assert conservative.parameters["delta_max"] < aggressive.parameters["delta_max"]
    assert puts.logic_kind == "cash_secured_put" and not puts.enabled
    for strategy in (conservative, aggressive, puts):
        strategy_clean(
            logic_kind=strategy.logic_kind,
            underlyings=strategy.underlyings,
            option_types=strategy.option_types,
            parameters=strategy.parameters,
            risk_limits=strategy.risk_limits,
        )
    assert report.admin_created and report.admin_password and len(report.admin_password) >= 12


def test_seed_is_idempotent_and_keeps_the_owners_changes() -> None:
    seed_run(admin_username="admin", admin_password="first-password-123")
    Strategy.objects.filter(name="covered_call_aggressive").update(enabled=False, description="mine")
    second = seed_run(admin_username="admin", admin_password=None)
    assert second.strategies_created == [] and second.admin_password is None and not second.admin_created
    assert Strategy.objects.count() == len(SEED_STRATEGIES)
    changed = Strategy.objects.get(name="covered_call_aggressive")
    assert changed.description == "mine" and not changed.enabled


def test_seed_schedules_the_agent_tick_in_the_database(settings: Any) -> None:
    seed_run(admin_username="admin", admin_password=None)
    tick = PeriodicTask.objects.get(name="agent tick")
    assert tick.task == "trading.tasks.agent_tick" and tick.enabled and tick.queue == "agent"
    assert tick.interval.every == settings.AGENT_TICK_SECONDS


def test_seed_command_prints_the_generated_password_once(capsys: Any) -> None:
    call_command("seed")
    first = capsys.readouterr().out
    assert "shown only this once" in first
    call_command("seed")
    assert "password" not in capsys.readouterr().out.lower()


def test_seed_takes_the_password_from_the_environment(monkeypatch: Any, client: Any) -> None:
    monkeypatch.setenv("OPTIONSBOT_ADMIN_USER", "owner")
    monkeypatch.setenv("OPTIONSBOT_ADMIN_PASSWORD", "a-long-owner-password")
    call_command("seed")
    assert client.login(username="owner", password="a-long-owner-password")
