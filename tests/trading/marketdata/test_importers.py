"""import_chain on the real files in deribit_data (SVCJ daily, stress week, Tardis preview) and on
broken copies: all or nothing, errors that name file, row and column."""

from __future__ import annotations

import gzip
import shutil
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from trading.marketdata.frame import SnapshotFrameError
from trading.marketdata.importers import chain_files, chain_format_detect, chain_import
from trading.marketdata.store import load_snapshots, snapshot_files
from trading.quant.candidates import chain_from_snapshot
from trading.quant.datasets import load_svcj_snapshot

pytestmark = pytest.mark.real_data

SVCJ = Path("svcj_deribit_snapshots_2025_2026")
STRESS = SVCJ / "stress_week_2026-02-02_to_08"
DAILY = SVCJ / "daily_0915utc"
PREVIEW = Path("tardis_docs_preview") / "deribit_options_chain_2020-06-08_docs_preview.csv"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_stress_week_imports_whole_and_replays_as_chains(real_data_dir: Path, tmp_path: Path) -> None:
    files = chain_files([real_data_dir / STRESS])
    assert len(files) == 27 and {chain_format_detect(f) for f in files} == {"svcj"}
    report = chain_import(paths=[real_data_dir / STRESS], into=tmp_path)
    assert report.snapshots == {"BTC": 27, "ETH": 27}
    assert report.first["BTC"] == pd.Timestamp("2026-02-02 04:50:19.002806", tz="UTC")
    assert len(report.written) == 14  # 7 days x 2 currencies
    snaps = list(load_snapshots(tmp_path, "BTC"))
    assert len(snaps) == 27 and sum(len(f) for _, f in snaps) == report.rows["BTC"]
    friday = pd.Timestamp("2026-02-06 08:00", tz="UTC")
    for ts, frame in snaps:
        assert (frame["expiry_datetime"] > ts).all()
        assert ("BTC-6FEB26" in " ".join(frame["instrument_name"])) == (ts < friday)
    # the values are the file's, in the units of the snapshot representation
    ts, frame = snaps[10]
    original = load_svcj_snapshot(next(f for f in files if ts.strftime("%Y%m%dT%H%M%S") in f.name))
    original = original[original["currency"] == "BTC"].set_index("instrument_name").sort_index()
    mine = frame.set_index("instrument_name").sort_index()
    assert list(mine.index) == list(original.index)
    pd.testing.assert_series_equal(mine["implied_volatility"], original["mark_iv"], check_names=False)
    pd.testing.assert_series_equal(mine["underlying"], original["forward"], check_names=False)
    pd.testing.assert_series_equal(mine["mark_price"], original["mark_price"], check_names=False)
    chain = chain_from_snapshot(frame)
    assert chain["t_years"].gt(0).all() and chain["bid_iv"].notna().mean() > 0.5


def test_daily_snapshots_of_one_currency_and_a_time_range(real_data_dir: Path, tmp_path: Path) -> None:
    files = chain_files([real_data_dir / DAILY])
    assert len(files) == 236
    picked = files[:4] + files[100:102]
    report = chain_import(paths=picked, into=tmp_path, currency="BTC")
    assert report.snapshots == {"BTC": 6} and not (tmp_path / "ETH").exists()
    assert report.first["BTC"] == pd.Timestamp("2025-12-30 17:31:15.944181", tz="UTC")
    assert [p.name for p in snapshot_files(tmp_path, "BTC", "2025-12-31", "2026-01-02")] == [
        "2025-12-31.parquet",
        "2026-01-01.parquet",
        "2026-01-02.parquet",
    ]
    in_range = list(load_snapshots(tmp_path, "BTC", "2025-12-31", "2026-01-02"))
    assert [ts.date().isoformat() for ts, _ in in_range] == ["2025-12-31", "2026-01-01", "2026-01-02"]
    # importing again changes nothing
    before = _tree(tmp_path)
    again = chain_import(paths=picked, into=tmp_path, currency="BTC")
    assert again.snapshots == {"BTC": 6}
    assert {k: len(v) for k, v in _tree(tmp_path).items()} == {k: len(v) for k, v in before.items()}
    assert len(list(load_snapshots(tmp_path, "BTC"))) == 6


