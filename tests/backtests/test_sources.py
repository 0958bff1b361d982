"""Market sources: synthetic chains on a generator, a fetch_history file or a CSV; recorded chains
from a snapshot store, from raw files and from the real SVCJ daily set."""

from __future__ import annotations

import functools
import itertools
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtests.engine.fills import REAL_QUOTE, SYNTHETIC_PRICE
from backtests.sources import MarketSource, SourceError, SourceSpec, open_source
from backtests.sources.generator import GENERATOR_ATM_VOL, GENERATOR_PATH_VOL, GENERATOR_SPOT_USD
from trading.exchange.emulator.sources.synthetic import SyntheticConfig
from trading.marketdata.frame import validate_snapshot_frame
from trading.marketdata.history import HISTORY_COLUMNS, history_write
from trading.marketdata.importers import SVCJ_COLUMNS, chain_import
from trading.marketdata.store import snapshots_append
from trading.quant.instruments import format_expiry_code

START = datetime(2024, 3, 1, tzinfo=UTC)
YEAR_NS = 365 * 86_400 * 10**9


def synthetic(**kw: object) -> SourceSpec:
    fields: dict[str, object] = {"kind": "synthetic", "start": START, "end": START + timedelta(days=2)}
    return SourceSpec.model_validate({**fields, **kw})


def steps_of(source: MarketSource) -> list[tuple[datetime, dict[str, object]]]:
    return [(now, dict(step)) for now, step in source]


def error_of(spec: SourceSpec) -> SourceError:
    def first_step() -> None:
        next(iter(open_source(spec)))

    with pytest.raises(SourceError) as info:
        first_step()
    return info.value


def walk(n: int, *, seed: int, start: float = 60_000.0, vol_per_step: float = 0.005) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0.0, vol_per_step, n)))


# --------------------------------------------------------------------------- synthetic: generator


def test_generated_coins_match_the_emulator() -> None:
    emulator = SyntheticConfig()
    assert dict(emulator.spot) == GENERATOR_SPOT_USD
    assert dict(emulator.path_vol) == GENERATOR_PATH_VOL
    assert dict(emulator.atm_vol) == GENERATOR_ATM_VOL


def test_same_spec_same_steps_and_seed_matters() -> None:
    spec = synthetic(currencies=("BTC", "ETH"), seed=7)
    a, b = steps_of(open_source(spec)), steps_of(open_source(spec))
    assert [t for t, _ in a] == [t for t, _ in b]
    for (_, sa), (_, sb) in zip(a, b, strict=True):
        for c in ("BTC", "ETH"):
            x, y = sa[c], sb[c]
            assert x.rv == y.rv and x.dvol == y.dvol  # type: ignore[attr-defined]
            for field in ("instrument_name", "strike", "mark_price_coin", "bid_price_coin", "ask_price_coin"):
                np.testing.assert_array_equal(getattr(x.chain, field), getattr(y.chain, field))  # type: ignore[attr-defined]
    other = open_source(synthetic(currencies=("BTC", "ETH"), seed=8)).index_path
    assert not np.allclose(other["BTC"], open_source(spec).index_path["BTC"])
    path = open_source(spec).index_path
    assert path["BTC"].iloc[0] > 20 * path["ETH"].iloc[0]  # two coins, two levels, two paths


def test_generator_steps_warm_up_and_provenance() -> None:
    source = open_source(synthetic(seed=3))
    steps = steps_of(source)
    assert source.n_steps == len(steps) == 48
    assert source.provenance == SYNTHETIC_PRICE
    assert source.notes == ()
    assert source.description == (
        "synthetic BTC chains every 1h from a seeded generator (seed 3), 2024-03-01 → 2024-03-03"
    )
    times = [t for t, _ in steps]
    assert times[0] == START and all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(times))
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
    assert list(source.index_path.index) == times
    first = steps[0][1]["BTC"]
    # the 30-day warm-up gives realised vol from the first step on
    assert first.rv is not None and 0.1 < first.rv < 2.0  # type: ignore[attr-defined]
    assert first.provenance == SYNTHETIC_PRICE  # type: ignore[attr-defined]
    assert 10.0 < first.dvol < 200.0  # type: ignore[attr-defined]
    for now, step in steps:
        sc = step["BTC"]
        assert sc.chain.timestamp_ns == pd.Timestamp(now).value  # type: ignore[attr-defined]
        assert sc.index_price_usd == pytest.approx(source.index_path.loc[now, "BTC"])  # type: ignore[attr-defined]
        assert len(sc.chain) > 100 and np.isnan(sc.chain.bid_iv).all()  # type: ignore[attr-defined]


