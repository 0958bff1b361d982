from __future__ import annotations

from celery import shared_task

from trading.services.agent import agent_tick_run


@shared_task(name="trading.tasks.agent_tick", ignore_result=True)
def agent_tick() -> int:
    """The agent's periodic tick (scheduled in the database by the seed command)."""
    return agent_tick_run().pk
