"""The embedded default as `make run` starts it: the simulated exchange, the web server, and a
Celery worker with beat, in separate processes with no Redis and no PostgreSQL. A scheduled tick,
run by the worker against the simulated exchange, must reach a logged-in browser's WebSocket, and
Ctrl-C must stop every process cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_for_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in time")


def _login(base: str, username: str, password: str) -> dict[str, str]:
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        http.get("/login/")
        token = http.cookies["csrftoken"]
        response = http.post(
            "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{base}/login/"},
        )
        assert response.status_code == 302, response.text[:500]
        return {"sessionid": http.cookies["sessionid"], "csrftoken": http.cookies["csrftoken"]}


async def _next_tick_event(
    ws_url: str, cookies: dict[str, str], origin: str, timeout: float
) -> dict[str, object]:
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    async with websockets.connect(ws_url, additional_headers={"Cookie": cookie}, origin=origin) as ws:  # type: ignore[arg-type]
        hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert hello["type"] == "hello"
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
            if message.get("topic") == "agent.tick":
                return message


def test_embedded_app_runs_ticks_pushes_them_live_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        OPTIONSBOT_DATA_DIR=str(tmp_path),
        OPTIONSBOT_ADMIN_PASSWORD="embedded-test-password",
        AGENT_TICK_SECONDS="5",
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
        event = asyncio.run(_next_tick_event(f"ws://127.0.0.1:{port}/ws/live/", cookies, base, timeout=30))
        # The worker ran a real tick against the simulated exchange: market data, strategies, risk.
        assert event["data"]["status"] == "ok", event  # type: ignore[index]
        assert "2 strategies" in event["data"]["message"]  # type: ignore[index]
        assert set(event["data"]["summary"]["snapshots"]) == {"BTC", "ETH"}  # type: ignore[index]
        health = httpx.get(f"{base}/api/health/").json()
        assert health["status"] == "ok" and health["checks"]["agent"]["last_tick_at"]
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(app.pid, signal.SIGINT)
        try:
            code = app.wait(timeout=40)
        finally:
            if app.poll() is None:
                os.killpg(app.pid, signal.SIGKILL)
            log.close()
    output = (tmp_path / "run.log").read_text()
    assert code == 0, output[-3000:]
    assert "stopped." in output
    # Zombies are finished processes waiting to be reaped by init; anything else is still running.
    ps = subprocess.run(
        ["ps", "-o", "pid=,stat=,cmd=", "-s", str(app.pid)], capture_output=True, text=True
    ).stdout
    running = [line for line in ps.splitlines() if line.split()[1:2] and not line.split()[1].startswith("Z")]
    assert running == [], f"processes still running after Ctrl-C: {running}"
