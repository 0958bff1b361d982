"""The SVCJ snapshot loader: column names, types and units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading.quant.datasets import load_svcj_snapshot, load_svcj_snapshots, svcj_daily_files

HEADER = (
    "timestamp,instrument_name,underlying,underlying_name,option_type,strike,expiry_datetime,"
    "time_to_maturity,bid_price,ask_price,mark_price,mid_price,futures_price,futures_instrument_name,"
    "implied_volatility,delta,vega,open_interest,volume,bid_ask_spread,currency,index_price,volume_usd"
)
ROW = (
    "2025-12-30T17:31:15.944181+00:00,BTC-16JAN26-82000-C,88728.94666666667,SYN.BTC-16JAN26,call,82000.0,"
    "2026-01-16T08:00:00+00:00,0.045457324252129436,0.084,0.088,0.08550357,0.086,88728.94666666667,"
    "SYN.BTC-16JAN26,0.43229999999999996,0.81644,50.27111,0.3,0.0,0.004,BTC,88530.23,0.0"
)
ROW_PUT_NO_BID = (
    "2025-12-30T17:31:15.944181+00:00,ETH-27MAR26-2000-P,3004.22,ETH-27MAR26,put,2000.0,"
    "2026-03-27T08:00:00+00:00,0.237,,0.0065,0.0061,0.0061,3004.22,ETH-27MAR26,0.71,-0.06,1.2,10.0,0.0,,ETH,2978.1,0.0"
)


def test_columns_types_and_units(tmp_path: Path) -> None:
    path = tmp_path / "snap.csv"
    path.write_text(f"{HEADER}\n{ROW}\n{ROW_PUT_NO_BID}\n")
    df = load_svcj_snapshot(path)
    assert list(df.columns[:8]) == [
        "timestamp", "instrument_name", "currency", "is_call", "strike", "expiry", "t_years", "forward",
    ]  # fmt: skip
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(df["expiry"].dtype) == "datetime64[ns, UTC]"
    assert df["is_call"].tolist() == [True, False]
    assert df["expiry"].iloc[0] == pd.Timestamp("2026-01-16T08:00Z")
    # 365-day year from the timestamps, where the file's own column uses 365.25 days.
    expected = (
        pd.Timestamp("2026-01-16T08:00Z") - pd.Timestamp("2025-12-30T17:31:15.944181Z")
    ).total_seconds()
    assert df["t_years"].iloc[0] == pytest.approx(expected / (365 * 86400), rel=1e-15)
    assert df["t_years"].iloc[0] == pytest.approx(0.045457324252129436 * 365.25 / 365, rel=1e-9)
    assert df["forward"].iloc[0] == 88728.94666666667
    assert df["mark_iv"].iloc[0] == pytest.approx(0.4323)
    assert df["underlying_index"].tolist() == ["SYN.BTC-16JAN26", "ETH-27MAR26"]
    assert np.isnan(df["bid_price"].iloc[1])
    for column in ("strike", "mark_price", "delta", "vega", "open_interest"):
        assert df[column].dtype == np.float64


def test_unknown_option_type_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "snap.csv"
    path.write_text(f"{HEADER}\n{ROW.replace(',call,', ',straddle,')}\n")
    with pytest.raises(ValueError, match="straddle"):
        load_svcj_snapshot(path)


def test_empty_inputs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no snapshot"):
        load_svcj_snapshots([])
    with pytest.raises(FileNotFoundError, match="no SVCJ snapshots"):
        svcj_daily_files(tmp_path)


@pytest.mark.real_data
def test_loads_a_real_snapshot(real_data_dir: Path) -> None:
    files = svcj_daily_files(real_data_dir)
    assert len(files) == 236
    df = load_svcj_snapshot(files[0])
    assert 1240 <= len(df) <= 1968
    assert set(df["currency"]) == {"BTC", "ETH"}
    assert df["timestamp"].nunique() == 1
    assert (df["t_years"] > 0).all()
    assert df["mark_iv"].between(0.05, 5.0).all()
