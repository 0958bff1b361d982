"""The market view: quotes match the real chain rows, data contract is enforced."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.trading.strategies.support import calm_regime, chain_time, market_from_chain
from trading.quant.candidates import candidate_table
from trading.strategies.market import CurrencyMarket, MarketDataError, MarketSnapshot


def test_quote_matches_the_chain_row(calm_chain: pd.DataFrame) -> None:
    m = market_from_chain(calm_chain, "BTC")
    row = calm_chain.set_index("instrument_name").loc["BTC-27FEB26-80000-C"]
    q = m.quote("BTC-27FEB26-80000-C")
    assert q is not None
    assert (q.bid_coin, q.ask_coin, q.mark_coin) == (
        row["bid_price_coin"],
        row["ask_price_coin"],
        row["mark_price_coin"],
    )
    assert q.expiry == pd.Timestamp(row["expiry"]).to_pydatetime() and q.strike_usd == 80_000.0
    assert q.delta == pytest.approx(row["delta"]) and q.option_type == "call"
    assert m.quote("BTC-27FEB26-1-C") is None
    assert len(m.chain) == (calm_chain["currency"] == "BTC").sum()


def test_missing_bid_or_ask_is_none(calm_chain: pd.DataFrame) -> None:
    m = market_from_chain(calm_chain, "BTC")
    no_bid = m.chain.loc[m.chain["bid_price_coin"].isna(), "instrument_name"].iloc[0]
    q = m.quote(str(no_bid))
    assert q is not None and q.bid_coin is None and math.isfinite(q.mark_coin)


def test_the_data_contract_is_enforced(calm_chain: pd.DataFrame) -> None:
    m = market_from_chain(calm_chain, "BTC")
    with pytest.raises(MarketDataError, match="missing columns"):
        CurrencyMarket("BTC", m.observed_at, 1.0, m.chain.drop(columns=["delta"]), m.candidates, m.regime)
    with pytest.raises(MarketDataError, match="other currencies"):
        CurrencyMarket("BTC", m.observed_at, 1.0, calm_chain, candidate_table(calm_chain), m.regime)
    with pytest.raises(MarketDataError, match="differ in length"):
        CurrencyMarket("BTC", m.observed_at, 1.0, m.chain, m.candidates.iloc[:-1], m.regime)
    with pytest.raises(MarketDataError, match="aware"):
        CurrencyMarket(
            "BTC", chain_time(calm_chain).replace(tzinfo=None), 1.0, m.chain, m.candidates, m.regime
        )
    with pytest.raises(MarketDataError, match="regime is for ETH"):
        CurrencyMarket("BTC", m.observed_at, 1.0, m.chain, m.candidates, calm_regime("ETH"))
    with pytest.raises(MarketDataError, match="is for 'BTC'"):
        MarketSnapshot({"ETH": m})
