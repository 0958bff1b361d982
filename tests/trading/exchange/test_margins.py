"""``private/get_margins``: the emulator's margin formulas, and that the estimate is what an
order then reserves."""

from __future__ import annotations

import pytest

from tests.trading.exchange.conftest import TRANSPORTS, ClientFactory, pick_option
from trading.exchange.emulator import DeribitEmulator
from trading.exchange.emulator.accounting import short_option_margins
from trading.exchange.errors import AmountError, InstrumentError, PriceError, UnauthorizedError
from trading.exchange.models import Margins


def _short_im(emulator: DeribitEmulator, name: str) -> float:
    rec = emulator.engine.instruments[name]
    im, _ = short_option_margins(
        rec.option_type, rec.strike, emulator.engine.index[rec.currency], rec.quote.mark_price
    )
    return im


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_margins_follow_the_margin_formulas(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    price = emulator.engine.instruments[name].quote.best_bid_price
    assert price is not None
    margins = await client.get_margins(instrument_name=name, amount=0.5, price=price)
    assert isinstance(margins, Margins)
    assert margins.buy == pytest.approx(0.5 * price, abs=1e-9)  # a long option costs its premium
    assert margins.sell == pytest.approx(0.5 * _short_im(emulator, name), abs=1e-9)
    ticker = await client.get_ticker(instrument_name=name)
    assert (margins.min_price, margins.max_price) == (ticker.min_price, ticker.max_price)
    assert emulator.engine.orders == {}  # an estimate places nothing


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_margins_is_what_a_resting_order_reserves(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    ask = emulator.engine.instruments[name].quote.best_ask_price
    assert ask is not None
    sell_price = round(ask + 0.001, 4)

    before = (await client.get_account_summary(currency="BTC")).initial_margin
    estimate = await client.get_margins(instrument_name=name, amount=0.3, price=sell_price)
    await client.sell(instrument_name=name, amount=0.3, price=sell_price, label="rest-sell")
    after_sell = (await client.get_account_summary(currency="BTC")).initial_margin
    assert after_sell - before == pytest.approx(estimate.sell, abs=1e-8)

    bid_estimate = await client.get_margins(instrument_name=name, amount=0.2, price=0.0005)
    await client.buy(instrument_name=name, amount=0.2, price=0.0005, label="rest-buy")
    after_buy = (await client.get_account_summary(currency="BTC")).initial_margin
    assert after_buy - after_sell == pytest.approx(bid_estimate.buy, abs=1e-8)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_margins_net_the_part_that_closes_a_position(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    quote = emulator.engine.instruments[name].quote
    assert quote.best_bid_price is not None and quote.best_ask_price is not None
    await client.sell(instrument_name=name, amount=0.5, price=quote.best_bid_price, label="short")
    ask = quote.best_ask_price
    closing = await client.get_margins(instrument_name=name, amount=0.5, price=ask)
    assert closing.buy == 0.0  # buying back the short reserves nothing
    flipping = await client.get_margins(instrument_name=name, amount=0.8, price=ask)
    assert flipping.buy == pytest.approx(0.3 * ask, abs=1e-9)
    assert flipping.sell == pytest.approx(0.8 * _short_im(emulator, name), abs=1e-9)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_margins_rejections(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    with pytest.raises(InstrumentError):
        await client.get_margins(instrument_name="BTC-1JAN20-1000-C", amount=1.0, price=0.01)
    with pytest.raises(AmountError):
        await client.get_margins(instrument_name=name, amount=0.0, price=0.01)
    with pytest.raises(PriceError):
        await client.get_margins(instrument_name=name, amount=1.0, price=-0.01)
    anonymous = await make_client(transport, authenticated=False)
    with pytest.raises(UnauthorizedError):
        await anonymous.get_margins(instrument_name=name, amount=1.0, price=0.01)


def test_margins_model_reads_the_documented_example() -> None:
    example = {"sell": 0, "min_price": 3684.8, "max_price": 3759.24, "buy": 0.0219949}
    margins = Margins.model_validate(example)
    assert margins.sell == 0.0 and margins.buy == 0.0219949
