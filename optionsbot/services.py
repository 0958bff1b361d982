"""Start-up data: roles, the local admin account, seed strategies and the periodic schedules."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from optionsbot.celery import app as celery_app
from optionsbot.roles import OPERATORS_GROUP, VIEWERS_GROUP
from trading.models import Strategy
from trading.services.strategies import strategy_create
from trading.strategies.params import preset

SEED_STRATEGIES: list[dict[str, object]] = [
    {
        "name": "covered_call_conservative",
        "description": "Sells low-delta BTC and ETH calls against coins held; keeps most of the upside.",
        "logic_kind": "covered_call",
        "risk_profile": "conservative",
        "underlyings": ["BTC", "ETH"],
        "option_types": ["call"],
        "decision_mode": "rules",
        "priority": 10,
        "parameters": preset("covered_call", "conservative"),
        "risk_limits": {"max_contracts": 5.0, "max_open_positions": 4, "max_abs_delta": 2.0},
        "enabled": True,
    },
    {
        "name": "covered_call_aggressive",
        "description": (
            "Sells higher-delta, shorter calls for more premium; coins are called away more often."
        ),
        "logic_kind": "covered_call",
        "risk_profile": "aggressive",
        "underlyings": ["BTC", "ETH"],
        "option_types": ["call"],
        "decision_mode": "rules",
        "priority": 20,
        "parameters": preset("covered_call", "aggressive"),
        "risk_limits": {"max_contracts": 10.0, "max_open_positions": 6, "max_abs_delta": 5.0},
        "enabled": True,
    },
    {
        "name": "puts_experimental",
        "description": "Cash-secured puts, for testing only: disabled until reviewed.",
        "logic_kind": "cash_secured_put",
        "risk_profile": "moderate",
        "underlyings": ["BTC"],
        "option_types": ["put"],
        "decision_mode": "rules",
        "priority": 50,
        "parameters": preset("cash_secured_put", "moderate"),
        "risk_limits": {"max_contracts": 2.0, "max_open_positions": 2, "max_abs_delta": 1.0},
        "enabled": False,
    },
]


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    task: str
    every_seconds: int
    queue: str
    enabled: bool
    description: str
    kwargs: dict[str, object] = field(default_factory=dict)


def schedule_specs() -> list[ScheduleSpec]:
    return [
        ScheduleSpec(
            name="agent tick",
            task="trading.tasks.agent_tick",
            every_seconds=settings.AGENT_TICK_SECONDS,
            queue="agent",
            enabled=True,
            description="The agent's loop: market snapshot, strategies, risk, execution.",
        ),
        ScheduleSpec(
            name="chain harvester",
            task="trading.tasks.harvest_chains",
            every_seconds=3600,
            queue="agent",
            enabled=True,
            description="Records Deribit option chains for calibration and backtests.",
        ),
        ScheduleSpec(
            name="prune market snapshots",
            task="trading.tasks.prune_market_snapshots",
            every_seconds=24 * 3600,
            queue="agent",
            enabled=True,
            description="Drops the option rows of market snapshots older than MARKET_SNAPSHOT_KEEP_DAYS.",
            kwargs={"keep_days": settings.MARKET_SNAPSHOT_KEEP_DAYS},
        ),
        ScheduleSpec(
            name="daily calibration",
            task="backtests.tasks.calibrate_daily",
            every_seconds=24 * 3600,
            queue="backtests",
            enabled=True,
            description="Fits the synthetic option prices to the harvested Deribit snapshots of the last 7 "
            "days and checks the fit on the day after them; the new parameters are used by backtests only "
            "when the calibration policy holds (or an operator approves them). Disable to turn it off.",
            kwargs={"fit_days": 7, "test_days": 1},
        ),
        ScheduleSpec(
            name="researcher",
            task="research.tasks.research_cycle",
            every_seconds=6 * 3600,
            queue="research",
            enabled=False,
            description="Asks the LLM researcher for experiments and queues their backtests.",
        ),
    ]


@dataclass
class SeedReport:
    admin_username: str = ""
    admin_password: str | None = None  # set only when generated now: shown once, never stored
    admin_created: bool = False
    strategies_created: list[str] = field(default_factory=list)
    schedules_created: list[str] = field(default_factory=list)
    schedules_waiting: list[str] = field(default_factory=list)


def roles_ensure() -> None:
    """Create the viewer and operator groups; operators get every permission of the product's apps."""
    Group.objects.get_or_create(name=VIEWERS_GROUP)
    operators, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    perms = Permission.objects.filter(
        content_type__app_label__in=["trading", "backtests", "research", "django_celery_beat"]
    )
    operators.permissions.add(*perms)


def admin_ensure(*, username: str, password: str | None) -> tuple[bool, str | None]:
    """Create the local superuser if missing. Returns (created, generated password or None)."""
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        return False, None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username=username, email="", password=password)
    return True, generated


def schedules_ensure(report: SeedReport) -> None:
    celery_app.loader.import_default_modules()  # task modules are discovered lazily
    registered = set(celery_app.tasks.keys())
    for spec in schedule_specs():
        if spec.task not in registered:
            report.schedules_waiting.append(spec.name)
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=spec.every_seconds, period=IntervalSchedule.SECONDS
        )
        _, created = PeriodicTask.objects.get_or_create(
            name=spec.name,
            defaults={
                "task": spec.task,
                "interval": interval,
                "queue": spec.queue,
                "enabled": spec.enabled,
                "description": spec.description,
                "kwargs": json.dumps(spec.kwargs),
            },
        )
        if created:
            report.schedules_created.append(spec.name)


@transaction.atomic
def seed_run(*, admin_username: str, admin_password: str | None) -> SeedReport:
    """Idempotent: creates what is missing and never overwrites what the owner has changed."""
    report = SeedReport(admin_username=admin_username)
    roles_ensure()
    report.admin_created, report.admin_password = admin_ensure(
        username=admin_username, password=admin_password
    )
    for spec in SEED_STRATEGIES:
        if not Strategy.objects.filter(name=spec["name"]).exists():
            strategy_create(**spec)  # type: ignore[arg-type]
            report.strategies_created.append(str(spec["name"]))
    schedules_ensure(report)
    return report
