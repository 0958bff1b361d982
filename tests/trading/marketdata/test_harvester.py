"""The chain harvester: Parquet day files written crash-safely, read back with one function."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.trading.marketdata.conftest import START_MS
from trading.exchange.client import DeribitClient
from trading.exchange.emulator import DeribitEmulator
from trading.marketdata import store
from trading.marketdata.fetch import chain_snapshot_fetch
from trading.marketdata.harvester import chains_harvest_async
from trading.marketdata.store import load_snapshots, read_snapshot_file, snapshot_day_path, snapshots_append

START = datetime.fromtimestamp(START_MS / 1000, UTC)


async def test_harvest_writes_day_files_that_load_snapshots_reads_back(
    emulator: DeribitEmulator, client: DeribitClient, tmp_path: Path
) -> None:
    report = await chains_harvest_async(client=client, currencies=["BTC", "ETH"], root=tmp_path, now=START)
    assert report.ok and [r.currency for r in report.results] == ["BTC", "ETH"]
    btc = report.results[0]
    assert (
        btc.path
        == snapshot_day_path(tmp_path, "BTC", START.date())
        == tmp_path / "BTC" / "2026-01-05.parquet"
    )
    assert btc.quality is not None and btc.quality.ok and btc.rows > 100
    expected = await chain_snapshot_fetch(client=client, currency="BTC", now=START)
    loaded = list(load_snapshots(tmp_path, "BTC"))
    assert [ts for ts, _ in loaded] == [pd.Timestamp(START)]
    pd.testing.assert_frame_equal(loaded[0][1], expected.frame)

    # an hour later a second snapshot joins the same day file; running twice at one time stores it once
    await emulator.advance(3600)
    later = START + timedelta(hours=1)
    for _ in range(2):
        await chains_harvest_async(client=client, currencies=["BTC"], root=tmp_path, now=later)
    assert [ts for ts, _ in load_snapshots(tmp_path, "BTC")] == [pd.Timestamp(START), pd.Timestamp(later)]
    # bounds are inclusive and a bare date means the whole day
    assert len(list(load_snapshots(tmp_path, "BTC", start=later))) == 1
    assert len(list(load_snapshots(tmp_path, "BTC", end=START))) == 1
    assert len(list(load_snapshots(tmp_path, "BTC", "2026-01-05", "2026-01-05"))) == 2
    assert list(load_snapshots(tmp_path, "BTC", "2026-01-06")) == []

    # the next UTC day goes to the next file
    await emulator.advance(16 * 3600)
    tomorrow = START + timedelta(hours=17)
    await chains_harvest_async(client=client, currencies=["BTC"], root=tmp_path, now=tomorrow)
    assert sorted(p.name for p in (tmp_path / "BTC").glob("*.parquet")) == [
        "2026-01-05.parquet",
        "2026-01-06.parquet",
    ]
    assert len(list(load_snapshots(tmp_path, "BTC"))) == 3


async def test_one_currency_failing_does_not_stop_the_other(
    emulator: DeribitEmulator, client: DeribitClient, tmp_path: Path
) -> None:
    emulator.faults.error(13020, methods="public/get_book_summary_by_currency", times=1)
    report = await chains_harvest_async(client=client, currencies=["BTC", "ETH"], root=tmp_path, now=START)
    assert not report.ok
    failed = [r for r in report.results if r.error]
    assert len(failed) == 1 and failed[0].path is None
    assert len([r for r in report.results if r.path is not None]) == 1
    assert report.as_dict()["ok"] is False


def _small_frame(seconds: int = 0) -> pd.DataFrame:
    from tests.trading.marketdata.test_frame import raw_rows
    from trading.marketdata.frame import validate_snapshot_frame

    frame = validate_snapshot_frame(raw_rows(), source_name="test")
    return frame.assign(timestamp=frame["timestamp"] + pd.Timedelta(seconds=seconds))


def test_a_write_that_dies_half_way_leaves_the_old_file_and_no_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots_append(root=tmp_path, frame=_small_frame(0))
    path = tmp_path / "BTC" / "2026-01-05.parquet"
    before = path.read_bytes()

    def dying_write(table: Any, where: Any, **kwargs: Any) -> None:
        where.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(store.pq, "write_table", dying_write)
    with pytest.raises(OSError, match="disk full"):
        snapshots_append(root=tmp_path, frame=_small_frame(60))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "2026-01-05.parquet"]
    assert len(list(load_snapshots(tmp_path, "BTC"))) == 1


def _write_forever(root: str, appended: Any) -> None:
    """Runs in a forked child: appends ever more snapshots of 3,000 options to one day file."""
    base = _small_frame()
    base = pd.concat([base] * 1000, ignore_index=True)
    base["instrument_name"] = [f"BTC-27MAR26-{1000 + i}-C" for i in range(len(base))]
    base["strike"] = 1000.0 + np.arange(len(base))
    base["option_type"] = "call"
    base["expiry_datetime"] = pd.Timestamp("2026-03-27 08:00", tz="UTC")
    for i in range(10_000):
        snapshots_append(root=root, frame=base.assign(timestamp=base["timestamp"] + pd.Timedelta(i, "s")))
        appended.value = i + 1


def test_killing_the_writer_mid_write_never_corrupts_the_day_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    appended = ctx.Value("i", 0)
    child = ctx.Process(target=_write_forever, args=(str(tmp_path), appended), daemon=True)
    child.start()
    folder = tmp_path / "BTC"
    try:
        deadline = time.monotonic() + 20
        while appended.value < 3 and time.monotonic() < deadline:  # let a few appends land
            time.sleep(0.005)
        while time.monotonic() < deadline:  # then kill it while a rewrite is under way
            if any(name.endswith(".tmp") for name in os.listdir(folder)):
                os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
                break
            time.sleep(0.0005)
        child.join(10)
    finally:
        if child.is_alive():
            child.kill()
    assert child.exitcode == -signal.SIGKILL
    debris = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert debris, "the writer was not caught mid-write"
    path = folder / "2026-01-05.parquet"
    frame = read_snapshot_file(path)  # a whole Parquet file, never half of one
    snapshots = frame.groupby("timestamp").size()
    assert len(snapshots) >= 3 and (snapshots == 3_000).all()
    assert pq.ParquetFile(path).metadata.num_rows == len(frame)
    # the killed writer's temp file is hidden from readers, and the next writer clears it away
    snapshots_append(root=tmp_path, frame=_small_frame(99_999))
    assert len(list(load_snapshots(tmp_path, "BTC"))) == len(snapshots) + 1
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())


@pytest.mark.django_db
def test_the_celery_task_harvests_from_the_exchange_in_the_settings(
    threaded_emulator: DeribitEmulator, settings: Any, tmp_path: Path
) -> None:
    from optionsbot.celery import app
    from trading.tasks import harvest_chains  # importing the module registers the task

    settings.TRADING_MODE = "sim"
    settings.DERIBIT_BASE_URL = threaded_emulator.base_url
    settings.DATA_DIR = tmp_path
    settings.HARVEST_CURRENCIES = ["BTC", "ETH"]
    settings.MARKET_SNAPSHOT_MAX_AGE_SECONDS = 10**9  # the emulator's clock stands at 2026-01-05
    assert "trading.tasks.harvest_chains" in app.tasks
    result = harvest_chains.apply().get()
    assert result["ok"] is True
    assert {r["currency"] for r in result["results"]} == {"BTC", "ETH"}
    for cur in ("BTC", "ETH"):
        assert [ts for ts, _ in load_snapshots(tmp_path / "harvest", cur)] == [pd.Timestamp(START)]
