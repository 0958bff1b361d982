"""Chain tables from real snapshots and the seller's candidate table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading.quant import black76
from trading.quant.candidates import CANDIDATE_COLUMNS, CHAIN_COLUMNS, candidate_table, chain_from_snapshot

SNAPSHOT = "svcj_deribit_snapshots_2025_2026/daily_0915utc/deribit_options_snapshot_20260218T093905Z.csv.gz"


@pytest.fixture(scope="module")
def snapshot(real_data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(real_data_dir / SNAPSHOT)


@pytest.fixture(scope="module")
def chain(snapshot: pd.DataFrame) -> pd.DataFrame:
    return chain_from_snapshot(snapshot)


@pytest.mark.real_data
def test_chain_from_snapshot(snapshot: pd.DataFrame, chain: pd.DataFrame) -> None:
    assert list(chain.columns) == list(CHAIN_COLUMNS)
    assert len(chain) == len(snapshot)
    # Deribit's 365-day year, not the file's 365.25
    ratio = chain["t_years"] / snapshot["time_to_maturity"]
    assert ratio.median() == pytest.approx(365.25 / 365.0, rel=1e-4)
    # quote IVs reproduce the quotes through Black-76 on the forward
    for side in ("bid", "ask"):
        ok = chain[f"{side}_iv"].notna()
        assert ok.mean() > 0.6
        sub = chain[ok]
        repriced = black76.price_coin(
            sub["forward"], sub["strike"], sub["t_years"], sub[f"{side}_iv"], sub["option_type"]
        )
        np.testing.assert_allclose(repriced, chain.loc[ok, f"{side}_price_coin"], rtol=1e-7, atol=1e-10)
    # mark IV reprices the mark (Deribit rounds mark_iv to 2 decimals in percent)
    mark = black76.price_coin(
        chain["forward"], chain["strike"], chain["t_years"], chain["mark_iv"], chain["option_type"]
    )
    rel = np.abs(mark / chain["mark_price_coin"] - 1.0)
    assert float(np.median(rel)) < 1e-3
    # recomputed delta agrees with the file's (fetched a little later) to Deribit's rounding
    assert float(np.median(np.abs(chain["delta"] - snapshot["delta"]))) < 1e-3
    # no quote -> NaN, never 0
    assert chain["bid_price_coin"].isna().sum() == snapshot["bid_price"].isna().sum()
    assert (chain["bid_price_coin"].dropna() > 0).all()


@pytest.mark.real_data
def test_candidate_table_columns_and_units(chain: pd.DataFrame) -> None:
    table = candidate_table(chain, rv={"BTC": 0.40, "ETH": 0.55})
    assert list(table.columns) == list(CANDIDATE_COLUMNS)
    assert len(table) == len(chain)
    assert (table["dte_days"] > 0).all()
    np.testing.assert_allclose(table["dte_days"], chain["t_years"] * 365.0)
    np.testing.assert_allclose(table.loc[chain["currency"] == "ETH", "rv"], 0.55)
    np.testing.assert_allclose(table["ivrv"], chain["mark_iv"] / table["rv"])
    no_bid = chain["bid_price_coin"].isna()
    assert (
        table.loc[no_bid, ["premium_coin", "premium_usd", "yield_annual", "spread_coin"]].isna().all().all()
    )


@pytest.mark.real_data
def test_candidate_yields_by_hand(chain: pd.DataFrame) -> None:
    table = candidate_table(chain, rv=0.45).set_index("instrument_name")
    call = chain.set_index("instrument_name").loc["BTC-27MAR26-80000-C"]
    row = table.loc["BTC-27MAR26-80000-C"]
    dte = call["t_years"] * 365.0
    assert row["premium_coin"] == call["bid_price_coin"]
    assert row["premium_usd"] == pytest.approx(call["bid_price_coin"] * call["index_price"])
    assert row["yield_annual"] == pytest.approx(call["bid_price_coin"] * 365.0 / dte)  # covered by 1 coin
    assert row["otm_pct"] == pytest.approx(100.0 * (80_000 / call["forward"] - 1.0))
    assert row["otm_pct"] > 0
    assert row["spread_coin"] == pytest.approx(call["ask_price_coin"] - call["bid_price_coin"])
    assert row["spread_rel"] == pytest.approx(
        row["spread_coin"] / (0.5 * (call["ask_price_coin"] + call["bid_price_coin"]))
    )
    assert row["bid_ivrv"] == pytest.approx(call["bid_iv"] / 0.45)

    put = chain.set_index("instrument_name").loc["BTC-27MAR26-60000-P"]
    prow = table.loc["BTC-27MAR26-60000-P"]
    premium_usd = put["bid_price_coin"] * put["index_price"]
    assert prow["yield_annual"] == pytest.approx(
        premium_usd / 60_000 * 365.0 / (put["t_years"] * 365.0)
    )  # cash-secured
    assert prow["otm_pct"] == pytest.approx(100.0 * (1.0 - 60_000 / put["forward"]))
    assert prow["delta"] < 0 < row["delta"]


def test_candidate_table_edge_cases() -> None:
    now = pd.Timestamp("2026-01-01T08:00:00Z")
    chain = pd.DataFrame(
        {
            "timestamp": [now, now],
            "instrument_name": ["BTC-1JAN26-100000-C", "BTC-8JAN26-90000-P"],
            "currency": ["BTC", "BTC"],
            "expiry": [now, now + pd.Timedelta(days=7)],
            "strike": [100_000.0, 90_000.0],
            "option_type": ["call", "put"],
            "forward": [100_000.0, 100_100.0],
            "index_price": [100_000.0, 100_000.0],
            "t_years": [0.0, 7.0 / 365.0],
            "mark_iv": [0.5, 0.5],
            "mark_price_coin": [0.0, 0.002],
            "bid_price_coin": [0.001, 0.0019],
            "ask_price_coin": [0.002, np.nan],
            "bid_iv": [np.nan, 0.49],
            "ask_iv": [np.nan, np.nan],
            "delta": [0.5, -0.05],
            "gamma": [0.0, 0.0],
            "vega": [0.0, 10.0],
            "theta": [0.0, -5.0],
            "open_interest": [1.0, 2.0],
        }
    )
    table = candidate_table(chain)
    assert np.isnan(table["yield_annual"].iloc[0])  # expired: no annualised yield
    assert table.loc[1, "yield_annual"] == pytest.approx(0.0019 * 100_000 / 90_000 * 365.0 / 7.0)
    assert np.isnan(table["spread_coin"].iloc[1])  # one-sided
    assert table["rv"].isna().all() and table["ivrv"].isna().all()
