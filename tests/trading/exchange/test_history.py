"""History before the clock's start: chart data on the perpetuals and DVOL, paged like Deribit,
continuous with the live market, the same after a restart, and enough for the agent's daily
context (30-day realised vol, 30-day high, yesterday's DVOL) on a fresh emulator."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.trading.exchange.conftest import CLIENT_ID, CLIENT_SECRET, START_MS, TRANSPORTS, ClientFactory
from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig
from trading.exchange.emulator import AccountConfig, DeribitEmulator, ManualClock, SyntheticSource
from trading.exchange.emulator.sources.synthetic import SyntheticConfig
from trading.marketdata.history import history_fetch

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SOURCE_START_MS = SyntheticConfig().start_ms  # 2026-01-05 08:00 UTC; the fixture's clock is 1 h on
ACCOUNT = AccountConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, balances={"BTC": 1.0})

both_transports = pytest.mark.parametrize("transport", TRANSPORTS)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _log_returns(close: pd.Series | np.ndarray) -> np.ndarray:
    return np.diff(np.log(np.asarray(close, dtype=np.float64)))


@pytest.fixture
async def fresh() -> AsyncIterator[DeribitEmulator]:
    """An emulator whose clock stands at its market's start, as ``make run`` begins."""
    async with DeribitEmulator(
        source=SyntheticSource(), clock=ManualClock(SOURCE_START_MS), accounts=[ACCOUNT]
    ) as emu:
        yield emu


async def _client(emu: DeribitEmulator, transport: str) -> DeribitClient:
    client = DeribitClient(ClientConfig(transport=transport, base_url=emu.base_url, request_timeout_s=5.0))
    await client.connect()
    return client


@both_transports
async def test_chart_and_dvol_page_over_90_days_before_the_start(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, authenticated=False)
    begin = _utc(SOURCE_START_MS - 90 * DAY_MS)
    hourly = await history_fetch(
        client=client, currency="BTC", start=begin, end=_utc(SOURCE_START_MS), resolution="60"
    )
    # 90 days of hours and the hour of the start: 3 chart pages, 3 DVOL pages (continuation)
    assert len(hourly) == 90 * 24 + 1
    assert (hourly["timestamp"].diff().dropna() == pd.Timedelta(hours=1)).all()
    assert hourly.loc[:, ["open", "high", "low", "close", "dvol_close"]].notna().all().all()
    assert (hourly["low"] <= hourly[["open", "close"]].min(axis=1)).all()
    assert (hourly["high"] >= hourly[["open", "close"]].max(axis=1)).all()
    assert (hourly["dvol_low"] <= hourly["dvol_close"]).all() and (
        hourly["dvol_close"] <= hourly["dvol_high"]
    ).all()
    assert set(hourly["volume"]) == {0.0}
    daily = await history_fetch(
        client=client, currency="ETH", start=begin, end=_utc(START_MS), resolution="1D"
    )
    assert len(daily) == 90 and (daily["timestamp"].dt.hour == 0).all()  # candles open at 00:00 UTC
    assert daily.loc[:, ["close", "high", "dvol_close"]].notna().all().all()
    # one page of a long range answers its newest candles and says where to go on
    page = await client.get_volatility_index_data(
        currency="BTC", start_timestamp=SOURCE_START_MS - 90 * DAY_MS, end_timestamp=START_MS, resolution="60"
    )
    assert len(page.data) == 1000 and page.continuation == page.data[0][0] - 1
    assert page.data[-1][0] == START_MS


