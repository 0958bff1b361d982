"""``private/edit_by_label``: the emulator's rules and the client's resolution of a lost response."""

from __future__ import annotations

import pytest

from tests.trading.exchange.conftest import START_MS, TRANSPORTS, ClientFactory, pick_option
from trading.exchange.emulator import DeribitEmulator, ManualClock
from trading.exchange.errors import (
    AmbiguousOrderError,
    InvalidParamsError,
    NonUniqueLabelError,
    OrderNotFoundError,
    OrderNotPlacedError,
    SettlementInProgressError,
    TimedOutError,
)


def _two_options(emulator: DeribitEmulator) -> tuple[str, str]:
    first = pick_option(emulator)
    second = next(
        name
        for name, rec in sorted(emulator.engine.instruments.items())
        if name != first and rec.currency == "BTC" and not rec.expired
    )
    return first, second


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_edit_by_label_changes_the_one_open_order(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    placed = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="ebl-1")
    edited = await client.edit_by_label(label="ebl-1", instrument_name=name, amount=0.3, price=0.001)
    assert edited.order.order_id == placed.order.order_id and not edited.recovered_by_label
    assert edited.order.amount == 0.3 and edited.order.price == 0.001 and edited.order.replaced is True
    assert edited.order.order_state == "open" and edited.trades == []
    state = await client.get_order_state(order_id=placed.order.order_id)
    assert state.amount == 0.3 and state.price == 0.001
    assert emulator.requests["private/edit_by_label"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_edit_by_label_needs_exactly_one_open_order_on_the_instrument(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name, other = _two_options(emulator)
    with pytest.raises(OrderNotFoundError) as none:
        await client.edit_by_label(label="dup", instrument_name=name, amount=0.2, price=0.001)
    assert none.value.code == 10004

    first = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="dup")
    second = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="dup")
    await client.buy(instrument_name=other, amount=0.1, price=0.0005, label="dup")
    with pytest.raises(NonUniqueLabelError) as many:
        await client.edit_by_label(label="dup", instrument_name=name, amount=0.2, price=0.001)
    assert many.value.code == 13032 and many.value.message == "non_unique_order_label"
    assert {o["amount"] for o in emulator.orders_with_label("dup")} == {0.1}  # nothing changed

    # a closed order and an order on another instrument do not count
    await client.cancel(order_id=second.order.order_id)
    edited = await client.edit_by_label(label="dup", instrument_name=name, amount=0.2, price=0.001)
    assert edited.order.order_id == first.order.order_id and edited.order.amount == 0.2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_edit_by_label_checks_like_edit(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name = pick_option(emulator)
    await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="chk")
    with pytest.raises(InvalidParamsError) as missing:
        await client.call("private/edit_by_label", {"instrument_name": name, "amount": 0.2, "price": 0.001})
    assert missing.value.data == {"reason": "missing required parameter", "param": "label"}
    with pytest.raises(ValueError, match="64"):
        await client.edit_by_label(label="x" * 65, instrument_name=name, amount=0.2, price=0.001)
    assert isinstance(emulator.clock, ManualClock)
    emulator.clock.set(START_MS - 3_600_000 + 86_400_000)  # 08:00 UTC: settlement in progress
    with pytest.raises(SettlementInProgressError):
        await client.edit_by_label(label="chk", instrument_name=name, amount=0.2, price=0.001)
    assert [o["amount"] for o in emulator.orders_with_label("chk")] == [0.1]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_lost_edit_by_label_response_is_confirmed_by_one_label_lookup(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, cancel_on_disconnect=False)
    name = pick_option(emulator)
    placed = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="ebl-lost")
    emulator.faults.drop_response(methods="private/edit_by_label")
    result = await client.edit_by_label(label="ebl-lost", instrument_name=name, amount=0.2, price=0.001)
    assert result.recovered_by_label and result.order.order_id == placed.order.order_id
    assert result.order.amount == 0.2 and result.order.price == 0.001
    assert emulator.requests["private/edit_by_label"] == 1
    assert emulator.requests["private/get_order_state_by_label"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_dropped_edit_by_label_request_raises_order_not_placed(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, cancel_on_disconnect=False)
    name = pick_option(emulator)
    await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="ebl-never")
    emulator.faults.drop_request(methods="private/edit_by_label")
    with pytest.raises(OrderNotPlacedError) as info:
        await client.edit_by_label(label="ebl-never", instrument_name=name, amount=0.2, price=0.001)
    assert info.value.label == "ebl-never" and info.value.instrument_name == name
    assert [o["amount"] for o in emulator.orders_with_label("ebl-never")] == [0.1]
    assert emulator.requests["private/edit_by_label"] == 1
    assert emulator.requests["private/get_order_state_by_label"] == 1


async def test_edit_by_label_lookup_failure_makes_the_outcome_ambiguous(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("http")
    name = pick_option(emulator)
    await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="ebl-amb")
    emulator.faults.drop_response(methods="private/edit_by_label")
    emulator.faults.error(11094, methods="private/get_order_state_by_label", times=None)
    with pytest.raises(AmbiguousOrderError) as info:
        await client.edit_by_label(label="ebl-amb", instrument_name=name, amount=0.2, price=0.001)
    assert info.value.label == "ebl-amb" and info.value.instrument_name == name
    assert emulator.requests["private/edit_by_label"] == 1  # never resent blindly
    assert [o["amount"] for o in emulator.orders_with_label("ebl-amb")] == [0.2]  # it did apply


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", ["private/edit", "private/edit_by_label"])
async def test_an_edit_past_its_valid_until_is_refused_and_changes_nothing(
    transport: str, method: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    """As for buy and sell: a request arriving after ``valid_until`` (ms) is 13888 timed_out."""
    client = await make_client(transport, cancel_on_disconnect=False)
    name = pick_option(emulator)
    placed = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="vu")
    target = {"order_id": placed.order.order_id} if method == "private/edit" else {"label": "vu"}
    edit = {**target, "instrument_name": name, "amount": 0.2, "price": 0.001}
    now = emulator.clock.now_ms()
    with pytest.raises(TimedOutError) as late:
        await client.call(method, {**edit, "valid_until": now - 1})
    assert late.value.code == 13888
    assert [(o["amount"], o["price"]) for o in emulator.orders_with_label("vu")] == [(0.1, 0.0005)]
    done = await client.call(method, {**edit, "valid_until": now + 5_000})
    assert done["order"]["amount"] == 0.2 and done["order"]["price"] == 0.001
