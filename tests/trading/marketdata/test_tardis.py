"""Tardis options_chain: the real docs preview, streams of day files, bad files, and the download."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Callable, Iterator
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from aiohttp import web
from django.core.management import call_command

from tests.trading.marketdata.conftest import tardis_rows, write_tardis
from trading.marketdata.frame import SnapshotFrameError
from trading.marketdata.importers import chain_import
from trading.marketdata.store import load_snapshots
from trading.marketdata.tardis import tardis_snapshots
from trading.marketdata.tardis_download import TardisDownloadError, tardis_chain_download
from trading.quant.candidates import chain_from_snapshot

PREVIEW = Path("tardis_docs_preview") / "deribit_options_chain_2020-06-08_docs_preview.csv"


@pytest.mark.real_data
def test_the_real_docs_preview_becomes_one_snapshot(real_data_dir: Path) -> None:
    notes: list[str] = []
    snaps = list(tardis_snapshots([real_data_dir / PREVIEW], every=pd.Timedelta("1h"), notes=notes))
    assert len(snaps) == 1 and notes == []
    snap = snaps[0]
    assert (snap["timestamp"] == pd.Timestamp("2020-06-08 00:00", tz="UTC")).all()
    assert len(snap) == 8  # nine rows, one instrument quoted twice
    put = snap.set_index("instrument_name").loc["BTC-9JUN20-9875-P"]
    # the quote of 23:59:59.413, not the one of 00:00:04.454 that came after the mark time
    assert put["mark_price"] == pytest.approx(0.02210436)
    assert put["implied_volatility"] == pytest.approx(0.6289)
    assert put["bid_iv"] == pytest.approx(0.5591) and put["ask_iv"] == pytest.approx(0.6894)
    assert put["underlying"] == pytest.approx(9756.36) and put["underlying_index"] == "SYN.BTC-9JUN20"
    assert put["expiry_datetime"] == pd.Timestamp("2020-06-09 08:00", tz="UTC")
    assert snap["index_price"].iloc[0] == pytest.approx(9756.3, abs=0.1)  # nearest expiry's forward
    assert snap["volume"].isna().all()  # not in Tardis files
    chain = chain_from_snapshot(snap)
    assert chain["mark_iv"].between(0.6, 0.7).all() and chain["t_years"].gt(0).all()
    # a one-second grid covers the seven seconds of data, never a mark time after its end
    fine = list(tardis_snapshots([real_data_dir / PREVIEW], every=pd.Timedelta("1s")))
    times = [f["timestamp"].iloc[0] for f in fine]
    assert times == list(pd.date_range("2020-06-07 23:59:58", "2020-06-08 00:00:04", freq="1s", tz="UTC"))


def _last_quotes(rows: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """What a snapshot at ``t`` should hold, computed the plain way."""
    t_us = t.value // 1000
    seen = rows[rows["timestamp"] <= t_us].sort_values("timestamp", kind="stable")
    last = seen.drop_duplicates("symbol", keep="last")
    return last[last["expiration"] > t_us].set_index("symbol").sort_index()


def test_day_files_form_one_stream_read_in_chunks(make_tardis: Callable[..., Path]) -> None:
    listed = ("2020-06-09 08:00", "2020-06-26 08:00")
    day1 = tardis_rows(start="2020-06-08 22:00", minutes=120, every_s=120, expiries=listed)
    day2 = tardis_rows(start="2020-06-09 00:00", minutes=120, every_s=120, expiries=listed)
    files = [
        make_tardis("deribit_options_chain_2020-06-09_OPTIONS.csv.gz", rows=day2),
        make_tardis("deribit_options_chain_2020-06-08_OPTIONS.csv.gz", rows=day1),
    ]
    snaps = list(tardis_snapshots(files, every=pd.Timedelta("30min"), chunk_rows=50))
    times = [s["timestamp"].iloc[0] for s in snaps]
    assert times == list(pd.date_range("2020-06-08 22:30", "2020-06-09 01:30", freq="30min", tz="UTC"))
    both = pd.concat([day1, day2], ignore_index=True)
    for snap, t in zip(snaps, times, strict=True):
        expected = _last_quotes(both, t)
        got = snap.set_index("instrument_name").sort_index()
        assert list(got.index) == list(expected.index) and len(got) == 12
        assert np.allclose(got["mark_price"], expected["mark_price"])
        assert np.allclose(got["implied_volatility"], expected["mark_iv"] / 100)


def test_expired_and_silent_options_leave_the_snapshot(make_tardis: Callable[..., Path]) -> None:
    rows = tardis_rows(
        start="2020-06-09 07:00", minutes=120, every_s=300, expiries=("2020-06-09 08:00", "2020-06-26 08:00")
    )
    quiet = rows["symbol"].eq("BTC-26JUN20-9000-C") & (
        rows["timestamp"] > pd.Timestamp("2020-06-09 07:10", tz="UTC").value // 1000
    )
    path = make_tardis(rows=rows[~quiet])
    snaps = {
        s["timestamp"].iloc[0].strftime("%H:%M"): s
        for s in tardis_snapshots([path], every=pd.Timedelta("30min"))
    }
    assert sorted(snaps) == ["07:30", "08:00", "08:30"]
    assert len(snaps["07:30"]) == 12  # the quiet one was quoted 20 min ago: within max_age (30 min)
    assert "BTC-26JUN20-9000-C" not in set(snaps["08:00"]["instrument_name"])  # silent for 50 min
    assert (snaps["08:00"]["expiry_datetime"] > snaps["08:00"]["timestamp"]).all()
    assert len(snaps["08:00"]) == 5  # the 9JUN20 options expired at 08:00


def test_a_quote_that_arrives_late_still_counts_for_later_snapshots(make_tardis: Callable[..., Path]) -> None:
    rows = tardis_rows(start="2020-06-08 10:00", minutes=30, every_s=60)
    x = "BTC-9JUN20-10000-C"
    us = pd.Timestamp("2020-06-08 10:04:30", tz="UTC").value // 1000
    rows = rows[(rows["symbol"] != x) | (rows["timestamp"] < us)]  # x goes quiet at 10:04...
    late = (
        rows[rows["symbol"] == x]
        .iloc[[-1]]
        .assign(timestamp=us, local_timestamp=us + 690_000_000, mark_price=0.0999)
    )  # ...but one quote of 10:04:30 reaches the recorder only at 10:16
    rows = pd.concat([rows, late]).sort_values("local_timestamp", kind="stable")
    path = make_tardis(rows=rows)
    snaps = {
        s["timestamp"].iloc[0].strftime("%H:%M"): s.set_index("instrument_name")
        for s in tardis_snapshots(
            [path], every=pd.Timedelta("5min"), max_age=pd.Timedelta("30min"), chunk_rows=40
        )
    }
    assert snaps["10:05"].loc[x, "mark_price"] != pytest.approx(0.0999)  # cut before it arrived
    assert snaps["10:15"].loc[x, "mark_price"] == pytest.approx(0.0999)
    assert snaps["10:25"].loc[x, "mark_price"] == pytest.approx(0.0999)


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda r: r.drop(columns=["mark_iv"]), "missing column mark_iv in the header"),
        (
            lambda r: r.assign(mark_iv=r["mark_iv"].where(r.index != 19, 0.63)),
            "row 20 (line 21 of the file), column 'mark_iv': 0.63 looks like a decimal; "
            "Tardis gives IVs in percent",
        ),
        (
            lambda r: r.assign(symbol=r["symbol"].where(r.index != 12, "BTC-9JUNE20-9000-C")),
            "row 13 (line 14 of the file), column 'symbol': invalid Deribit option name 'BTC-9JUNE20-9000-C'",
        ),
        (
            lambda r: r.assign(timestamp=r["timestamp"] // 1000),
            "row 1 (line 2 of the file), column 'timestamp': 1591696800000 is not a plausible time; "
            "it looks like milliseconds",
        ),
        (
            lambda r: r.assign(mark_price=r["mark_price"] * 9750),
            "row 1 (line 2 of the file), column 'mark_price'",
        ),
        (
            lambda r: r.assign(type=r["type"].where(r.index != 3, "straddle")),
            "row 4 (line 5 of the file), column 'type'",
        ),
    ],
)
def test_bad_tardis_files_are_refused_naming_file_row_and_column_and_nothing_is_written(
    tmp_path: Path, spoil: Any, expected: str
) -> None:
    good = write_tardis(
        tmp_path / "deribit_options_chain_2020-06-08_OPTIONS.csv.gz",
        tardis_rows(start="2020-06-08 10:00", minutes=12),
    )
    bad_rows = spoil(tardis_rows(start="2020-06-09 10:00", minutes=5))
    bad = write_tardis(tmp_path / "deribit_options_chain_2020-06-09_OPTIONS.csv.gz", bad_rows)
    into = tmp_path / "store"
    with pytest.raises(SnapshotFrameError) as err:
        chain_import(paths=[good, bad], into=into, every="10min", chunk_rows=7)
    assert str(err.value).startswith(str(bad))
    assert expected in str(err.value)
    assert sorted(p.name for p in into.rglob("*")) == []  # nothing half-imported, no staging left


# --- download ----------------------------------------------------------------------------------

API_KEY = "td-test-key-123"


@pytest.fixture
def tardis_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A local stand-in for datasets.tardis.dev: gzip CSVs per day; a key is needed except on the 1st."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    state: dict[str, Any] = {"requests": [], "empty": set()}

    async def dataset(request: web.Request) -> web.StreamResponse:
        m = request.match_info
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
        state["requests"].append((request.path, request.headers.get("Authorization")))
        if day.day != 1 and request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.Response(status=401, text="Invalid API key")
        if day in state["empty"]:
            body = gzip.compress(b"")
        else:
            csv = tardis_rows(start=f"{day} 00:00", minutes=60, every_s=600).to_csv(index=False)
            body = gzip.compress(csv.encode())
        return web.Response(body=body, headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get(r"/v1/deribit/options_chain/{y:\d{4}}/{m:\d{2}}/{d:\d{2}}/OPTIONS.csv.gz", dataset)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(app, access_log=None)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    state["endpoint"] = f"http://127.0.0.1:{port}/v1"
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_without_a_key_only_first_of_month_days_download(
    tardis_server: dict[str, Any], tmp_path: Path
) -> None:
    got = tardis_chain_download(
        start=date(2020, 6, 30),
        end=date(2020, 7, 1),
        download_dir=tmp_path,
        endpoint=tardis_server["endpoint"],
    )
    assert [p.name for p in got.paths] == ["deribit_options_chain_2020-07-01_OPTIONS.csv.gz"]
    assert got.skipped_days == [date(2020, 6, 30)]
    assert [auth for _, auth in tardis_server["requests"]] == [None]
    frame = pd.read_csv(got.paths[0])
    assert len(frame) == 72 and list(frame.columns)[:3] == ["exchange", "symbol", "timestamp"]
    with pytest.raises(
        TardisDownloadError, match="no day from 2020-06-10 to 2020-06-12 is the first of a month"
    ):
        tardis_chain_download(start=date(2020, 6, 10), end=date(2020, 6, 12), download_dir=tmp_path)


def test_with_a_key_every_day_downloads_and_a_wrong_key_is_refused_clearly(
    tardis_server: dict[str, Any], tmp_path: Path
) -> None:
    tardis_server["empty"].add(date(2020, 6, 9))
    got = tardis_chain_download(
        start=date(2020, 6, 8),
        end=date(2020, 6, 10),
        download_dir=tmp_path,
        api_key=API_KEY,
        endpoint=tardis_server["endpoint"],
    )
    assert [p.name[22:32] for p in got.paths] == ["2020-06-08", "2020-06-10"]
    assert got.empty_days == [date(2020, 6, 9)] and got.skipped_days == []
    assert {auth for _, auth in tardis_server["requests"]} == {f"Bearer {API_KEY}"}
    with pytest.raises(TardisDownloadError, match="HTTP 401"):
        tardis_chain_download(
            start=date(2020, 6, 12),
            end=date(2020, 6, 12),
            download_dir=tmp_path,
            api_key="wrong",
            endpoint=tardis_server["endpoint"],
        )


def test_download_then_import_with_the_commands(
    tardis_server: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path
    settings.TARDIS_API_KEY = ""
    out = StringIO()
    call_command(
        "fetch_history",
        "--tardis-chain",
        "--start=2020-07-01",
        "--end=2020-07-02",
        f"--tardis-endpoint={tardis_server['endpoint']}",
        stdout=out,
    )
    downloaded = tmp_path / "tardis" / "deribit_options_chain_2020-07-01_OPTIONS.csv.gz"
    assert str(downloaded) in out.getvalue() and "skipped 1 days that need TARDIS_API_KEY" in out.getvalue()
    out = StringIO()
    call_command("import_chain", str(downloaded), "--every=10min", stdout=out)
    assert "read 1 file (tardis) into" in out.getvalue()
    assert (
        "BTC: 5 snapshots, 60 rows, 2020-07-01 00:10:00+00:00 to 2020-07-01 00:50:00+00:00" in out.getvalue()
    )
    stored = list(load_snapshots(tmp_path / "chains", "BTC"))
    assert [ts.strftime("%H:%M") for ts, _ in stored] == ["00:10", "00:20", "00:30", "00:40", "00:50"]
    assert all(len(frame) == 12 for _, frame in stored)
