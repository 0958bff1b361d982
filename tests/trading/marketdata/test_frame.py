"""The one snapshot representation: columns, types, validation errors that name row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trading.exchange.models import BookSummary
from trading.marketdata.frame import (
    ALL_COLUMNS,
    OPTIONAL_COLUMNS,
    SNAPSHOT_COLUMNS,
    SnapshotFrameError,
    empty_snapshot_frame,
    frame_from_book_summaries,
    frame_from_parquet_bytes,
    frame_to_parquet_bytes,
    validate_snapshot_frame,
)
from trading.quant.candidates import CHAIN_COLUMNS, chain_from_snapshot


def raw_rows() -> pd.DataFrame:
    ts = "2026-01-05T09:00:00+00:00"
    return pd.DataFrame(
        {
            "timestamp": [ts] * 3,
            "instrument_name": ["BTC-9JAN26-90000-C", "BTC-9JAN26-90000-P", "BTC-27MAR26-100000-C"],
            "currency": ["BTC"] * 3,
            "expiry_datetime": ["2026-01-09T08:00:00+00:00"] * 2 + ["2026-03-27T08:00:00+00:00"],
            "strike": [90000.0, 90000.0, 100000.0],
            "option_type": ["call", "put", "call"],
            "underlying": [90100.0, 90100.0, 91500.0],
            "underlying_index": ["SYN.BTC-9JAN26", "SYN.BTC-9JAN26", "BTC-27MAR26"],
            "index_price": [90000.0] * 3,
            "implied_volatility": [0.45, 0.46, 0.5],
            "mark_price": [0.0210, 0.0199, 0.0450],
            "bid_price": [0.0205, 0.0, None],
            "ask_price": [0.0215, 0.0205, 0.0470],
            "mid_price": [0.0210, None, None],
            "open_interest": [12.0, 3.5, 100.0],
            "volume": [1.0, 0.0, 5.0],
        }
    )


def test_columns_are_the_input_of_chain_from_snapshot_plus_the_optional_ones() -> None:
    frame = validate_snapshot_frame(raw_rows(), source_name="test")
    assert tuple(frame.columns) == ALL_COLUMNS == (*SNAPSHOT_COLUMNS, *OPTIONAL_COLUMNS)
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["expiry_datetime"].dtype) == "datetime64[ns, UTC]"
    assert all(frame[c].dtype == np.float64 for c in ("strike", "underlying", "mark_price", "dvol", "delta"))
    chain = chain_from_snapshot(frame)
    assert list(chain.columns) == list(CHAIN_COLUMNS)
    assert chain["forward"].tolist() == [90100.0, 90100.0, 91500.0]
    assert chain["mark_iv"].tolist() == [0.45, 0.46, 0.5]


def test_no_quote_becomes_nan_and_mid_is_filled_only_from_two_sides() -> None:
    frame = validate_snapshot_frame(raw_rows(), source_name="test")
    assert np.isnan(frame.loc[1, "bid_price"]) and np.isnan(frame.loc[2, "bid_price"])  # 0 and null: no bid
    assert frame.loc[0, "mid_price"] == pytest.approx(0.021)
    assert np.isnan(frame.loc[1, "mid_price"]) and np.isnan(frame.loc[2, "mid_price"])
    assert frame["dvol"].isna().all()


def test_parquet_bytes_round_trip_exactly() -> None:
    frame = validate_snapshot_frame(raw_rows(), source_name="test")
    back = frame_from_parquet_bytes(frame_to_parquet_bytes(frame))
    pd.testing.assert_frame_equal(back, frame)
    empty = empty_snapshot_frame()
    assert list(empty.columns) == list(ALL_COLUMNS) and empty.empty


def test_book_summaries_convert_mark_iv_from_percent() -> None:
    row = {
        "instrument_name": "BTC-10MAR20-7750-C",
        "base_currency": "BTC",
        "quote_currency": "USD",
        "volume": 124.1,
        "bid_price": 0.0185,
        "ask_price": 0.021,
        "mid_price": 0.01975,
        "mark_price": 0.01984559,
        "mark_iv": 80.12,
        "last": 0.0205,
        "high": 0.0295,
        "low": 0.0095,
        "open_interest": 121.8,
        "creation_timestamp": 1583783678366,
        "underlying_price": 7856.445926872601,
        "underlying_index": "SYN.BTC-10MAR20",
    }
    linear = {**row, "instrument_name": "BTC_USDC-10MAR20-7750-C"}
    summaries = [BookSummary.model_validate(row), BookSummary.model_validate(linear)]
    when = pd.Timestamp(1583783678366, unit="ms", tz="UTC").to_pydatetime()
    frame = frame_from_book_summaries(
        summaries, currency="BTC", timestamp=when, index_price=7856.29, dvol=95.5
    )
    assert len(frame) == 1  # the linear option is left out
    first = frame.iloc[0]
    assert first["implied_volatility"] == pytest.approx(0.8012)
    assert first["underlying"] == pytest.approx(7856.445926872601)
    assert first["expiry_datetime"] == pd.Timestamp("2020-03-10 08:00", tz="UTC")
    assert first["option_type"] == "call" and first["strike"] == 7750.0
    assert first["dvol"] == 95.5 and first["index_price"] == 7856.29


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda df: df.drop(columns=["implied_volatility"]),
            "test.csv, column 'implied_volatility': missing column",
        ),
        (
            lambda df: df.assign(implied_volatility=[45.0, 46.0, 50.0]),
            "test.csv, row 1 (line 2 of the file), column 'implied_volatility': 45 looks like a percentage",
        ),
        (
            lambda df: df.assign(mark_price=[0.021, 1800.0, 0.045]),
            "row 2 (line 3 of the file), column 'mark_price': 1800 is not a coin price",
        ),
        (
            lambda df: df.assign(
                instrument_name=["BTC-9JAN26-90000-C", "BTC-9JAN26-90000-X", "BTC-27MAR26-100000-C"]
            ),
            "row 2 (line 3 of the file), column 'instrument_name': invalid Deribit option name "
            "'BTC-9JAN26-90000-X'",
        ),
        (
            lambda df: df.assign(strike=[90000.0, 95000.0, 100000.0]),
            "row 2 (line 3 of the file), column 'strike'",
        ),
        (
            lambda df: df.assign(currency=["BTC", "ETH", "BTC"]),
            "row 2 (line 3 of the file), column 'currency'",
        ),
        (
            lambda df: df.assign(
                timestamp=["2026-01-05T09:00:00+00:00", "soon", "2026-01-05T09:00:00+00:00"]
            ),
            "row 2 (line 3 of the file), column 'timestamp': cannot read 'soon' as a time",
        ),
        (
            lambda df: df.assign(underlying=["90100", "n/a", "91500"]),
            "column 'underlying': 'n/a' is not a number",
        ),
        (
            lambda df: df.assign(dvol=[0.45, 0.45, 0.45]),
            "row 1 (line 2 of the file), column 'dvol': 0.45 is not a DVOL",
        ),
        (lambda df: df.assign(timestamp=pd.to_datetime(df["timestamp"]).dt.tz_localize(None)), "naive"),
    ],
)
def test_bad_tables_are_refused_naming_row_and_column(change, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SnapshotFrameError) as err:
        validate_snapshot_frame(change(raw_rows()), source_name="test.csv", line_offset=1)
    assert expected in str(err.value)


def test_linear_options_are_refused() -> None:
    rows = raw_rows().assign(
        instrument_name=["BTC_USDC-9JAN26-90000-C", "BTC-9JAN26-90000-P", "BTC-27MAR26-100000-C"]
    )
    with pytest.raises(SnapshotFrameError, match=r"row 1, column 'instrument_name': .*linear"):
        validate_snapshot_frame(rows, source_name="x")
