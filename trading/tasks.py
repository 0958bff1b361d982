from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone

from trading.agent.tick import agent_tick_run
from trading.marketdata.services import chains_harvest_run, market_snapshot_prune


@shared_task(name="trading.tasks.agent_tick", ignore_result=True)
def agent_tick() -> int:
    """The agent's periodic tick (scheduled in the database by the seed command)."""
    return agent_tick_run().pk


@shared_task(name="trading.tasks.harvest_chains", ignore_result=True)
def harvest_chains() -> dict[str, Any]:
    """Record one BTC and ETH option-chain snapshot to the data folder (scheduled by the seed)."""
    return chains_harvest_run().as_dict()


@shared_task(name="trading.tasks.prune_market_snapshots", ignore_result=True)
def prune_market_snapshots(keep_days: int = 30) -> int:
    """Drop the stored rows of market snapshots older than ``keep_days`` (summaries stay)."""
    return market_snapshot_prune(older_than=timezone.now() - timedelta(days=keep_days))