def test_generator_path_is_resampled_not_redrawn_per_step() -> None:
    hourly = open_source(synthetic(end=START + timedelta(days=4))).index_path["BTC"]
    four_hourly = open_source(synthetic(end=START + timedelta(days=4), step="4h"))
    assert four_hourly.n_steps == 24
    np.testing.assert_allclose(four_hourly.index_path["BTC"].to_numpy(), hourly.to_numpy()[::4])
    daily = open_source(synthetic(end=START + timedelta(days=4), step="1d"))
    np.testing.assert_allclose(daily.index_path["BTC"].to_numpy(), hourly.to_numpy()[::24])
    assert all(s["BTC"].rv is not None for _, s in daily)  # type: ignore[attr-defined]


def test_longer_run_starts_with_the_same_path() -> None:
    short = open_source(synthetic()).index_path
    long = open_source(synthetic(end=START + timedelta(days=30))).index_path
    pd.testing.assert_frame_equal(short, long.iloc[: len(short)])


def test_iteration_is_lazy_and_repeatable() -> None:
    source = open_source(synthetic(end=START + timedelta(days=60)))
    it = iter(source)
    now, step = next(it)
    assert now == START and "BTC" in step
    again = next(iter(source))
    assert again[0] == START


# --------------------------------------------------------------------------- synthetic: files


def deribit_frame(first: datetime, hours: int, *, seed: int = 1, dvol: bool = True) -> pd.DataFrame:
    close = walk(hours, seed=seed)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range(first, periods=hours, freq="1h", tz="UTC"),
            "open": np.concatenate([[60_000.0], close[:-1]]),
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": 10.0,
            "cost": 1e6,
            "dvol_open": 55.0,
            "dvol_high": 56.0,
            "dvol_low": 54.0,
            "dvol_close": np.linspace(50.0, 60.0, hours) if dvol else np.nan,
        }
    )
    return frame.loc[:, list(HISTORY_COLUMNS)]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_fetch_history_file_with_dvol(tmp_path: Path, suffix: str) -> None:
    frame = deribit_frame(START - timedelta(days=40), 24 * 45)
    path = history_write(frame, tmp_path / f"BTC_BTC-PERPETUAL_60_x{suffix}")
    source = open_source(synthetic(history="deribit", data_path=str(path), step="2h"))
    steps = steps_of(source)
    assert source.n_steps == len(steps) == 24
    assert source.notes == ()
    assert "Deribit's index and DVOL history (BTC_BTC-PERPETUAL_60_x" in source.description
    # candles are stamped at their open: the close of the 23:00 candle is the price at midnight
    close_at = pd.Series(frame["close"].to_numpy(), index=frame["timestamp"] + pd.Timedelta(hours=1))
    at_start = open_source(
        synthetic(history="deribit", data_path=str(path), start=frame["timestamp"].iloc[0])
    )
    assert at_start.index_path["BTC"].iloc[0] == frame["open"].iloc[0]  # the first candle's open
    for now, step in steps:
        sc = step["BTC"]
        assert sc.index_price_usd == pytest.approx(close_at[pd.Timestamp(now)])  # type: ignore[attr-defined]
        dvol_at = frame["dvol_close"].to_numpy()[close_at.index.get_loc(pd.Timestamp(now))]
        assert sc.dvol == pytest.approx(dvol_at)  # type: ignore[attr-defined]
        assert sc.rv is not None  # type: ignore[attr-defined]


def test_history_without_enough_warm_up_says_so(tmp_path: Path) -> None:
    path = history_write(
        deribit_frame(START - timedelta(days=5), 24 * 10, dvol=False), tmp_path / "h.parquet"
    )
    source = open_source(synthetic(history="deribit", data_path=str(path)))
    assert "Deribit's index history (h.parquet)" in source.description
    assert source.notes == (
        "BTC: h.parquet holds only 5 days before the start, less than the 30-day realised-vol window, "
        "so realised vol rests on less history at first",
    )
    steps = steps_of(source)
    assert steps[0][1]["BTC"].rv is not None  # type: ignore[attr-defined]
    # daily steps on 5 days of history: too few returns for realised vol at the start
    daily = open_source(
        synthetic(history="deribit", data_path=str(path), step="1d", end=START + timedelta(days=4))
    )
    (note,) = daily.notes
    assert note.startswith("BTC: h.parquet holds only 5 days before the start")
    assert "realised vol is unknown until the end" in note and "fallback ATM vol of 50%" in note
    assert all(s["BTC"].rv is None for _, s in daily)  # type: ignore[attr-defined]


