from __future__ import annotations

from django.db.models import QuerySet

from trading.models import AgentTick, Strategy


def strategy_list(*, enabled: bool | None = None) -> QuerySet[Strategy]:
    qs = Strategy.objects.all()
    if enabled is not None:
        qs = qs.filter(enabled=enabled)
    return qs.order_by("name")


def agent_tick_latest() -> AgentTick | None:
    return AgentTick.objects.order_by("-started_at").first()
