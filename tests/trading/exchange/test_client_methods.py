"""Every typed client method against the emulator, over HTTP and over WebSocket."""

from __future__ import annotations

import pytest

from tests.trading.exchange.conftest import TRANSPORTS, ClientFactory, pick_option, wait_for
from trading.exchange.emulator import DeribitEmulator
from trading.exchange.errors import (
    AmountError,
    InvalidCredentialsError,
    InvalidParamsError,
    NotEnoughFundsError,
    NotSupportedError,
    OrderNotFoundError,
    OrderNotOpenError,
    PostOnlyRejectError,
    PriceBandError,
    PriceWrongTickError,
    UnauthorizedError,
)
from trading.exchange.models import Instrument

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)


async def test_market_data_methods(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, authenticated=False)
    assert await client.get_time() == emulator.clock.now_ms()
    instruments = await client.get_instruments(currency="BTC", kind="option")
    assert instruments and all(isinstance(i, Instrument) and i.kind == "option" for i in instruments)
    assert {i.min_trade_amount for i in instruments} == {0.1}
    eth = await client.get_instruments(currency="ETH", kind="option")
    assert {i.min_trade_amount for i in eth} == {1.0}
    (perpetual,) = await client.get_instruments(currency="BTC", kind="future")
    assert perpetual.instrument_name == "BTC-PERPETUAL" and perpetual.settlement_period == "perpetual"
    assert await client.get_instruments(currency="BTC", kind="spot") == []

    name = pick_option(emulator)
    ticker = await client.get_ticker(instrument_name=name)
    quote = emulator.engine.instruments[name].quote
    assert ticker.mark_price == quote.mark_price and ticker.mark_iv == quote.mark_iv
    assert ticker.best_bid_price == quote.best_bid_price and ticker.best_ask_price == quote.best_ask_price
    assert ticker.greeks is not None and ticker.min_price < ticker.mark_price < ticker.max_price

    book = await client.get_order_book(instrument_name=name, depth=5)
    assert book.bids[0] == [quote.best_bid_price, quote.best_bid_amount]
    assert book.asks[0] == [quote.best_ask_price, quote.best_ask_amount]
    assert all(a[0] < b[0] for a, b in zip(book.asks, book.asks[1:], strict=False))

    summaries = await client.get_book_summary_by_currency(currency="BTC", kind="option")
    assert len(summaries) == len(instruments)
    row = next(s for s in summaries if s.instrument_name == name)
    assert row.bid_price == quote.best_bid_price and row.underlying_price == quote.underlying_price

    index = await client.get_index_price(index_name="btc_usd")
    assert index.index_price == emulator.engine.index["BTC"]

    now = emulator.clock.now_ms()
    dvol = await client.get_volatility_index_data(
        currency="BTC", start_timestamp=now - 3_600_000, end_timestamp=now, resolution="60"
    )
    assert len(dvol.data) == 61 and dvol.continuation is None
    assert all(40 < candle[4] < 60 for candle in dvol.data)  # vol points, not decimals

    chart = await client.get_tradingview_chart_data(
        instrument_name=name, start_timestamp=now - 3_600_000, end_timestamp=now, resolution="60"
    )
    assert chart.status == "ok" and chart.ticks and len(chart.open) == len(chart.ticks)

    deliveries = await client.get_delivery_prices(index_name="btc_usd")
    assert deliveries.records_total == 0 and deliveries.data == []