def test_history_range_and_step_errors(tmp_path: Path) -> None:
    path = history_write(deribit_frame(START - timedelta(days=5), 24 * 10), tmp_path / "BTC_h.parquet")
    early = error_of(synthetic(history="deribit", data_path=str(path), start=START - timedelta(days=9)))
    assert early.field == "start" and "covers 2024-02-25 → 2024-03-06" in str(early)
    late = error_of(synthetic(history="deribit", data_path=str(path), end=START + timedelta(days=20)))
    assert late.field == "end" and "choose an end no later than 2024-03-06 01:00" in str(late)
    fine = error_of(synthetic(history="deribit", data_path=str(path), step="15min"))
    assert fine.field == "step" and "a price every 0 days 01:00:00" in str(fine)
    both = error_of(synthetic(history="deribit", data_path=str(path), currencies=("BTC", "ETH")))
    assert both.field == "currencies" and "one file per currency" in str(both)
    wrong = error_of(synthetic(history="deribit", data_path=str(path), currencies=("ETH",)))
    assert wrong.field == "currencies" and "looks like a BTC history" in str(wrong)
    missing = error_of(synthetic(history="deribit", data_path=str(tmp_path / "nope.parquet")))
    assert missing.field == "data_path" and "no file or folder at" in str(missing)


def test_history_folder_one_file_per_currency(tmp_path: Path) -> None:
    first = START - timedelta(days=31)
    history_write(deribit_frame(first, 24 * 40, seed=1), tmp_path / "BTC_BTC-PERPETUAL_60.parquet")
    eth = deribit_frame(first, 24 * 40, seed=2)
    eth[["open", "high", "low", "close"]] /= 20.0
    history_write(eth, tmp_path / "ETH_ETH-PERPETUAL_60.parquet")
    source = open_source(synthetic(history="deribit", data_path=str(tmp_path), currencies=("BTC", "ETH")))
    steps = steps_of(source)
    assert len(steps) == source.n_steps == 48 and all(set(s) == {"BTC", "ETH"} for _, s in steps)
    assert (source.index_path["BTC"] > 10 * source.index_path["ETH"]).all()


def test_csv_history_detects_columns_and_times(tmp_path: Path) -> None:
    n = 24 * 35
    times = pd.date_range(START - timedelta(days=33), periods=n, freq="1h")
    price = walk(n, seed=4)
    text = pd.DataFrame({"Date": times.strftime("%Y-%m-%d %H:%M:%S"), "Price": price})
    path = tmp_path / "prices.csv"
    text.iloc[::-1].to_csv(path, index=False)  # unsorted on purpose, naive times are UTC
    source = open_source(synthetic(history="csv", data_path=str(path)))
    assert source.description.startswith("synthetic BTC chains every 1h from the price history in prices.csv")
    expected = pd.Series(price, index=times)
    np.testing.assert_allclose(
        source.index_path["BTC"].to_numpy(), expected[source.index_path.index].to_numpy()
    )

    epoch = pd.DataFrame({"timestamp": times.asi8 // 10**6, "close": price, "DVOL": 42.5})  # milliseconds
    epoch.to_csv(tmp_path / "ms.csv", index=False)
    by_ms = open_source(synthetic(history="csv", data_path=str(tmp_path / "ms.csv")))
    pd.testing.assert_frame_equal(by_ms.index_path, source.index_path)
    assert "the price history with DVOL in ms.csv" in by_ms.description
    assert {s["BTC"].dvol for _, s in by_ms} == {42.5}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"time": ["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T02:00Z"], "close": ["1", "x", "3"]},
         "bad.csv, line 3, column 'close': 'x' is not a number"),
        ({"time": ["2024-01-01T00:00Z", "yesterday", "2024-01-01T02:00Z"], "close": ["1", "2", "3"]},
         "bad.csv, line 3, column 'time': cannot read 'yesterday' as a time"),
        ({"time": ["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T02:00Z"], "close": ["1", "-2", "3"]},
         "bad.csv, line 3, column 'close': -2 is not a positive price"),
        ({"time": ["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T01:00Z"], "close": ["1", "2", "3"]},
         "bad.csv, line 4, column 'time': the time 2024-01-01 01:00 is also on line 3"),
        ({"when": ["2024-01-01"], "close": ["1"]}, "bad.csv: found no time column among when, close"),
        ({"time": ["2024-01-01", "2024-01-02"], "volume": ["1", "2"]},
         "found no price column among time, volume"),
    ],
)  # fmt: skip
def test_bad_csv_names_line_and_column(tmp_path: Path, rows: dict[str, list[str]], message: str) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    err = error_of(synthetic(history="csv", data_path=str(path), start=datetime(2024, 1, 1, 1, tzinfo=UTC)))
    assert err.field == "data_path"
    assert message in str(err)