@both_transports
async def test_realised_vol_and_dvol_before_the_start_are_the_markets_own(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    """The past has the live path's volatility, and DVOL stays the ATM vol the chain is priced on."""
    client = await make_client(transport, authenticated=False)
    source = emulator.source
    assert isinstance(source, SyntheticSource)
    cfg = source.config
    frame = await history_fetch(
        client=client,
        currency="BTC",
        start=_utc(SOURCE_START_MS - 90 * DAY_MS),
        end=_utc(SOURCE_START_MS - 1),
        resolution="60",
    )
    rv = float(np.std(_log_returns(frame["close"]), ddof=1) * math.sqrt(24 * 365))
    assert rv == pytest.approx(cfg.path_vol["BTC"], rel=0.1)
    expected = np.clip(cfg.atm_vol["BTC"] * (frame["close"] / cfg.spot["BTC"]) ** -0.5, 0.0, 2.5) * 100
    assert np.abs(frame["dvol_close"] - expected).max() < 0.02  # DVOL is the same function of the index
    assert frame["dvol_close"].max() - frame["dvol_close"].min() > 3  # ... so it moves with it
    # after the start the chain's 30-day at-the-money IV is that level
    dvol_now = (
        await client.get_volatility_index_data(
            currency="BTC", start_timestamp=START_MS - 60_000, end_timestamp=START_MS, resolution="60"
        )
    ).data[-1][4]
    assert dvol_now == emulator.engine.dvol["BTC"]
    live = [r for r in emulator.engine.instruments.values() if r.currency == "BTC" and not r.expired]
    month = min({r.expiration_ms for r in live}, key=lambda e: abs(e - START_MS - 30 * DAY_MS))
    atm = min(
        (r for r in live if r.expiration_ms == month),
        key=lambda r: abs(math.log(r.strike / r.quote.underlying_price)),
    )
    assert atm.quote.mark_iv == pytest.approx(dvol_now, abs=1.0)


@both_transports
async def test_history_joins_the_live_path_at_the_start(fresh: DeribitEmulator, transport: str) -> None:
    client = await _client(fresh, transport)
    try:
        index = (await client.get_index_price(index_name="btc_usd")).index_price
        assert index == SyntheticConfig().spot["BTC"]  # the clock stands at the start
        before = await client.get_tradingview_chart_data(
            instrument_name="BTC-PERPETUAL",
            start_timestamp=SOURCE_START_MS - 2 * HOUR_MS,
            end_timestamp=SOURCE_START_MS,
            resolution="1",
        )
        assert before.ticks[-1] == SOURCE_START_MS and before.close[-1] == before.open[-1] == index
        await fresh.advance(2 * 3600)
        around = await client.get_tradingview_chart_data(
            instrument_name="BTC-PERPETUAL",
            start_timestamp=SOURCE_START_MS - 2 * HOUR_MS,
            end_timestamp=SOURCE_START_MS + 2 * HOUR_MS,
            resolution="1",
        )
    finally:
        await client.close()
    at = around.ticks.index(SOURCE_START_MS)
    assert around.open[at] == index
    assert around.ticks[: at + 1] == before.ticks and around.open[:at] == before.open[:-1]  # history stays
    returns = _log_returns(around.close)
    crossing = abs(math.log(around.close[at] / around.close[at - 1]))
    assert crossing < 5 * float(np.std(returns))  # no seam: the step across the start is an ordinary one


async def test_history_is_the_same_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    config = SyntheticConfig(seed=11, start_ms=SOURCE_START_MS)
    asks: list[tuple[str, dict[str, Any]]] = [
        (
            "public/get_tradingview_chart_data",
            {
                "instrument_name": "ETH-PERPETUAL",
                "start_timestamp": SOURCE_START_MS - 95 * DAY_MS,
                "end_timestamp": SOURCE_START_MS,
                "resolution": "1D",
            },
        ),
        (
            "public/get_tradingview_chart_data",
            {
                "instrument_name": "BTC-PERPETUAL",
                "start_timestamp": SOURCE_START_MS - 3 * DAY_MS,
                "end_timestamp": SOURCE_START_MS,
                "resolution": "60",
            },
        ),
        (
            "public/get_volatility_index_data",
            {
                "currency": "BTC",
                "start_timestamp": SOURCE_START_MS - 95 * DAY_MS,
                "end_timestamp": SOURCE_START_MS,
                "resolution": "1D",
            },
        ),
    ]

    async def answers(emu: DeribitEmulator, order: list[int]) -> list[Any]:
        client = await _client(emu, "http")
        try:
            got = {i: await client.call(*asks[i]) for i in order}
        finally:
            await client.close()
        return [got[i] for i in range(len(asks))]

    clock = ManualClock(SOURCE_START_MS + HOUR_MS)
    async with DeribitEmulator(
        source=SyntheticSource(config), clock=clock, accounts=[ACCOUNT], state_path=path
    ) as first:
        seen = await answers(first, [0, 1, 2])
        await first.advance(3 * 3600)
    assert len(seen[0]["ticks"]) == 95 and len(seen[2]["data"]) == 95
    later = ManualClock(SOURCE_START_MS + 5 * HOUR_MS)
    async with DeribitEmulator(source=None, clock=later, accounts=[ACCOUNT], state_path=path) as again:
        assert isinstance(again.source, SyntheticSource) and again.source.config == config
        assert await answers(again, [2, 1, 0]) == seen  # asked in another order, too
    async with DeribitEmulator(
        source=SyntheticSource(SyntheticConfig(seed=12, start_ms=SOURCE_START_MS)),
        clock=ManualClock(SOURCE_START_MS + HOUR_MS),
        accounts=[ACCOUNT],
    ) as other:
        assert (await answers(other, [0, 1, 2]))[0]["close"] != seen[0]["close"]  # the seed decides


@both_transports
async def test_a_fresh_emulator_gives_the_agent_its_daily_context(
    fresh: DeribitEmulator, transport: str
) -> None:
    """What every agent tick reads: 35 days of daily candles and DVOL, summarised."""
    from trading.agent.market import HISTORY_DAYS, history_summarise
    from trading.strategies.regime import RegimeInputs, assess_regime

    client = await _client(fresh, transport)
    now = _utc(fresh.clock.now_ms())
    try:
        for currency in ("BTC", "ETH"):
            frame = await history_fetch(
                client=client,
                currency=currency,
                start=now - timedelta(days=HISTORY_DAYS),
                end=now,
                resolution="1D",
            )
            summary = history_summarise(frame)
            index = (await client.get_index_price(index_name=f"{currency.lower()}_usd")).index_price
            assert summary.rv is not None and 0.25 < summary.rv < 0.9
            assert summary.index_high_usd is not None and summary.index_high_usd >= index
            assert summary.dvol_before is not None
            assert summary.dvol_before == pytest.approx(fresh.engine.dvol[currency], rel=0.25)
            regime = assess_regime(
                RegimeInputs(
                    currency=currency,
                    dvol=fresh.engine.dvol[currency],
                    dvol_before=summary.dvol_before,
                    index_price_usd=index,
                    index_high_usd=summary.index_high_usd,
                )
            )
            assert regime.complete, regime.describe()  # judged on the numbers, not failing closed
    finally:
        await client.close()


async def test_the_quant_source_has_history_too() -> None:
    from trading.exchange.emulator.sources.quant import QuantSourceConfig, QuantSyntheticSource

    source = QuantSyntheticSource(QuantSourceConfig(days=1, history_days=40))
    start = source.config.start_ms
    assert source.history_start_ms("BTC") == start - 40 * DAY_MS
    async with DeribitEmulator(source=source, clock=ManualClock(start), accounts=[ACCOUNT]) as emu:
        client = await _client(emu, "http")
        try:
            frame = await history_fetch(
                client=client,
                currency="BTC",
                start=_utc(start - 35 * DAY_MS),
                end=_utc(start),
                resolution="1D",
            )
        finally:
            await client.close()
    from trading.agent.market import history_summarise

    summary = history_summarise(frame)
    assert summary.rv is not None and 0.2 < summary.rv < 1.5 and summary.dvol_before is not None
    assert (
        source.index_price("BTC", start - 1) == source.config.spot["BTC"]
    )  # the past ends at the start price
    assert source.dvol("BTC", start) == pytest.approx(source.dvol("BTC", start - 1), rel=0.2)


@pytest.mark.real_data
async def test_a_replay_has_history_only_within_its_files(real_data_dir: Path) -> None:
    from trading.exchange.emulator import ReplaySource

    source = ReplaySource(real_data_dir / "svcj_deribit_snapshots_2025_2026" / "stress_week_2026-02-02_to_08")
    first = source.snapshot_times_ms[0]
    now = first + 2 * DAY_MS
    async with DeribitEmulator(source=source, clock=ManualClock(now), accounts=[ACCOUNT]) as emu:
        client = await _client(emu, "http")
        try:
            chart = await client.get_tradingview_chart_data(
                instrument_name="BTC-PERPETUAL",
                start_timestamp=first - DAY_MS,
                end_timestamp=now,
                resolution="60",
            )
            dvol = await client.get_volatility_index_data(
                currency="BTC", start_timestamp=first - DAY_MS, end_timestamp=now, resolution="3600"
            )
            earlier = await client.get_tradingview_chart_data(
                instrument_name="BTC-PERPETUAL",
                start_timestamp=first - DAY_MS,
                end_timestamp=first - 1,
                resolution="60",
            )
        finally:
            await client.close()
    assert chart.ticks[0] >= first and len(chart.ticks) == 48
    assert all(source.index_price("BTC", t) == o for t, o in zip(chart.ticks, chart.open, strict=True))
    assert [c[0] for c in dvol.data] == chart.ticks and all(c[4] > 10 for c in dvol.data)
    assert earlier.status == "no_data" and earlier.ticks == []


def test_a_state_file_from_before_history_days_keeps_its_market() -> None:
    """Files saved before ``history_days`` existed describe the market a source built now has."""
    from typing import cast

    from trading.exchange.emulator.engine.journal import EngineImage
    from trading.exchange.emulator.persistence import SavedState, describe_source, source_for

    source = SyntheticSource()
    old = describe_source(source)
    del old["config"]["history_days"]
    saved = SavedState(market=old, clock_ms=0, wall_ms=0, speed=None, image=cast(EngineImage, None))
    assert source_for(saved, source) is source
    rebuilt = source_for(saved, None)
    assert isinstance(rebuilt, SyntheticSource) and rebuilt.config == source.config
