"""A backtest in the embedded default, as `make run` starts it: queued through the API, run by the
real backtest worker (kombu's filesystem transport), its progress pushed to a logged-in browser's
WebSocket through the outbox, and its results read back."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.backtests.factories import spec_body
from tests.conftest import REPO_ROOT
from tests.optionsbot.test_embedded_run import _free_port, _login, _manage, _wait_for_http

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
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        OPTIONSBOT_DATA_DIR=str(tmp_path),
        OPTIONSBOT_ADMIN_PASSWORD="embedded-test-password",
        EMULATOR_PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
    )
    _manage(env, "migrate", "--no-input")
    _manage(env, "seed")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "run.log").open("w")
    app = subprocess.Popen(
        [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_http(f"{base}/api/health/", time.monotonic() + 60)
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

        events = asyncio.run(_events_until_finished(f"ws://127.0.0.1:{port}/ws/live/", cookies, base, start))
        statuses = [e["data"]["status"] for e in events]
        assert "running" in statuses and statuses[-1] == "succeeded", events
        run_id = events[-1]["data"]["id"]
        run = httpx.get(f"{base}/api/backtests/{run_id}/", cookies=cookies).json()
        assert run["status"] == "succeeded" and run["metrics"]["period"]["steps"] == 48
        assert run["progress"]["done"] == 48
    finally:
        os.killpg(app.pid, signal.SIGINT)
        try:
            code = app.wait(timeout=40)
        finally:
            if app.poll() is None:
                os.killpg(app.pid, signal.SIGKILL)
            log.close()
    output = (tmp_path / "run.log").read_text()
    assert code == 0, output[-3000:]
    assert "backtests@" in output  # the backtest worker's own name