def test_harvest_files_and_the_tardis_preview_import_too(real_data_dir: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    chain_import(paths=chain_files([real_data_dir / STRESS])[:4], into=first)
    copy = tmp_path / "copy"
    report = chain_import(paths=[first / "ETH", real_data_dir / PREVIEW], into=copy, every="1h")
    assert set(report.formats.values()) == {"harvest", "tardis"}
    assert report.snapshots == {"ETH": 4, "BTC": 1}
    for (ts_a, a), (ts_b, b) in zip(load_snapshots(first, "ETH"), load_snapshots(copy, "ETH"), strict=True):
        assert ts_a == ts_b
        pd.testing.assert_frame_equal(a, b)
    [(ts, preview)] = list(load_snapshots(copy, "BTC"))
    assert ts == pd.Timestamp("2020-06-08", tz="UTC") and len(preview) == 8


def _spoiled_copy(src: Path, dst: Path, row: int, column: str, value: object) -> Path:
    frame = pd.read_csv(src)
    frame[column] = frame[column].astype(object)
    frame.loc[row - 1, column] = value
    with gzip.open(dst, "wt") as fh:
        frame.to_csv(fh, index=False)
    return dst


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (
            "implied_volatility",
            48.5,
            "row 7 (line 8 of the file), column 'implied_volatility': 48.5 looks like a percentage",
        ),
        ("mark_price", 2150.0, "row 7 (line 8 of the file), column 'mark_price': 2150 is not a coin price"),
        (
            "instrument_name",
            "BTC-6FEB26-80000",
            "row 7 (line 8 of the file), column 'instrument_name': invalid "
            "Deribit option name 'BTC-6FEB26-80000'",
        ),
    ],
)
def test_one_bad_file_imports_nothing_and_names_file_row_and_column(
    real_data_dir: Path, tmp_path: Path, column: str, value: object, expected: str
) -> None:
    files = chain_files([real_data_dir / STRESS])
    store = tmp_path / "store"
    chain_import(paths=files[:1], into=store)
    before = _tree(store)
    bad = _spoiled_copy(files[2], tmp_path / files[2].name, 7, column, value)
    with pytest.raises(SnapshotFrameError) as err:
        chain_import(paths=[files[1], bad, files[3]], into=store)
    assert str(err.value).startswith(f"{bad}, row 7")
    assert expected in str(err.value)
    assert _tree(store) == before  # not a byte changed, no staging left behind


def test_missing_columns_and_unknown_files_are_named(real_data_dir: Path, tmp_path: Path) -> None:
    src = chain_files([real_data_dir / STRESS])[0]
    frame = pd.read_csv(src).drop(columns=["expiry_datetime"])
    bad = tmp_path / "no_expiry.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(SnapshotFrameError, match=r"no_expiry.csv, column 'expiry_datetime': missing column"):
        chain_import(paths=[bad], into=tmp_path / "store")
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    with pytest.raises(SnapshotFrameError, match=r"odd\.csv: unknown format"):
        chain_import(paths=[odd], into=tmp_path / "store")
    with pytest.raises(SnapshotFrameError, match="no such file or folder"):
        chain_import(paths=[tmp_path / "nowhere"], into=tmp_path / "store")


def test_the_import_chain_command(real_data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for f in chain_files([real_data_dir / STRESS])[:2]:
        shutil.copy(f, folder / f.name)
    out = StringIO()
    call_command("import_chain", str(folder), f"--into={tmp_path / 'store'}", "--currency=eth", stdout=out)
    text = out.getvalue()
    assert f"read 2 files (svcj) into {tmp_path / 'store'}" in text
    assert "ETH: 2 snapshots, 1708 rows" in text and "BTC:" not in text and "1 day file written" in text
    _spoiled_copy(
        folder / sorted(p.name for p in folder.iterdir())[1], folder / "z.csv.gz", 3, "strike", "lots"
    )
    with pytest.raises(
        CommandError, match=r"nothing imported: .*z.csv.gz, row 3 \(line 4 of the file\), column 'strike'"
    ):
        call_command("import_chain", str(folder), f"--into={tmp_path / 'store'}")