def test_csv_with_a_long_gap_is_refused(tmp_path: Path) -> None:
    times = pd.date_range(START - timedelta(days=10), START + timedelta(days=10), freq="1h")
    keep = (times < START - timedelta(days=2)) | (times > START + timedelta(days=3))
    pd.DataFrame({"time": times[keep].strftime("%Y-%m-%dT%H:%MZ"), "close": 100.0}).to_csv(
        tmp_path / "gap.csv", index=False
    )
    err = error_of(synthetic(history="csv", data_path=str(tmp_path / "gap.csv")))
    assert err.field == "data_path"
    assert "gap.csv has no BTC price between line 193 and line 194" in str(err)


# --------------------------------------------------------------------------- recorded chains


def snapshot_records(
    currency: str, at: datetime, index: float, *, dvol: float | None
) -> list[dict[str, object]]:
    """A small snapshot: a call and a put at the money, expiring in about 30 days."""
    expiry = (at + timedelta(days=30)).replace(hour=8, minute=0, second=0, microsecond=0)
    strike = float(round(index / 1000.0) * 1000.0) if currency == "BTC" else float(round(index / 50.0) * 50.0)
    return [
        {
            "timestamp": at.isoformat(),
            "instrument_name": f"{currency}-{format_expiry_code(expiry)}-{strike:.0f}-{kind[0].upper()}",
            "currency": currency,
            "expiry_datetime": expiry.isoformat(),
            "strike": strike,
            "option_type": kind,
            "underlying": index,
            "underlying_index": "index_price",
            "index_price": index,
            "implied_volatility": 0.5,
            "mark_price": 0.05,
            "bid_price": 0.048,
            "ask_price": 0.052,
            "mid_price": 0.05,
            "open_interest": 100.0,
            "volume": 1.0,
            "dvol": dvol if dvol is not None else np.nan,
        }
        for kind in ("call", "put")
    ]


def snapshot(currency: str, at: datetime, index: float, *, dvol: float | None) -> pd.DataFrame:
    records = snapshot_records(currency, at, index, dvol=dvol)
    return validate_snapshot_frame(pd.DataFrame.from_records(records), source_name="test")


DAY0 = datetime(2025, 6, 1, tzinfo=UTC)
HOURS = 24 * 12


@functools.cache
def recorded_table() -> pd.DataFrame:
    """BTC twice an hour (:05 and :35) with DVOL, ETH every second hour at :10 without, 12 days."""
    btc = walk(2 * HOURS, seed=11, start=100_000.0)
    eth = walk(HOURS, seed=12, start=3_000.0)
    records = []
    for h in range(HOURS):
        at = DAY0 + timedelta(hours=h)
        records += snapshot_records("BTC", at + timedelta(minutes=5), float(btc[2 * h]), dvol=50.0)
        records += snapshot_records("BTC", at + timedelta(minutes=35), float(btc[2 * h + 1]), dvol=51.0)
        if h % 2 == 0:
            records += snapshot_records("ETH", at + timedelta(minutes=10), float(eth[h]), dvol=None)
    return validate_snapshot_frame(pd.DataFrame.from_records(records), source_name="test")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    snapshots_append(root=root, frame=recorded_table())
    return root


def recorded(store: Path, **kw: object) -> SourceSpec:
    fields: dict[str, object] = {
        "kind": "files",
        "start": DAY0 + timedelta(days=10),
        "end": DAY0 + timedelta(days=12),
        "currencies": ("BTC", "ETH"),
        "data_path": str(store),
    }
    return SourceSpec.model_validate({**fields, **kw})


