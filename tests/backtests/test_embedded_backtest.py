"""A backtest in the embedded default, as `make run` starts it: queued through the API, run by the
real backtest worker (kombu's filesystem transport), its progress pushed to a logged-in browser's
WebSocket through the outbox, and its results read back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.backtests.factories import spec_body
from tests.optionsbot.test_embedded_run import _login, embedded_app

pytestmark = pytest.mark.slow


async def _events_until_finished(ws_url: str, cookies: dict[str, str], origin: str, start: Any) -> list[Any]:
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    async with websockets.connect(ws_url, additional_headers={"Cookie": cookie}, origin=origin) as ws:  # type: ignore[arg-type]
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout=10))["type"] == "hello"
        run_id = await asyncio.to_thread(start)
        seen: list[Any] = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
            if message.get("topic", "").startswith("backtest.") and message["data"]["id"] == run_id:
                seen.append(message)
                if message["topic"] == "backtest.finished":
                    return seen


def test_a_backtest_runs_on_the_backtest_worker_and_reaches_the_browser(tmp_path: Path) -> None:
    with embedded_app(tmp_path) as app:
        base = app.base
        cookies = _login(base, "admin", "embedded-test-password")

        def start() -> int:
            response = httpx.post(
                f"{base}/api/backtests/",
                json=spec_body(),
                cookies=cookies,
                headers={"X-CSRFToken": cookies["csrftoken"], "Referer": f"{base}/lab/"},
            )
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        ws_url = f"ws://127.0.0.1:{app.port}/ws/live/"
        events = asyncio.run(_events_until_finished(ws_url, cookies, base, start))
        statuses = [e["data"]["status"] for e in events]
        assert "running" in statuses and statuses[-1] == "succeeded", events
        run_id = events[-1]["data"]["id"]
        run = httpx.get(f"{base}/api/backtests/{run_id}/", cookies=cookies).json()
        assert run["status"] == "succeeded" and run["metrics"]["period"]["steps"] == 48
        assert run["progress"]["done"] == 48
    output = app.output()
    assert app.exit_code == 0, output[-3000:]
    assert "backtests@" in output  # the backtest worker's own name
