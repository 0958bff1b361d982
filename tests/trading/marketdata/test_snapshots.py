"""Market snapshots against the in-process emulator: fresh, stale and partial data, and the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from channels.db import database_sync_to_async

from tests.trading.marketdata.conftest import START_MS, ThinSource, client_config, emulator_in_thread
from trading.exchange.client import DeribitClient
from trading.exchange.emulator import DeribitEmulator, ManualClock, SyntheticSource
from trading.marketdata.fetch import chain_snapshot_fetch
from trading.marketdata.services import (
    market_snapshot_prune,
    market_snapshot_take,
    market_snapshot_take_sync,
)
from trading.models import MarketSnapshot
from trading.quant.candidates import chain_from_snapshot

START = datetime.fromtimestamp(START_MS / 1000, UTC)


async def test_a_fresh_snapshot_is_ok_and_carries_index_and_dvol(
    emulator: DeribitEmulator, client: DeribitClient
) -> None:
    snap = await chain_snapshot_fetch(client=client, currency="btc", now=START + timedelta(seconds=2))
    assert snap.quality.ok, snap.quality.problems
    assert snap.currency == "BTC" and snap.environment == "emulator"
    assert snap.timestamp == START
    listed = [r for r in emulator.engine.instruments.values() if r.currency == "BTC" and not r.expired]
    assert snap.row_count == len(listed) > 100
    assert snap.index_price == pytest.approx(emulator.engine.index["BTC"])
    assert snap.dvol == pytest.approx(emulator.source.dvol("BTC", START_MS), rel=1e-6)
    frame = snap.frame
    assert (frame["timestamp"] == pd.Timestamp(START)).all()
    assert frame["dvol"].nunique() == 1 and (frame["index_price"] == snap.index_price).all()
    assert frame["implied_volatility"].between(0.05, 3.0).all()  # decimals, not percent
    chain = chain_from_snapshot(frame)
    assert chain["t_years"].gt(0).all() and chain["bid_iv"].notna().any()
    # one book summary, one index, one DVOL request: the market data of a tick is fetched once
    assert emulator.requests["public/get_book_summary_by_currency"] == 1
    assert emulator.requests["public/get_index_price"] == 1


async def test_data_older_than_the_limit_is_stale(emulator: DeribitEmulator, client: DeribitClient) -> None:
    # the exchange's clock stands still while ours moves on: its data is now 10 minutes old
    snap = await chain_snapshot_fetch(client=client, currency="ETH", now=START + timedelta(minutes=10))
    assert not snap.quality.ok
    assert snap.quality.problems[0].startswith(
        "stale: the data is from 2026-01-05 09:00:00 UTC, 600 s before"
    )
    # once the exchange catches up the same check passes
    await emulator.advance(600)
    again = await chain_snapshot_fetch(
        client=client, currency="ETH", now=START + timedelta(minutes=10, seconds=1)
    )
    assert again.quality.ok, again.quality.problems


async def test_a_thin_chain_without_quotes_is_partial_and_empty() -> None:
    source = ThinSource(SyntheticSource(), keep=5, quotes=False)
    async with (
        DeribitEmulator(source=source, clock=ManualClock(START_MS)) as emu,
        DeribitClient(client_config(emu)) as c,
    ):
        snap = await chain_snapshot_fetch(client=c, currency="BTC", now=START, min_instruments=20)
    assert snap.row_count == 5
    assert (
        "too few instruments: 5 options in the snapshot, at least 20 expected (partial or empty chain)"
        in (snap.quality.problems)
    )
    assert "no quotes at all: none of the 5 options has a bid or an ask" in snap.quality.problems


async def test_an_unreadable_index_is_a_problem_with_its_reason(
    emulator: DeribitEmulator, client: DeribitClient
) -> None:
    emulator.faults.error(13020, methods="public/get_index_price", times=None)
    emulator.faults.error(13020, methods="public/get_volatility_index_data", times=None)
    snap = await chain_snapshot_fetch(client=client, currency="BTC", now=START)
    assert snap.index_price is None and snap.dvol is None
    assert any(
        p.startswith("no index price: the spot index could not be read (") for p in snap.quality.problems
    )
    assert any(w.startswith("no DVOL value (") for w in snap.quality.warnings)


@pytest.mark.django_db(transaction=True)
async def test_market_snapshot_take_stores_rows_that_replay_exactly(
    emulator: DeribitEmulator, client: DeribitClient
) -> None:
    row = await market_snapshot_take(client=client, currency="BTC", now=START + timedelta(seconds=1))
    stored = await database_sync_to_async(MarketSnapshot.objects.get)(pk=row.pk)
    assert stored.currency == "BTC" and stored.environment == "emulator" and stored.source == "book_summary"
    assert stored.quality_ok and stored.problems == [] and stored.quality.ok
    assert stored.data_timestamp == START and stored.taken_at == START + timedelta(seconds=1)
    assert float(stored.index_price) == pytest.approx(emulator.engine.index["BTC"], abs=1e-8)
    assert stored.row_count == len(stored.frame())
    assert len(bytes(stored.rows)) < 100 * stored.row_count  # compact: well under 100 bytes an option
    again = await chain_snapshot_fetch(client=client, currency="BTC", now=START + timedelta(seconds=1))
    pd.testing.assert_frame_equal(stored.frame(), again.frame)


@pytest.mark.django_db
def test_sync_wrapper_for_celery_and_pruning_keeps_the_summary(clock: ManualClock) -> None:
    with emulator_in_thread(source=SyntheticSource(), clock=clock) as emu:
        row = market_snapshot_take_sync(
            currency="ETH", now=START + timedelta(minutes=5), config=client_config(emu)
        )
    assert not row.quality_ok and row.problems[0].startswith("stale:")
    assert len(row.frame()) == row.row_count
    assert market_snapshot_prune(older_than=START + timedelta(minutes=6)) == 1
    assert market_snapshot_prune(older_than=START + timedelta(minutes=6)) == 0
    row.refresh_from_db()
    assert row.rows_format == "pruned" and row.row_count > 0
    with pytest.raises(ValueError, match="pruned"):
        row.frame()


@pytest.mark.django_db
def test_admin_shows_a_snapshot_read_only_with_its_first_rows(admin_client, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    with emulator_in_thread(source=SyntheticSource(), clock=clock) as emu:
        row = market_snapshot_take_sync(currency="BTC", now=START, config=client_config(emu))
    listing = admin_client.get("/admin/trading/marketsnapshot/")
    assert listing.status_code == 200 and b"BTC" in listing.content
    page = admin_client.get(f"/admin/trading/marketsnapshot/{row.pk}/change/")
    assert page.status_code == 200
    first = row.frame().iloc[0]["instrument_name"]
    assert first.encode() in page.content
    assert admin_client.get("/admin/trading/marketsnapshot/add/").status_code == 403
