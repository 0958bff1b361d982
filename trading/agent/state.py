"""The agent's state row: the kill switch and its log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from optionsbot.live import live_event_publish
from trading.models import AgentEvent, AgentState, AgentTick


def agent_state_get() -> AgentState:
    state, _ = AgentState.objects.get_or_create(singleton=1)
    return state


def agent_event_record(
    *,
    at: datetime,
    kind: str,
    message: str,
    severity: str = AgentEvent.Severity.INFO,
    data: dict[str, Any] | None = None,
    tick: AgentTick | None = None,
) -> AgentEvent:
    return AgentEvent.objects.create(
        at=at, kind=kind, severity=severity, message=message, data=data or {}, tick=tick
    )


def kill_switch_payload(state: AgentState) -> dict[str, Any]:
    return {
        "engaged": state.kill_switch_engaged or bool(state.kill_switch_tripped_reason),
        "manual": state.kill_switch_engaged,
        "reason": state.kill_switch_reason,
        "tripped_reason": state.kill_switch_tripped_reason,
        "changed_at": state.kill_switch_changed_at,
        "changed_by": state.kill_switch_changed_by,
    }


@transaction.atomic
def kill_switch_engage(*, reason: str, by: str, now: datetime) -> AgentState:
    """Halt trading by hand: from the next tick only closing and cancelling pass, and open orders
    are cancelled."""
    agent_state_get()
    AgentState.objects.filter(singleton=1).update(
        kill_switch_engaged=True,
        kill_switch_reason=reason,
        kill_switch_changed_at=now,
        kill_switch_changed_by=by,
    )
    state = AgentState.objects.get(singleton=1)
    agent_event_record(
        at=now,
        kind="kill_switch.engaged",
        severity=AgentEvent.Severity.WARNING,
        message=f"Kill switch engaged by {by}" + (f": {reason}" if reason else "."),
    )
    live_event_publish(topic="agent.kill_switch", payload=kill_switch_payload(state))
    return state


@transaction.atomic
def kill_switch_reset(*, by: str, now: datetime) -> AgentState:
    """Lift a manual halt and any latched automatic trip."""
    agent_state_get()
    AgentState.objects.filter(singleton=1).update(
        kill_switch_engaged=False,
        kill_switch_reason="",
        kill_switch_tripped_reason="",
        kill_switch_changed_at=now,
        kill_switch_changed_by=by,
    )
    state = AgentState.objects.get(singleton=1)
    agent_event_record(at=now, kind="kill_switch.reset", message=f"Kill switch reset by {by}.")
    live_event_publish(topic="agent.kill_switch", payload=kill_switch_payload(state))
    return state


@transaction.atomic
def kill_switch_trip(*, reason: str, now: datetime, tick: AgentTick | None = None) -> AgentState:
    """Latch an automatic trip (daily loss or drawdown) until a person resets it."""
    agent_state_get()
    AgentState.objects.filter(singleton=1).update(
        kill_switch_tripped_reason=reason, kill_switch_changed_at=now, kill_switch_changed_by="automatic"
    )
    state = AgentState.objects.get(singleton=1)
    agent_event_record(
        at=now,
        kind="kill_switch.tripped",
        severity=AgentEvent.Severity.ERROR,
        message=f"Kill switch tripped automatically: {reason}",
        tick=tick,
    )
    live_event_publish(topic="agent.kill_switch", payload=kill_switch_payload(state))
    return state
