from __future__ import annotations

from celery import shared_task


@shared_task(name="optionsbot.tasks.ping", ignore_result=False)
def ping(value: str) -> str:
    """Answer ``pong:<value>``: lets health checks and tests prove a worker is consuming tasks."""
    return f"pong:{value}"
