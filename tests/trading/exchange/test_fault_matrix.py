"""Each injected fault → the documented client behaviour, with exact request counts."""

from __future__ import annotations

import asyncio

import pytest

from tests.trading.exchange.conftest import TRANSPORTS, ClientFactory, RecordingSleep, pick_option, wait_for
from trading.exchange.config import RetryPolicy
from trading.exchange.emulator import DeribitEmulator
from trading.exchange.errors import (
    AmbiguousOrderError,
    OrderNotPlacedError,
    RateLimitError,
    ServerUnavailableError,
)


def _marketable(emulator: DeribitEmulator) -> tuple[str, float]:
    name = pick_option(emulator)
    bid = emulator.engine.instruments[name].quote.best_bid_price
    assert bid is not None
    return name, bid


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_lost_submit_response_is_recovered_by_one_label_lookup(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name, bid = _marketable(emulator)
    emulator.faults.drop_response(methods="private/sell")
    result = await client.sell(instrument_name=name, amount=0.5, price=bid, label="lost-1")
    assert result.recovered_by_label and result.order.order_state == "filled" and result.trades == []
    assert [o["order_id"] for o in emulator.orders_with_label("lost-1")] == [result.order.order_id]
    assert emulator.requests["private/sell"] == 1
    assert emulator.requests["private/get_order_state_by_label"] == 1
    if transport == "ws":
        assert client.ws_connect_count == 2  # the drop closed the socket; the client reconnected


async def test_lost_response_of_resting_order_meets_cancel_on_disconnect(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    """Over WS the lost response comes with a disconnect: cancel-on-disconnect cancels the order,
    and the recovered order says so (what Deribit does to a COD session)."""
    client = await make_client("ws")
    name = pick_option(emulator)
    emulator.faults.drop_response(methods="private/buy")
    result = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="lost-cod")
    assert result.recovered_by_label
    assert result.order.order_state == "cancelled" and result.order.cancel_reason == "cancel_on_disconnect"
    assert len(emulator.orders_with_label("lost-cod")) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_lost_submit_request_raises_order_not_placed(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name, bid = _marketable(emulator)
    emulator.faults.drop_request(methods="private/sell")
    with pytest.raises(OrderNotPlacedError) as info:
        await client.sell(instrument_name=name, amount=0.5, price=bid, label="never")
    assert info.value.label == "never"
    assert emulator.orders_with_label("never") == []
    assert emulator.requests["private/sell"] == 1
    assert emulator.requests["private/get_order_state_by_label"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_submit_timeout_after_execution_is_recovered(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, request_timeout_s=0.2)
    name, bid = _marketable(emulator)
    emulator.faults.latency(0.6, methods="private/sell", after_execute=True)
    result = await client.sell(instrument_name=name, amount=0.5, price=bid, label="slow-1")
    assert result.recovered_by_label and result.order.filled_amount == 0.5
    assert emulator.requests["private/sell"] == 1
    assert len(emulator.orders_with_label("slow-1")) == 1


@pytest.mark.parametrize("after_execute", [False, True])
async def test_gateway_5xx_on_submit(
    after_execute: bool, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("http")
    name, bid = _marketable(emulator)
    emulator.faults.http_status(502, methods="private/sell", after_execute=after_execute)
    if after_execute:
        result = await client.sell(instrument_name=name, amount=0.5, price=bid, label="gw")
        assert result.recovered_by_label and result.order.order_state == "filled"
    else:
        with pytest.raises(OrderNotPlacedError) as info:
            await client.sell(instrument_name=name, amount=0.5, price=bid, label="gw")
        assert isinstance(info.value.cause, ServerUnavailableError) and info.value.cause.status == 502
    assert emulator.requests["private/sell"] == 1
    assert emulator.requests["private/get_order_state_by_label"] == 1
    assert len(emulator.orders_with_label("gw")) == (1 if after_execute else 0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_internal_error_on_submit_is_resolved_not_retried(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    name, bid = _marketable(emulator)
    emulator.faults.error(11094, methods="private/sell")
    with pytest.raises(OrderNotPlacedError):
        await client.sell(instrument_name=name, amount=0.5, price=bid, label="ise")
    assert emulator.requests["private/sell"] == 1
    assert emulator.requests["private/get_order_state_by_label"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rate_limited_submit_is_retried_because_it_was_rejected(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    sleep = RecordingSleep()
    client = await make_client(transport, sleep=sleep)
    name, bid = _marketable(emulator)
    emulator.faults.rate_limit(methods="private/sell")
    result = await client.sell(instrument_name=name, amount=0.5, price=bid, label="rl")
    assert not result.recovered_by_label and result.order.order_state == "filled"
    assert emulator.requests["private/sell"] == 2
    assert emulator.requests["private/get_order_state_by_label"] == 0
    assert len(emulator.orders_with_label("rl")) == 1
    assert sleep.delays == [pytest.approx(0.02)]  # at least rate_limit_delay_s


async def test_lookup_failure_makes_the_outcome_ambiguous(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("http")
    name, bid = _marketable(emulator)
    emulator.faults.drop_response(methods="private/sell")
    emulator.faults.error(11094, methods="private/get_order_state_by_label", times=None)
    with pytest.raises(AmbiguousOrderError) as info:
        await client.sell(instrument_name=name, amount=0.5, price=bid, label="amb")
    assert info.value.label == "amb"
    assert emulator.requests["private/sell"] == 1
    assert emulator.requests["private/get_order_state_by_label"] == 4  # max_attempts reads
    assert len(emulator.orders_with_label("amb")) == 1  # it was placed: the caller must reconcile


async def test_5xx_on_read_is_retried_with_capped_backoff(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    sleep = RecordingSleep()
    client = await make_client("http", sleep=sleep)
    emulator.faults.http_status(503, methods="private/get_positions", times=2)
    assert await client.get_positions(currency="BTC") == []
    assert emulator.requests["private/get_positions"] == 3
    assert len(sleep.delays) == 2 and all(0.005 <= d <= 0.05 for d in sleep.delays)

    emulator.faults.http_status(503, methods="private/get_positions", times=None)
    with pytest.raises(ServerUnavailableError):
        await client.get_positions(currency="BTC")
    assert emulator.requests["private/get_positions"] == 3 + 4


async def test_backoff_grows_and_caps() -> None:
    from random import Random

    from trading.exchange.ratelimit import Backoff

    backoff = Backoff(RetryPolicy(base_delay_s=0.1, max_delay_s=0.5, jitter=0.0), Random(1))
    assert [backoff.delay(i) for i in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    jittered = Backoff(RetryPolicy(base_delay_s=0.1, max_delay_s=0.5, jitter=0.5), Random(1))
    again = Backoff(RetryPolicy(base_delay_s=0.1, max_delay_s=0.5, jitter=0.5), Random(1))
    delays = [jittered.delay(i) for i in range(6)]
    assert delays == [again.delay(i) for i in range(6)]  # deterministic with a seeded rng
    assert all(0.5 * cap <= d <= cap for d, cap in zip(delays, [0.1, 0.2, 0.4, 0.5, 0.5, 0.5], strict=True))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rate_limited_read_backs_off(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    sleep = RecordingSleep()
    client = await make_client(transport, sleep=sleep)
    emulator.faults.rate_limit(methods="public/ticker", times=2)
    name = pick_option(emulator)
    await client.get_ticker(instrument_name=name)
    assert emulator.requests["public/ticker"] == 3
    assert len(sleep.delays) == 2 and min(sleep.delays) >= 0.02
    emulator.faults.rate_limit(methods="public/ticker", times=None)
    with pytest.raises(RateLimitError):
        await client.get_ticker(instrument_name=name)


async def test_server_side_credit_bucket_enforces_10028(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    from trading.exchange.emulator import EmulatorRateLimits

    emulator.rate_limits = EmulatorRateLimits(non_matching_capacity=1_000, non_matching_refill_per_s=20_000)
    emulator._buckets.clear()
    client = await make_client("http", authenticated=False, sleep=asyncio.sleep)
    for _ in range(3):  # the bucket holds two requests; the third is refused with 10028, then retried
        await client.get_index_price(index_name="btc_usd")
    assert emulator.requests["public/get_index_price"] > 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_lost_cancel_response_returns_the_cancelled_order(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport, cancel_on_disconnect=False)
    name = pick_option(emulator)
    placed = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="c1")
    emulator.faults.drop_response(methods="private/cancel")
    order = await client.cancel(order_id=placed.order.order_id)
    assert order.order_state == "cancelled" and order.cancel_reason == "user_request"
    assert emulator.requests["private/cancel"] == 2  # the retry met 11044 ...
    assert emulator.requests["private/get_order_state"] == 1  # ... and one read confirmed it


async def test_lost_edit_response_is_confirmed_by_reading_the_order(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("http")
    name = pick_option(emulator)
    placed = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="e1")
    emulator.faults.drop_response(methods="private/edit")
    result = await client.edit(order_id=placed.order.order_id, amount=0.2, price=0.001)
    assert result.recovered_by_label and result.order.amount == 0.2 and result.order.price == 0.001
    assert emulator.requests["private/edit"] == 1 and emulator.requests["private/get_order_state"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_revoked_token_triggers_one_reauth(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client(transport)
    auth_before = emulator.requests["public/auth"]
    emulator.auth._by_access.clear()
    assert await client.get_positions(currency="BTC") == []
    assert emulator.requests["private/get_positions"] == 2  # 13009, then success
    assert emulator.requests["public/auth"] == auth_before + 1


async def test_disconnect_reconnects_reauths_and_resubscribes(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("ws")
    index = await client.subscribe(["deribit_price_index.btc_usd"])
    orders = await client.subscribe(["user.orders.option.any.raw"])
    await index.get()
    await emulator.disconnect_all()
    await wait_for(lambda: client.ws_connect_count == 2)
    assert emulator.requests["public/subscribe"] == 2 and emulator.requests["private/subscribe"] == 2
    assert emulator.requests["public/auth"] == 2
    before = emulator.engine.index["BTC"]
    await emulator.advance(30)
    assert emulator.engine.index["BTC"] != before
    while (await asyncio.wait_for(index.get(), 2)).data.price != emulator.engine.index["BTC"]:
        pass  # the first notification after resubscribing repeats the price it had
    name = pick_option(emulator)
    placed = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="after-reconnect")
    order_note = await asyncio.wait_for(orders.get(), 2)
    assert order_note.data[0].order_id == placed.order.order_id


async def test_heartbeats_are_answered_and_keep_the_session(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("ws", heartbeat_interval_s=10)  # x 0.01 time scale = 0.1 s
    await wait_for(lambda: emulator.requests["public/test"] >= 3)
    assert client.ws_connect_count == 1


async def test_silent_client_is_disconnected_and_its_orders_cancelled(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    import json

    import websockets

    name = pick_option(emulator)
    async with websockets.connect(emulator.ws_url) as ws:
        from tests.trading.exchange.conftest import CLIENT_ID, CLIENT_SECRET

        calls = [
            (
                "public/auth",
                {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            ),
            ("private/enable_cancel_on_disconnect", {}),
            ("private/buy", {"instrument_name": name, "amount": 0.1, "price": 0.0005, "label": "silent"}),
            ("public/set_heartbeat", {"interval": 10}),
        ]
        for i, (method, params) in enumerate(calls):
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}))
            reply = json.loads(await ws.recv())
            assert "result" in reply, reply
        heartbeat = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert heartbeat == {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 2)  # no public/test answer → the server closes
    await wait_for(lambda: emulator.orders_with_label("silent")[0]["order_state"] == "cancelled")
    assert emulator.orders_with_label("silent")[0]["cancel_reason"] == "cancel_on_disconnect"


async def test_client_side_watchdog_drops_a_silent_socket(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("ws", heartbeat_interval_s=None, watchdog_timeout_s=0.2)
    await wait_for(
        lambda: client.ws_connect_count >= 2, timeout=4
    )  # nothing was published: dropped, reconnected


async def test_partial_fills(emulator: DeribitEmulator, make_client: ClientFactory) -> None:
    client = await make_client("http")
    name, bid = _marketable(emulator)
    emulator.faults.partial_fills(0.25)
    result = await client.sell(instrument_name=name, amount=1.0, price=bid, label="pf")
    assert result.order.order_state == "open"
    assert result.order.filled_amount == 0.2 and [t.amount for t in result.trades] == [0.2]
    (position,) = await client.get_positions(currency="BTC")
    assert position.size == -0.2
    await asyncio.sleep(0.1)  # the market did not move: the resting rest does not fill
    (position,) = await client.get_positions(currency="BTC")
    assert position.size == -0.2


async def test_duplicated_trade_notifications_reach_the_consumer_once(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("ws")
    trades = await client.subscribe(["user.trades.option.BTC.raw"])
    name, bid = _marketable(emulator)
    rule = emulator.faults.duplicate_trades()
    placed = await client.sell(instrument_name=name, amount=0.2, price=bid, label="dup")
    note = await asyncio.wait_for(trades.get(), 2)
    assert [t.trade_id for t in note.data] == [placed.trades[0].trade_id]
    await asyncio.sleep(0.1)
    assert rule.fired == 1 and trades.queue.empty()


async def test_out_of_order_trade_notifications_are_all_delivered_once(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("ws")
    trades = await client.subscribe(["user.trades.option.BTC.raw"])
    name, bid = _marketable(emulator)
    rule = emulator.faults.reorder_trades(batch=2)
    first = await client.sell(instrument_name=name, amount=0.1, price=bid, label="ooo-1")
    second = await client.sell(instrument_name=name, amount=0.1, price=bid, label="ooo-2")
    got = [(await asyncio.wait_for(trades.get(), 2)).data[0].trade_id for _ in range(2)]
    expected = [first.trades[0].trade_id, second.trades[0].trade_id]
    assert got == expected[::-1] and rule.fired == 1
    await asyncio.sleep(0.1)
    assert trades.queue.empty()