def expected_rv(ts_ns: np.ndarray, index: np.ndarray, at: int) -> float:
    """Close-to-close realised vol over the 30 days up to ``at``, zero mean, by elapsed time."""
    mine = (ts_ns <= at) & (ts_ns >= at - 30 * 86_400 * 10**9)
    t, px = ts_ns[mine], index[mine]
    r = np.diff(np.log(px))
    return math.sqrt(float(np.sum(r * r)) / ((t[-1] - t[0]) / YEAR_NS))


def test_store_steps_group_currencies_and_thin(store: Path) -> None:
    source = open_source(recorded(store))
    steps = steps_of(source)
    assert source.n_steps == len(steps) == 48 and source.provenance == REAL_QUOTE
    assert source.description == (
        f"recorded BTC and ETH chains every 1h from the snapshot store at {store}, "
        "2025-06-11 00:10 → 2025-06-12 23:05 (48 steps)"
    )
    for k, (now, step) in enumerate(steps):
        hour = DAY0 + timedelta(days=10, hours=k)
        if k % 2 == 0:  # ETH at :10, so the step is known at :10
            assert set(step) == {"BTC", "ETH"} and now == hour + timedelta(minutes=10)
            assert step["ETH"].dvol is None  # type: ignore[attr-defined]
        else:
            assert set(step) == {"BTC"} and now == hour + timedelta(minutes=5)
        btc = step["BTC"]
        assert btc.chain.timestamp_ns == pd.Timestamp(hour + timedelta(minutes=5)).value  # type: ignore[attr-defined]
        assert btc.dvol == 50.0 and btc.provenance == REAL_QUOTE  # type: ignore[attr-defined]
    assert list(source.index_path.columns) == ["BTC", "ETH"]
    assert source.index_path["ETH"].isna().sum() == 24


def test_store_rv_counts_every_snapshot_seen(store: Path) -> None:
    btc = recorded_table().query("currency == 'BTC'").drop_duplicates("timestamp")
    ts = pd.DatetimeIndex(btc["timestamp"]).asi8
    index = btc["index_price"].to_numpy()
    source = open_source(recorded(store, step="4h", currencies=("BTC",)))
    steps = steps_of(source)
    assert len(steps) == 12
    for now, step in steps:
        at = pd.Timestamp(now).value
        assert step["BTC"].rv == pytest.approx(expected_rv(ts, index, at))  # type: ignore[attr-defined]
    assert source.notes == ()


def test_store_rv_waits_for_enough_history(store: Path) -> None:
    source = open_source(recorded(store, start=DAY0, end=DAY0 + timedelta(days=8), step="1d"))
    rv = [step["BTC"].rv for _, step in source]  # type: ignore[attr-defined]
    assert rv[:7] == [None] * 7 and rv[7] is not None  # seven days of history first
    assert any("unknown until 2025-06-08 00:05" in n for n in source.notes)


def test_store_range_errors_report_the_data(store: Path) -> None:
    late = error_of(
        recorded(store, start=datetime(2030, 1, 1, tzinfo=UTC), end=datetime(2030, 2, 1, tzinfo=UTC))
    )
    assert late.field == "start"
    assert "holds BTC snapshots from 2025-06-01 00:05 → 2025-06-12 23:35" in str(late)
    assert "none in the requested 2030-01-01 → 2030-02-01" in str(late)
    early = error_of(
        recorded(store, start=datetime(2020, 1, 1, tzinfo=UTC), end=datetime(2020, 2, 1, tzinfo=UTC))
    )
    assert early.field == "end"
    partial = open_source(recorded(store, end=DAY0 + timedelta(days=40)))
    assert any("BTC: the data covers 2025-06-11 00:05 → 2025-06-12 23:05" in n for n in partial.notes)


def test_store_without_the_currency(tmp_path: Path) -> None:
    snapshots_append(root=tmp_path, frame=snapshot("BTC", DAY0, 100_000.0, dvol=None))
    err = error_of(recorded(tmp_path, start=DAY0, end=DAY0 + timedelta(days=1)))
    assert err.field == "currencies" and "holds no ETH snapshots (only BTC)" in str(err)


