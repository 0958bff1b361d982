"""The production path on real servers: a Celery worker process consuming from Redis, and
WebSocket clients receiving group messages through channels-redis."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.redis


@pytest.fixture
def isolated_redis(redis_url: str) -> str:
    """A Redis database number of its own, so a stray worker elsewhere cannot take our task."""
    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url.rstrip("/")
    return f"{base}/9"


def test_a_real_celery_worker_executes_a_task_through_redis(isolated_redis: str, tmp_path: Path) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "REDIS_URL": isolated_redis,
        "OPTIONSBOT_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "optionsbot.settings",
    }
    env.pop("DATABASE_URL", None)  # the ping task needs no database
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "optionsbot",
            "worker",
            "--queues",
            queue,
            "--pool",
            "solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        producer = Celery("producer", broker=isolated_redis, backend=isolated_redis)
        result = producer.send_task("optionsbot.tasks.ping", args=["hello"], queue=queue)
        try:
            assert result.get(timeout=45) == "pong:hello"
        except Exception:
            worker.terminate()
            print(worker.communicate(timeout=20)[0].decode(errors="replace"))
            raise
    finally:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


@pytest.mark.django_db(transaction=True)
async def test_websocket_clients_receive_group_messages_through_channels_redis(
    redis_url: str, settings: Any
) -> None:
    from channels.db import database_sync_to_async

    from optionsbot.asgi import application
    from optionsbot.live import LIVE_GROUP, live_event_publish
    from tests.factories import UserFactory
    from tests.test_permissions import _session_headers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": f"test{uuid.uuid4().hex[:6]}"},
        }
    }
    settings.REDIS_URL = redis_url
    settings.LIVE_EVENTS_VIA_OUTBOX = False
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"

    user = await database_sync_to_async(UserFactory)(username="redis_viewer", groups=["viewers"])
    headers = await database_sync_to_async(_session_headers)(user, b"http://127.0.0.1")
    clients = [WebsocketCommunicator(application, "/ws/live/", headers=headers) for _ in range(2)]
    for client in clients:
        connected, _ = await client.connect()
        assert connected
        assert (await client.receive_json_from())["type"] == "hello"

    # A raw group message, as another process would send it...
    await layer.group_send(
        LIVE_GROUP, {"type": "live.event", "event": {"topic": "raw", "data": {"n": 1}, "at": "t"}}
    )
    # ...and one through the product's own publisher, which sends after commit.
    await database_sync_to_async(live_event_publish)(topic="agent.tick", payload={"n": 2})
    for client in clients:
        first = await client.receive_json_from(timeout=5)
        second = await client.receive_json_from(timeout=5)
        assert (first["topic"], first["data"]) == ("raw", {"n": 1})
        assert (second["topic"], second["data"]) == ("agent.tick", {"n": 2})
        await client.disconnect()
    await layer.flush()
