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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class EmbeddedApp:
    """A ``manage.py run_embedded`` started by :func:`embedded_app`."""

    base: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    exit_code: int | None = None

    def output(self) -> str:
        return self.log_path.read_text()


@contextmanager
def embedded_app(tmp_path: Path, **extra_env: str) -> Iterator[EmbeddedApp]:
    """Migrate, seed and start the embedded app in a data folder of its own, logged in as ``admin``
    with ``embedded-test-password``; on leaving, stop it as Ctrl-C in a terminal does (SIGINT to
    the whole foreground process group) and keep its exit code."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        OPTIONSBOT_DATA_DIR=str(tmp_path),
        OPTIONSBOT_ADMIN_PASSWORD="embedded-test-password",
        EMULATOR_PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    _manage(env, "migrate", "--no-input")
    _manage(env, "seed")
    port = _free_port()
    log_path = tmp_path / "run.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app = EmbeddedApp(base=f"http://127.0.0.1:{port}", port=port, process=process, log_path=log_path)
    try:
        _wait_for_http(f"{app.base}/api/health/", time.monotonic() + 60)
        yield app
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            app.exit_code = process.wait(timeout=40)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            log.close()


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
    with embedded_app(tmp_path, AGENT_TICK_SECONDS="5") as app:
        base = app.base
        cookies = _login(base, "admin", "embedded-test-password")
        ws_url = f"ws://127.0.0.1:{app.port}/ws/live/"
        event = asyncio.run(_next_tick_event(ws_url, cookies, base, timeout=30))
        # The worker ran a real tick against the simulated exchange: market data, strategies, risk.
        assert event["data"]["status"] == "ok", event  # type: ignore[index]
        assert "2 strategies" in event["data"]["message"]  # type: ignore[index]
        assert set(event["data"]["summary"]["snapshots"]) == {"BTC", "ETH"}  # type: ignore[index]
        health = httpx.get(f"{base}/api/health/").json()
        assert health["status"] == "ok" and health["checks"]["agent"]["last_tick_at"]
    output = app.output()
    assert app.exit_code == 0, output[-3000:]
    assert "stopped." in output
    # Zombies are finished processes waiting to be reaped by init; anything else is still running.
    ps = subprocess.run(
        ["ps", "-o", "pid=,stat=,cmd=", "-s", str(app.process.pid)], capture_output=True, text=True
    ).stdout
    running = [line for line in ps.splitlines() if line.split()[1:2] and not line.split()[1].startswith("Z")]
    assert running == [], f"processes still running after Ctrl-C: {running}"
