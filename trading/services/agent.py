"""The agent's periodic tick."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from optionsbot.live import live_event_publish
from trading.models import AgentTick, Strategy


def agent_tick_payload(tick: AgentTick) -> dict[str, object]:
    return {
        "id": tick.pk,
        "started_at": tick.started_at,
        "finished_at": tick.finished_at,
        "status": tick.status,
        "status_display": tick.get_status_display(),
        "duration_ms": tick.duration_ms,
        "message": tick.message,
        "summary": tick.summary,
    }


def agent_tick_run(*, now: datetime | None = None) -> AgentTick:
    """Run one tick and record it, then tell the dashboards.

    The trading loop (market snapshot, strategies, risk, execution) plugs in here; until it is
    installed the tick records that it ran and which strategies are enabled, and trades nothing.
    """
    started = now or timezone.now()
    enabled = list(Strategy.objects.filter(enabled=True).order_by("name").values_list("name", flat=True))
    with transaction.atomic():
        tick = AgentTick.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            status=AgentTick.Status.SKIPPED,
            message=(
                f"{len(enabled)} enabled strateg{'y' if len(enabled) == 1 else 'ies'}; the trading loop is "
                "not installed yet, so no market data was read and nothing was traded."
            ),
            summary={"enabled_strategies": enabled},
        )
        live_event_publish(topic="agent.tick", payload=agent_tick_payload(tick))
    return tick