async def test_order_lifecycle(transport: str, emulator: DeribitEmulator, make_client: ClientFactory) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    quote = emulator.engine.instruments[name].quote
    assert quote.best_bid_price is not None and quote.best_ask_price is not None

    # a resting sell above the ask: open, visible by id, label and currency
    rest_price = round(quote.best_ask_price + 0.001, 4)
    placed = await client.sell(instrument_name=name, amount=0.3, price=rest_price, label=f"rest-{transport}")
    assert placed.order.order_state == "open" and placed.trades == [] and not placed.recovered_by_label
    order_id = placed.order.order_id
    assert (await client.get_order_state(order_id=order_id)).order_state == "open"
    assert [
        o.order_id for o in await client.get_order_state_by_label(currency="BTC", label=f"rest-{transport}")
    ] == [order_id]
    assert [o.order_id for o in await client.get_open_orders_by_currency(currency="BTC")] == [order_id]

    edited = await client.edit(order_id=order_id, amount=0.5, price=round(rest_price + 0.0005, 4))
    assert edited.order.amount == 0.5 and edited.order.replaced is True

    cancelled = await client.cancel(order_id=order_id)
    assert cancelled.order_state == "cancelled" and cancelled.cancel_reason == "user_request"
    again = await client.cancel(order_id=order_id)  # idempotent from the caller's view
    assert again.order_state == "cancelled"
    assert await client.get_open_orders_by_currency(currency="BTC") == []

    # a marketable sell fills at the bid: premium in, fee charged per Deribit's formula
    before = (await client.get_account_summary(currency="BTC")).balance
    filled = await client.sell(
        instrument_name=name, amount=0.5, price=quote.best_bid_price, label=f"fill-{transport}"
    )
    assert filled.order.order_state == "filled" and filled.order.filled_amount == 0.5
    (trade,) = filled.trades
    expected_fee = min(0.0003 * 0.5, 0.125 * trade.price * 0.5)
    assert trade.price == quote.best_bid_price and trade.liquidity == "T"
    assert trade.fee == pytest.approx(expected_fee, abs=1e-12)
    summary = await client.get_account_summary(currency="BTC")
    assert summary.balance == pytest.approx(before + 0.5 * trade.price - expected_fee, abs=1e-9)

    (position,) = await client.get_positions(currency="BTC", kind="option")
    assert position.instrument_name == name and position.size == -0.5 and position.direction == "sell"
    assert summary.initial_margin == pytest.approx(position.initial_margin, abs=1e-9)
    assert summary.equity == pytest.approx(summary.balance + summary.options_value, abs=1e-9)
    assert summary.available_funds == pytest.approx(summary.margin_balance - summary.initial_margin, abs=1e-9)

    trades = await client.get_user_trades_by_currency(currency="BTC", kind="option", count=10)
    assert [t.trade_id for t in trades.trades] == [trade.trade_id] and trades.has_more is False

    # close with reduce_only; cancel_by_label and cancel_all report counts
    closed = await client.buy(
        instrument_name=name,
        amount=1.0,
        price=quote.best_ask_price,
        label=f"close-{transport}",
        reduce_only=True,
    )
    assert closed.order.amount == 0.5 and closed.order.order_state == "filled"  # clipped to the position
    for i in range(2):
        await client.buy(instrument_name=name, amount=0.1, price=0.0005, label=f"bulk-{transport}")
        del i
    assert await client.cancel_by_label(label=f"bulk-{transport}", currency="BTC") == 2
    await client.buy(instrument_name=name, amount=0.1, price=0.0005, label=f"last-{transport}")
    assert await client.cancel_all_by_currency(currency="BTC", kind="option") == 1