def test_store_with_a_broken_day_file(tmp_path: Path) -> None:
    snapshots_append(root=tmp_path, frame=snapshot("BTC", DAY0, 100_000.0, dvol=None))
    (tmp_path / "BTC" / "2025-06-02.parquet").write_bytes(b"not parquet")
    err = error_of(recorded(tmp_path, start=DAY0, end=DAY0 + timedelta(days=3), currencies=("BTC",)))
    assert err.field == "data_path" and "2025-06-02.parquet" in str(err)


def test_missing_data_path(tmp_path: Path) -> None:
    err = error_of(recorded(tmp_path / "absent"))
    assert err.field == "data_path" and str(tmp_path / "absent") in str(err)


def write_svcj(table: pd.DataFrame, folder: Path) -> None:
    """Snapshots as SVCJ collector CSVs, one file per day."""
    folder.mkdir()
    table = table.rename(columns={"underlying_index": "underlying_name"})
    for day, part in table.groupby(table["timestamp"].dt.date, sort=True):
        part.loc[:, SVCJ_COLUMNS].to_csv(
            folder / f"deribit_options_snapshot_{day:%Y%m%d}.csv.gz", index=False
        )


def test_raw_files_equal_their_import(tmp_path: Path) -> None:
    table = recorded_table()
    write_svcj(table[table["timestamp"] >= DAY0 + timedelta(days=9)], tmp_path / "raw")
    chain_import(paths=[tmp_path / "raw"], into=tmp_path / "store")
    raw = open_source(recorded(tmp_path / "raw", step="2h"))
    imported = open_source(recorded(tmp_path / "store", step="2h"))
    assert "the SVCJ files in" in raw.description and raw.n_steps == imported.n_steps == 24
    pd.testing.assert_frame_equal(raw.index_path, imported.index_path)
    for (t1, s1), (t2, s2) in zip(raw, imported, strict=True):
        assert t1 == t2 and set(s1) == set(s2)
        for c in s1:
            assert s1[c].rv == s2[c].rv  # type: ignore[attr-defined]
            np.testing.assert_array_equal(s1[c].chain.instrument_name, s2[c].chain.instrument_name)  # type: ignore[attr-defined]
            np.testing.assert_allclose(s1[c].chain.bid_price_coin, s2[c].chain.bid_price_coin)  # type: ignore[attr-defined]
    # one day file of a store, named directly, is read as a harvester file
    day = open_source(recorded(tmp_path / "store" / "BTC" / "2025-06-11.parquet", currencies=("BTC",)))
    assert "the harvester files in" in day.description and day.n_steps == 24


def test_bad_raw_file_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    write_svcj(snapshot("BTC", DAY0, 100_000.0, dvol=None), folder)
    bad = pd.read_csv(folder / "deribit_options_snapshot_20250601.csv.gz", dtype=str)
    bad.loc[1, "strike"] = "lots"
    bad.to_csv(folder / "deribit_options_snapshot_20250601.csv.gz", index=False)
    err = error_of(recorded(folder, start=DAY0, end=DAY0 + timedelta(days=1), currencies=("BTC",)))
    assert err.field == "data_path"
    assert "deribit_options_snapshot_20250601.csv.gz, row 2 (line 3 of the file), column 'strike'" in str(err)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def daily_set(real_data_dir: Path) -> MarketSource:
    folder = real_data_dir / "svcj_deribit_snapshots_2025_2026" / "daily_0915utc"
    spec = SourceSpec(
        kind="files",
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 9, 1, tzinfo=UTC),
        step="1d",
        currencies=("BTC", "ETH"),
        data_path=str(folder),
    )
    return open_source(spec)


def test_real_daily_set(daily_set: MarketSource) -> None:
    steps = steps_of(daily_set)
    assert daily_set.n_steps == len(steps) and len(steps) > 200
    assert daily_set.provenance == REAL_QUOTE
    times = [t for t, _ in steps]
    assert times == sorted(times) and times[0] >= datetime(2026, 1, 1, tzinfo=UTC)
    assert all(set(s) == {"BTC", "ETH"} for _, s in steps)
    btc = [s["BTC"] for _, s in steps]
    assert all(len(sc.chain) > 500 for sc in btc)  # type: ignore[attr-defined]
    late = [sc.rv for sc in btc[40:]]  # type: ignore[attr-defined]
    assert all(rv is not None and 0.1 < rv < 2.0 for rv in late)
    assert daily_set.index_path["BTC"].between(20_000, 300_000).all()


