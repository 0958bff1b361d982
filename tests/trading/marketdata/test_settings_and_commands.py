"""Market-data settings refuse odd values; the harvest command runs against the configured exchange."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from tests.conftest import REPO_ROOT
from trading.exchange.emulator import DeribitEmulator
from trading.marketdata.store import load_snapshots
from trading.services.exchange import exchange_client_config


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DERIBIT_BASE_URL": "127.0.0.1:8765"}, "DERIBIT_BASE_URL must start with http:// or https://"),
        ({"HARVEST_CURRENCIES": "BTC,DOGE"}, "HARVEST_CURRENCIES must be BTC, ETH or both"),
        ({"MARKET_SNAPSHOT_MAX_AGE_SECONDS": "0"}, "MARKET_SNAPSHOT_MAX_AGE_SECONDS must be at least 1"),
    ],
)
def test_odd_market_data_settings_are_refused(tmp_path: Path, env: dict[str, str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import optionsbot.settings"],
        cwd=REPO_ROOT,
        env={**os.environ, "OPTIONSBOT_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and message in done.stderr


def test_sim_mode_never_reaches_deribit_and_live_mode_always_does(settings: Any) -> None:
    settings.DERIBIT_BASE_URL = "http://127.0.0.1:8765"
    settings.DERIBIT_ENV = "testnet"
    settings.TRADING_MODE = "sim"
    assert exchange_client_config().http_url == "http://127.0.0.1:8765/api/v2"
    settings.TRADING_MODE = "live"
    assert exchange_client_config(authenticated=False).http_url == "https://test.deribit.com/api/v2"
    settings.TRADING_MODE = "sim"
    settings.DERIBIT_BASE_URL = ""
    settings.EMULATOR_PORT = 9911
    assert exchange_client_config().http_url == "http://127.0.0.1:9911/api/v2"


def test_the_harvest_command(threaded_emulator: DeribitEmulator, settings: Any, tmp_path: Path) -> None:
    settings.TRADING_MODE = "sim"
    settings.DERIBIT_BASE_URL = threaded_emulator.base_url
    settings.DATA_DIR = tmp_path
    out = StringIO()
    threaded_emulator.faults.error(13020, methods="public/get_book_summary_by_currency", times=1)
    with pytest.raises(CommandError, match="the harvest failed for some currencies"):
        call_command("harvest", "--currency=btc", stdout=out)
    call_command("harvest", "--currency=eth", stdout=out)
    text = out.getvalue()
    assert f"harvest from {threaded_emulator.base_url}/api/v2 into {tmp_path / 'harvest'}" in text
    assert "ETH: " in text and "2026-01-05 09:00:00 UTC" in text
    assert (
        "problems: stale: the data is from 2026-01-05 09:00:00 UTC" in text
    )  # the emulator's clock stands still
    assert [ts for ts, _ in load_snapshots(tmp_path / "harvest", "ETH")] == [
        pd.Timestamp("2026-01-05 09:00", tz="UTC")
    ]
    assert list(load_snapshots(tmp_path / "harvest", "BTC")) == []