async def test_order_rejections(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    quote = emulator.engine.instruments[name].quote
    assert quote.best_ask_price is not None and quote.best_ask_price >= 0.005
    with pytest.raises(PriceWrongTickError) as tick:
        await client.buy(
            instrument_name=name, amount=0.1, price=round(quote.best_ask_price - 0.0002, 4), label="t"
        )
    assert tick.value.code == 10043
    with pytest.raises(AmountError) as low:
        await client.buy(instrument_name=name, amount=0.05, price=0.001, label="t")
    assert low.value.code == 10002
    with pytest.raises(AmountError) as multiple:
        await client.buy(instrument_name=name, amount=0.15, price=0.001, label="t")
    assert multiple.value.code == 10021
    with pytest.raises(PriceBandError) as band:
        await client.buy(
            instrument_name=name, amount=0.1, price=round(quote.mark_price * 3 + 0.1, 3), label="t"
        )
    assert band.value.code == 10007
    with pytest.raises(PostOnlyRejectError):
        await client.buy(
            instrument_name=name,
            amount=0.1,
            price=quote.best_ask_price,
            label="t",
            post_only=True,
            reject_post_only=True,
        )
    repriced = await client.buy(
        instrument_name=name, amount=0.1, price=quote.best_ask_price, label="po", post_only=True
    )
    assert repriced.order.order_state == "open" and repriced.order.price < quote.best_ask_price
    with pytest.raises(NotEnoughFundsError):
        await client.sell(instrument_name=name, amount=500.0, price=quote.best_ask_price, label="t")
    with pytest.raises(OrderNotFoundError):
        await client.cancel(order_id="999")
    with pytest.raises(InvalidParamsError) as bad_currency:
        await client.get_book_summary_by_currency(currency="XBT")
    assert bad_currency.value.data == {"reason": "invalid currency", "param": "currency"}
    with pytest.raises(ValueError, match="64"):
        await client.buy(instrument_name=name, amount=0.1, price=0.001, label="x" * 65)
    filled = await client.buy(instrument_name=name, amount=0.1, price=quote.best_ask_price, label="f")
    with pytest.raises(OrderNotOpenError):
        await client.cancel(order_id=filled.order.order_id)


async def test_auth_errors(transport: str, emulator: DeribitEmulator, make_client: ClientFactory) -> None:
    from trading.exchange.config import Credentials

    with pytest.raises(InvalidCredentialsError):
        await make_client(transport, credentials=Credentials.of("bot-key-7f3a", "wrong"))
    anonymous = await make_client(transport, authenticated=False)
    with pytest.raises(UnauthorizedError):
        await anonymous.call("private/get_positions", {"currency": "BTC"})


async def test_token_refresh_before_expiry(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    emulator.auth.token_lifetime_s = 1
    client = await make_client(transport, token_refresh_fraction=0.5)
    await client.get_positions(currency="BTC")
    auth_calls = client.calls["public/auth"]
    import asyncio

    await asyncio.sleep(0.6)  # past 50% of the 1 s lifetime: the next private call refreshes first
    await client.get_positions(currency="BTC")
    assert client.calls["public/auth"] == auth_calls + 1
    assert emulator.requests["private/get_positions"] == 2  # no 13009 round trip was needed


async def test_subscriptions(transport: str, emulator: DeribitEmulator, make_client: ClientFactory) -> None:
    client = await make_client(transport)
    if transport == "http":
        with pytest.raises(NotSupportedError):
            await client.subscribe(["deribit_price_index.btc_usd"])
        return
    name = pick_option(emulator)
    quote = emulator.engine.instruments[name].quote
    assert quote.best_bid_price is not None
    received: list[object] = []

    async def on_ticker(notification: object) -> None:
        received.append(notification)

    await client.subscribe([f"ticker.{name}.100ms"], handler=on_ticker)
    index_sub = await client.subscribe(["deribit_price_index.btc_usd"])
    orders = await client.subscribe(["user.orders.option.BTC.raw"])
    trades = await client.subscribe(["user.trades.option.any.100ms"])
    await wait_for(lambda: bool(received))
    first = await index_sub.get()
    assert first.data.index_name == "btc_usd" and first.data.price == emulator.engine.index["BTC"]
    placed = await client.sell(instrument_name=name, amount=0.2, price=quote.best_bid_price, label="sub")
    order_note = await orders.get()
    assert order_note.data[0].order_id == placed.order.order_id and order_note.data[0].order_state == "filled"
    trade_note = await trades.get()
    assert [t.trade_id for t in trade_note.data] == [t.trade_id for t in placed.trades]
    await emulator.advance(60)  # the market moves: a fresh index notification arrives
    moved = await index_sub.get()
    assert moved.data.price == emulator.engine.index["BTC"]