def test_real_data_outside_the_range(real_data_dir: Path) -> None:
    folder = real_data_dir / "svcj_deribit_snapshots_2025_2026" / "stress_week_2026-02-02_to_08"
    spec = SourceSpec(
        kind="files",
        start=datetime(2025, 1, 1, tzinfo=UTC),
        end=datetime(2025, 6, 1, tzinfo=UTC),
        currencies=("BTC",),
        data_path=str(folder),
    )
    err = error_of(spec)
    assert err.field == "end"
    assert "holds BTC snapshots from 2026-02-02" in str(err) and "none in the requested 2025-01-01" in str(
        err
    )


def test_real_tardis_preview(real_data_dir: Path) -> None:
    spec = SourceSpec(
        kind="files",
        start=datetime(2020, 6, 8, tzinfo=UTC),
        end=datetime(2020, 6, 9, tzinfo=UTC),
        data_path=str(real_data_dir / "tardis_docs_preview"),
    )
    source = open_source(spec)
    assert source.description.startswith("recorded BTC chains every 1h from the Tardis files in")
    ((now, step),) = steps_of(source)
    assert now == datetime(2020, 6, 8, tzinfo=UTC) and len(step["BTC"].chain) == 8  # type: ignore[attr-defined]


def test_a_dte_cap_on_synthetic_chains_does_not_change_what_a_strategy_does() -> None:
    """The Lab lists only expiries a strategy can reach: the same trades as over the full listing."""
    from backtests.engine import BacktestConfig, run_backtest
    from trading.strategies.base import StrategyConfig
    from trading.strategies.params import preset

    params = {**preset("covered_call", "moderate"), "min_ivrv": 0.0, "coverage_pct": 50.0}
    strategy = StrategyConfig.from_registry(
        name="cc", logic_kind="covered_call", parameters=params, underlyings=["BTC"], option_types=["call"]
    )
    config = BacktestConfig(strategies=(strategy,), initial_balance_coin={"BTC": 1.0}, keep_rounds=False)
    spec = synthetic(end=START + timedelta(days=12), seed=4)
    full = run_backtest(open_source(spec), config)
    capped = run_backtest(open_source(spec, max_dte_days=params["dte_max"] + 2.0), config)
    assert len(full.trades) >= 2
    assert capped.trades == full.trades and capped.equity == full.equity
    assert capped.round_trips == full.round_trips


def test_synthetic_steps_carry_the_regime_history_from_the_warm_up() -> None:
    """From the first step the regime knows DVOL a day earlier and the 30-day high (no blind day)."""
    source = open_source(synthetic(seed=2))
    first = next(iter(source))[1]["BTC"]
    assert first.dvol_before is not None and first.dvol is not None
    assert first.index_high_usd is not None and first.index_high_usd >= first.index_price_usd
    highs = [step["BTC"].index_high_usd for _, step in source]
    index = source.index_path["BTC"].to_numpy()
    assert all(h is not None and h >= i - 1e-9 for h, i in zip(highs, index, strict=True))


def test_the_generator_takes_a_trend_and_a_volatility() -> None:
    """The same seed with +60 % a year ends higher on average; a higher vol moves more; the
    options are still priced off the path's own realised vol (the chains follow it)."""
    flat = open_source(synthetic(end=START + timedelta(days=60), step="1d", seed=3))
    bull = open_source(synthetic(end=START + timedelta(days=60), step="1d", seed=3, drift_pct=60.0))
    wild = open_source(synthetic(end=START + timedelta(days=60), step="1d", seed=3, vol_pct=90.0))
    up = np.log(bull.index_path["BTC"].to_numpy() / flat.index_path["BTC"].to_numpy())
    assert up[-1] - up[0] == pytest.approx(0.6 * 59 / 365, rel=1e-6)  # same shocks, drift added
    moves = {
        name: float(np.std(np.diff(np.log(s.index_path["BTC"].to_numpy()))))
        for name, s in (("flat", flat), ("wild", wild))
    }
    assert moves["wild"] > 1.5 * moves["flat"]
    assert "+60 % a year expected return" in bull.description
    with pytest.raises(ValueError, match="generator only"):
        synthetic(history="csv", data_path="/x.csv", drift_pct=10.0)
