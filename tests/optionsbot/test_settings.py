"""Settings come from the environment and refuse unsafe or odd values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PROD = {
    "OPTIONSBOT_ENV": "production",
    "SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "bot.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def _run(env_overrides: dict[str, str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}
    }
    env.update(OPTIONSBOT_DATA_DIR=str(tmp_path), **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_the_deployment_checklist(tmp_path: Path) -> None:
    done = _run(PROD, "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "short"}, "at least 50 random characters"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is required"),
        ({"DEBUG": "true"}, "DEBUG cannot be on"),
        ({"REDIS_URL": ""}, "REDIS_URL is required"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DERIBIT_ENV": "mainnet"}, "DERIBIT_MAINNET_CONFIRM"),
        ({"TRADING_MODE": "live"}, "needs DERIBIT_CLIENT_ID"),
        ({"TRADING_MODE": "yolo"}, "TRADING_MODE must be one of sim, live"),
        ({"AGENT_TICK_SECONDS": "1"}, "AGENT_TICK_SECONDS must be at least 5"),
    ],
)
def test_odd_settings_are_refused_with_a_clear_message(
    tmp_path: Path, overrides: dict[str, str], message: str
) -> None:
    done = _run({**PROD, **overrides}, "check", tmp_path=tmp_path)
    assert done.returncode != 0
    assert message in done.stderr


def test_embedded_default_generates_and_keeps_a_private_secret_key(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _run({}, "shell", "--no-imports", "-c", code, tmp_path=tmp_path)
    second = _run({}, "shell", "--no-imports", "-c", code, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_default_uses_sqlite_in_wal_mode_and_no_redis(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings; from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]);"
        "print(settings.CELERY_BROKER_URL); print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    done = _run({}, "shell", "--no-imports", "-c", code, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["wal", "filesystem://", "channels.layers.InMemoryChannelLayer"]
