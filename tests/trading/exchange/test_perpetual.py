"""The perpetuals on the emulator: listed and quoted like Deribit's, consistent with the index,
and refused for trading (the emulator matches options only)."""

from __future__ import annotations

import asyncio

import pytest

from tests.trading.exchange.conftest import TRANSPORTS, ClientFactory
from trading.exchange.emulator import DeribitEmulator
from trading.exchange.errors import InstrumentError
from trading.exchange.models import Instrument, Ticker

both_transports = pytest.mark.parametrize("transport", TRANSPORTS)


@both_transports
async def test_perpetuals_are_listed_with_the_options(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, authenticated=False)
    start = emulator.source.start_ms()
    for currency, tick, contract in (("BTC", 0.5, 10.0), ("ETH", 0.05, 1.0)):
        (perpetual,) = await client.get_instruments(currency=currency, kind="future")
        assert perpetual.instrument_name == f"{currency}-PERPETUAL"
        assert (perpetual.kind, perpetual.settlement_period) == ("future", "perpetual")
        assert (perpetual.base_currency, perpetual.quote_currency) == (currency, "USD")
        assert perpetual.settlement_currency == currency and perpetual.instrument_type == "reversed"
        assert perpetual.price_index == f"{currency.lower()}_usd" and perpetual.is_active
        assert (perpetual.tick_size, perpetual.contract_size, perpetual.min_trade_amount) == (
            tick,
            contract,
            contract,
        )
        assert start is not None and perpetual.creation_timestamp <= start - 90 * 86_400_000
        assert perpetual.expiration_timestamp > 10 * start  # far away: it never expires
        single = await client.call("public/get_instrument", {"instrument_name": perpetual.instrument_name})
        assert Instrument.model_validate(single) == perpetual
        everything = await client.get_instruments(currency=currency)
        assert everything[0] == perpetual and all(i.kind == "option" for i in everything[1:])
        assert len(everything) == 1 + len(await client.get_instruments(currency=currency, kind="option"))
    assert len(await client.get_instruments(currency="any", kind="future")) == 2
    assert await client.get_instruments(currency="BTC", kind="future", expired=True) == []


@both_transports
async def test_perpetual_ticker_book_and_summary_follow_the_index(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, authenticated=False)
    for currency, tick in (("BTC", 0.5), ("ETH", 0.05)):
        name = f"{currency}-PERPETUAL"
        index = (await client.get_index_price(index_name=f"{currency.lower()}_usd")).index_price
        assert index == emulator.engine.index[currency]
        ticker = await client.get_ticker(instrument_name=name)
        assert ticker.index_price == index == ticker.estimated_delivery_price
        assert ticker.mark_price == pytest.approx(index, rel=1e-3)  # the index plus a small premium
        assert ticker.best_bid_price is not None and ticker.best_ask_price is not None
        assert ticker.best_bid_price <= ticker.mark_price < ticker.best_ask_price
        assert ticker.best_ask_price - ticker.best_bid_price == pytest.approx(tick)
        assert ticker.min_price < ticker.mark_price < ticker.max_price
        assert ticker.stats.low is not None and ticker.stats.high is not None
        assert ticker.stats.low <= index <= ticker.stats.high  # the index's last 24 hours
        assert (ticker.model_extra or {})["funding_8h"] > 0
        book = await client.get_order_book(instrument_name=name, depth=5)
        assert book.bids[0] == [ticker.best_bid_price, ticker.best_bid_amount]
        assert [b[0] for b in book.bids] == sorted((b[0] for b in book.bids), reverse=True)
        assert [a[0] for a in book.asks] == sorted(a[0] for a in book.asks)
        (row,) = await client.get_book_summary_by_currency(currency=currency, kind="future")
        assert row.instrument_name == name and row.mark_price == ticker.mark_price
        options = await client.get_book_summary_by_currency(currency=currency, kind="option")
        assert name not in {r.instrument_name for r in options}
        # the candle of the current minute closes at the index
        now = emulator.clock.now_ms()
        chart = await client.get_tradingview_chart_data(
            instrument_name=name, start_timestamp=now - 600_000, end_timestamp=now, resolution="1"
        )
        assert chart.close[-1] == index and set(chart.volume) == {0.0}


@both_transports
async def test_orders_on_perpetuals_are_refused(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    index = emulator.engine.index["BTC"]
    with pytest.raises(InstrumentError) as refused:
        await client.buy(instrument_name="BTC-PERPETUAL", amount=10, price=round(index), label="perp")
    assert refused.value.code == 10020
    assert refused.value.data == {"param": "instrument_name", "reason": "the emulator trades options only"}
    assert await client.get_open_orders_by_currency(currency="BTC") == []
    with pytest.raises(InstrumentError):
        await client.get_ticker(instrument_name="XRP-PERPETUAL")


async def test_perpetual_ticker_channel(emulator: DeribitEmulator, make_client: ClientFactory) -> None:
    client = await make_client("ws", authenticated=False)
    subscription = await client.subscribe(["ticker.ETH-PERPETUAL.100ms"])
    note = await asyncio.wait_for(subscription.get(), 3)
    ticker = note.data if isinstance(note.data, Ticker) else Ticker.model_validate(note.data)
    assert ticker.instrument_name == "ETH-PERPETUAL" and ticker.index_price == emulator.engine.index["ETH"]
