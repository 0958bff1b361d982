"""Historical candles paged within Deribit's limits, against the emulator, and the command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.trading.marketdata.conftest import START_MS
from trading.exchange.client import DeribitClient
from trading.exchange.emulator import DeribitEmulator
from trading.marketdata.history import (
    HISTORY_COLUMNS,
    chart_candles_fetch,
    dvol_candles_fetch,
    history_fetch,
    history_read,
    history_write,
)

START = datetime.fromtimestamp(START_MS / 1000, UTC)
TWO_DAYS_MS = 2 * 86_400_000


def long_lived_option(emulator: DeribitEmulator) -> str:
    names = sorted(
        n
        for n, r in emulator.engine.instruments.items()
        if r.currency == "BTC" and r.expiration_ms - START_MS > 10 * 86_400_000
    )
    return names[len(names) // 2]


async def test_dvol_pages_back_through_continuations(
    emulator: DeribitEmulator, client: DeribitClient
) -> None:
    await emulator.advance(TWO_DAYS_MS / 1000)
    pages: list[int] = []
    frame = await dvol_candles_fetch(
        client=client,
        currency="BTC",
        start_ms=START_MS,
        end_ms=START_MS + TWO_DAYS_MS,
        resolution="1",
        on_page=lambda what, n: pages.append(n),
    )
    assert len(frame) == 2 * 1440 + 1  # every minute, both ends included
    assert pages == [1000, 1000, 881] and emulator.requests["public/get_volatility_index_data"] == 3
    ts = frame["timestamp"]
    assert ts.is_monotonic_increasing and ts.is_unique and str(ts.dtype) == "datetime64[ns, UTC]"
    assert ts.iloc[0] == START and ts.iloc[-1] == START + timedelta(days=2)
    assert frame["dvol_open"].iloc[0] == pytest.approx(emulator.source.dvol("BTC", START_MS))
    assert frame["dvol_close"].between(5, 300).all()  # vol points


async def test_chart_candles_walk_forward_in_pages(emulator: DeribitEmulator, client: DeribitClient) -> None:
    name = long_lived_option(emulator)
    await emulator.advance(86_400)
    frame = await chart_candles_fetch(
        client=client,
        instrument_name=name,
        start_ms=START_MS,
        end_ms=START_MS + 86_400_000,
        resolution="1",
        page_candles=500,
    )
    assert emulator.requests["public/get_tradingview_chart_data"] == 3
    assert len(frame) == 1440 + 1 and frame["timestamp"].is_unique
    assert frame["open"].iloc[0] == pytest.approx(emulator.source.mark_price(name, START_MS))
    assert (frame["high"] >= frame["low"]).all()


async def test_history_joins_price_and_dvol_on_the_candle_time(
    emulator: DeribitEmulator, client: DeribitClient, tmp_path: Path
) -> None:
    name = long_lived_option(emulator)
    await emulator.advance(TWO_DAYS_MS / 1000)
    frame = await history_fetch(
        client=client,
        currency="BTC",
        start=START,
        end=START + timedelta(days=2),
        resolution="60",
        instrument_name=name,
    )
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert len(frame) == 49 and frame["close"].notna().all() and frame["dvol_close"].notna().all()
    for suffix in (".parquet", ".csv.gz"):
        path = history_write(frame, tmp_path / f"h{suffix}")
        back = history_read(path)
        assert list(back.columns) == list(HISTORY_COLUMNS)
        assert (back["timestamp"] == frame["timestamp"]).all()
        assert np.allclose(back["dvol_close"], frame["dvol_close"])
    with pytest.raises(ValueError, match="timezone-aware"):
        await history_fetch(client=client, currency="BTC", start=START.replace(tzinfo=None), end=START)


def test_fetch_history_command_saves_the_file(
    threaded_emulator: DeribitEmulator, settings: Any, tmp_path: Path
) -> None:
    settings.TRADING_MODE = "sim"
    settings.DERIBIT_BASE_URL = threaded_emulator.base_url
    settings.DATA_DIR = tmp_path
    threaded_emulator.clock.advance(86_400)  # type: ignore[attr-defined]
    name = long_lived_option(threaded_emulator)
    out = StringIO()
    call_command(
        "fetch_history",
        "--currency=BTC",
        "--start=2026-01-05T09:00",
        "--end=2026-01-06",
        "--resolution=60",
        f"--instrument={name}",
        "--page-candles=10",
        stdout=out,
    )
    path = tmp_path / "history" / f"BTC_{name}_60_20260105_20260106.parquet"
    assert path.exists()
    frame = history_read(path)
    # --end is a whole day, but the exchange's clock stands at 09:00 on the 6th: 25 hourly candles,
    # the prices in 4 pages of at most 10 candles and DVOL in one
    assert len(frame) == 25 and frame["close"].notna().all()
    assert f"{path}: 25 candles (25 with a price, 25 with DVOL) from 5 requests" in out.getvalue()
    with pytest.raises(CommandError, match="--end is before --start"):
        call_command("fetch_history", "--start=2026-01-06", "--end=2026-01-05")
