"""A parameter sweep fans out over every worker the broker reaches: two real Celery worker
processes on the ``backtests`` queue share one sweep's runs, and every run finishes.

Broker: Redis when ``REDIS_URL`` is set (CI), else the embedded default (kombu's filesystem
transport in the data folder). Database: a SQLite file of the test's own, shared by the
workers and the process that creates the sweep (``manage.py shell``), as in the embedded mode.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.optionsbot.test_embedded_run import _manage

pytestmark = pytest.mark.slow

CREATE_SWEEP = """
from backtests.services import backtest_sweep_create
from tests.backtests.factories import spec_body
sweep = backtest_sweep_create(
    name="two workers",
    base=spec_body(),
    grid={"delta_max": [0.2, 0.25, 0.3, 0.35]},
)
print(sweep.pk)
"""


def _worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "optionsbot",
            "worker",
            "--queues",
            "backtests",
            "--pool",
            "solo",
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def test_a_sweep_is_shared_by_two_workers(tmp_path: Path) -> None:
    redis_url = os.environ.get("REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(OPTIONSBOT_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    if redis_url:  # a database number of its own, so no other worker takes these tasks
        env["REDIS_URL"] = redis_url.rsplit("/", 1)[0] + "/10"
    _manage(env, "migrate", "--no-input")
    workers = [_worker(env, name, tmp_path / f"{name}.log") for name in ("w1", "w2")]
    try:
        time.sleep(3)  # both consuming before the group is sent, so both get a share
        sweep = int(_manage(env, "shell", "-c", CREATE_SWEEP).strip().splitlines()[-1])
        deadline = time.monotonic() + 240
        rows: list[tuple[str, str, str]] = []
        while time.monotonic() < deadline:
            with closing(sqlite3.connect(tmp_path / "optionsbot.sqlite3", timeout=10)) as db:
                rows = db.execute(
                    "SELECT status, worker, error FROM backtests_backtestrun WHERE sweep_id = ? ORDER BY id",
                    (sweep,),
                ).fetchall()
            if rows and all(status in {"succeeded", "failed", "cancelled"} for status, _, _ in rows):
                break
            time.sleep(0.5)
        logs = {p.name: p.read_text() for p in tmp_path.glob("w*.log")}
        assert len(rows) == 4
        assert [status for status, _, _ in rows] == ["succeeded"] * 4, (rows, logs)
        by = {worker.split("@")[0] for _, worker, _ in rows}
        assert by == {"w1", "w2"}, f"one worker ran every run: {rows}"
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()
