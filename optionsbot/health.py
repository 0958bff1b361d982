"""Health of the parts the product needs: database, broker, channel layer, and the agent's tick."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from trading.selectors.strategies import agent_tick_latest


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as exc:  # a failing dependency is reported, never raised
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000.0, 2)
    return result


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _broker() -> dict[str, Any]:
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return {"kind": "redis"}
    folder = settings.CELERY_BROKER_DIR
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".health-", delete=True):
        pass
    return {"kind": "filesystem", "folder": os.fspath(folder)}


def _channel_layer() -> dict[str, Any]:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")

    async def round_trip() -> None:
        channel = await layer.new_channel("health.")
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "token": token})
        message = await layer.receive(channel)
        if message.get("token") != token:
            raise RuntimeError("the channel layer returned a different message")

    async_to_sync(round_trip)()
    return {"backend": type(layer).__name__}


def _agent(now: datetime) -> dict[str, Any]:
    tick = agent_tick_latest()
    if tick is None:
        return {"ok": True, "last_tick_at": None, "status": "no tick yet"}
    age = (now - tick.started_at).total_seconds()
    return {
        "ok": True,
        "last_tick_at": tick.started_at.isoformat(),
        "last_tick_status": tick.status,
        "last_tick_duration_ms": tick.duration_ms,
        "age_seconds": round(age, 1),
        "stale": age > 3 * settings.AGENT_TICK_SECONDS,
    }


def health_report(*, now: datetime | None = None) -> dict[str, Any]:
    """Check every dependency; ``status`` is ``ok``, ``degraded`` (agent stale) or ``error``."""
    now = now or datetime.now(UTC)
    checks = {
        "database": _timed(_database),
        "broker": _timed(_broker),
        "channel_layer": _timed(_channel_layer),
    }
    agent = _timed(lambda: _agent(now)) if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    status = "ok"
    if not all(check["ok"] for check in checks.values()):
        status = "error"
    elif agent.get("stale"):
        status = "degraded"
    return {
        "status": status,
        "time": now.isoformat(),
        "environment": settings.OPTIONSBOT_ENV,
        "trading_mode": settings.TRADING_MODE,
        "deribit_env": settings.DERIBIT_ENV,
        "checks": {**checks, "agent": agent},
    }
