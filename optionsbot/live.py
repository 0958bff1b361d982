"""Live updates for the dashboard: publish from any process, deliver to every open WebSocket.

With Redis the channel layer crosses processes, so an event is sent to the ``live`` group once the
transaction that made the change has committed. Without Redis (the embedded default) the in-memory
channel layer lives in the web process only; events are then written to the ``LiveEvent`` outbox
in the same transaction, and a relay task in the web process forwards new rows to the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from optionsbot.models import LiveEvent

logger = logging.getLogger(__name__)

LIVE_GROUP = "live"
OUTBOX_KEEP = timedelta(minutes=10)


def _message(topic: str, payload: dict[str, Any], at: str) -> dict[str, Any]:
    return {"type": "live.event", "event": {"topic": topic, "data": payload, "at": at}}


def _json_safe(payload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def live_event_publish(*, topic: str, payload: dict[str, Any]) -> None:
    """Publish ``payload`` under ``topic`` to every dashboard, after the current transaction commits."""
    payload = _json_safe(payload)
    if settings.LIVE_EVENTS_VIA_OUTBOX:
        LiveEvent.objects.create(topic=topic, payload=payload)
        _outbox_prune()  # bounded even when no dashboard is open to relay (and prune) events
        return
    at = timezone.now().isoformat()

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(LIVE_GROUP, _message(topic, payload, at))
        except Exception:  # a dashboard that misses one update must never break the writer
            logger.exception("could not publish live event %s", topic)

    transaction.on_commit(send)


class OutboxRelay:
    """Forwards new ``LiveEvent`` rows to the ``live`` group, inside the web process's event loop."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        self._loop = loop
        self._task = loop.create_task(self._run(), name="live-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        last_id = await database_sync_to_async(_outbox_last_id)()
        cycles = 0
        while True:
            try:
                events = await database_sync_to_async(_outbox_after)(last_id)
                for event in events:
                    last_id = event.pk
                    await layer.group_send(
                        LIVE_GROUP, _message(event.topic, event.payload, event.created_at.isoformat())
                    )
                cycles += 1
                if cycles % 600 == 0:
                    await database_sync_to_async(_outbox_prune)()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep relaying after a transient database error
                logger.exception("live outbox relay failed; retrying")
            await asyncio.sleep(settings.LIVE_EVENTS_POLL_SECONDS)


def _outbox_last_id() -> int:
    return LiveEvent.objects.aggregate(last=Max("id"))["last"] or 0


def _outbox_after(last_id: int) -> list[LiveEvent]:
    return list(LiveEvent.objects.filter(id__gt=last_id).order_by("id")[:500])


def _outbox_prune() -> None:
    LiveEvent.objects.filter(created_at__lt=timezone.now() - OUTBOX_KEEP).delete()


outbox_relay = OutboxRelay()
