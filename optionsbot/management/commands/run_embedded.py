"""Start the whole product on one machine: the web server, a Celery worker with embedded beat for
the agent and research, and a second worker for backtests.

Backtests have a worker of their own so that long runs (or a sweep of many) never hold up the
agent's tick. Without ``REDIS_URL`` the workers take their tasks from kombu's filesystem transport
and live updates reach the browser through the database outbox; with it, both go through Redis.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from optionsbot.env import env_str

BACKTESTS_QUEUE = "backtests"


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Command(BaseCommand):
    help = "Run the web server, the background worker and the scheduler together; Ctrl-C stops all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--concurrency", type=int, default=2, help="worker processes for the agent and research"
        )
        parser.add_argument(
            "--backtest-concurrency", type=int, default=1, help="worker processes for backtests"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if _port_open(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use: stop what runs there or pass --port."
            )
        python = sys.executable
        children = []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if settings.TRADING_MODE == "sim":
            # The simulated Deribit: the agent trades it through the real client, as it would Deribit.
            emulator_port = settings.EMULATOR_PORT
            if _port_open("127.0.0.1", emulator_port):
                raise CommandError(
                    f"Port {emulator_port} (the simulated exchange) is in use: set EMULATOR_PORT to another."
                )
            env.setdefault("DERIBIT_BASE_URL", f"http://127.0.0.1:{emulator_port}")
            children.append(
                Child(
                    "exchange",
                    [
                        python,
                        "-m",
                        "trading.exchange.emulator",
                        "--port",
                        str(emulator_port),
                        "--source",
                        "synthetic",
                        # The simulated exchange remembers orders, trades and positions across restarts.
                        "--state",
                        str(settings.DATA_DIR / "emulator-state.sqlite3"),
                    ],
                )
            )
        children += [
            Child(
                "web", [python, "-m", "daphne", "-b", host, "-p", str(port), "optionsbot.asgi:application"]
            ),
            Child(
                "worker",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "optionsbot",
                    "--quiet",  # no banner: the URL and login hint stay the last lines shown
                    "worker",
                    "--beat",
                    "--queues",
                    ",".join(q for q in settings.CELERY_QUEUES_ALL if q != BACKTESTS_QUEUE),
                    "--concurrency",
                    str(options["concurrency"]),
                    "--without-mingle",
                    "--without-gossip",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(settings.DATA_DIR / "celerybeat-schedule"),
                ],
            ),
            Child(
                "backtest-worker",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "optionsbot",
                    "--quiet",
                    "worker",
                    # A name of its own: runs it left running are failed when it starts again.
                    "--hostname",
                    "backtests@%h",
                    "--queues",
                    BACKTESTS_QUEUE,
                    "--concurrency",
                    str(options["backtest_concurrency"]),
                    "--without-mingle",
                    "--without-gossip",
                    "--loglevel",
                    "INFO",
                ],
            ),
        ]
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for child in children:
            child.process = subprocess.Popen(child.argv, env=env)  # noqa: S603 - our own interpreter
            if child.name == "exchange":
                # The worker's first tick must find the simulated exchange already listening.
                self._wait_for_port(child, settings.EMULATOR_PORT)
        announced = False
        exit_code = 0
        try:
            while not stopping:
                for child in children:
                    assert child.process is not None
                    if child.process.poll() is not None:
                        self.stderr.write(
                            f"{child.name} exited with code {child.process.returncode}; stopping."
                        )
                        exit_code = 1
                        stopping = True
                if not announced and _port_open(host, port):
                    announced = True
                    user = env_str("OPTIONSBOT_ADMIN_USER", "admin")
                    self.stdout.write(
                        self.style.SUCCESS(f"\noptionsbot is running at http://{host}:{port}/")
                        + f"\nLog in as '{user}' (password printed when the account was created, or "
                        "OPTIONSBOT_ADMIN_PASSWORD).\nPress Ctrl-C to stop.\n"
                    )
                time.sleep(0.2)
        finally:
            self._stop_all(children)
        if exit_code:
            raise CommandError("a process of the embedded app stopped unexpectedly (see its output above)")

    def _wait_for_port(self, child: Child, port: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not _port_open("127.0.0.1", port):
            assert child.process is not None
            if child.process.poll() is not None or time.monotonic() > deadline:
                child.process.kill()
                raise CommandError(
                    f"the simulated exchange did not start on port {port} (see its output above)"
                )
            time.sleep(0.1)

    def _stop_all(self, children: list[Child]) -> None:
        for child in children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.stdout.write("stopped.")
