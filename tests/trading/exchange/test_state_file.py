"""The emulator's state file: an emulator started again on the same file is the same exchange
(orders, positions, balances, trades, labels, ids, settlements) on the same market path."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.trading.exchange.conftest import CLIENT_ID, CLIENT_SECRET, START_MS, pick_option
from tests.trading.exchange.test_emulator_engine import ScriptedSource
from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig, Credentials, RateLimitConfig
from trading.exchange.emulator import (
    AccountConfig,
    DeribitEmulator,
    ExchangeEngine,
    ManualClock,
    SyntheticSource,
)
from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.engine.core import DAY_MS
from trading.exchange.emulator.persistence import codec
from trading.exchange.emulator.sources.synthetic import SyntheticConfig

ACCOUNT = AccountConfig(
    client_id=CLIENT_ID, client_secret=CLIENT_SECRET, balances={"BTC": 10.0, "ETH": 100.0}
)
FAST = RateLimitConfig(matching_rate_per_s=1000, matching_burst=1000)


def _emulator(path: Path, now_ms: int, **kwargs: Any) -> DeribitEmulator:
    options: dict[str, Any] = {"source": SyntheticSource(), **kwargs}
    return DeribitEmulator(clock=ManualClock(now_ms), accounts=[ACCOUNT], state_path=path, **options)


@asynccontextmanager
async def _client(emu: DeribitEmulator, transport: str = "http") -> AsyncIterator[DeribitClient]:
    config = ClientConfig(
        transport=transport,
        base_url=emu.base_url,
        credentials=Credentials.of(CLIENT_ID, CLIENT_SECRET),
        rate_limits=FAST,
        request_timeout_s=5.0,
    )
    async with DeribitClient(config) as client:
        yield client


async def _view(client: DeribitClient, names: list[str]) -> dict[str, Any]:
    """What the exchange tells an account, as raw JSON (to compare across a restart)."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {
        "open": ("private/get_open_orders_by_currency", {"currency": "BTC"}),
        "positions": ("private/get_positions", {"currency": "BTC"}),
        "summary": ("private/get_account_summary", {"currency": "BTC", "extended": True}),
        "trades": ("private/get_user_trades_by_currency", {"currency": "BTC", "count": 1000}),
        "by_label": ("private/get_order_state_by_label", {"currency": "BTC", "label": "rest"}),
        "filled": ("private/get_order_state_by_label", {"currency": "BTC", "label": "take"}),
        "instruments": ("public/get_instruments", {"currency": "BTC", "kind": "option"}),
    }
    view = {key: await client.call(method, params) for key, (method, params) in calls.items()}
    for name in names:
        view[name] = await client.call("public/ticker", {"instrument_name": name})
        view[f"book {name}"] = {
            k: v
            for k, v in (await client.call("public/get_order_book", {"instrument_name": name})).items()
            if k != "change_id"
        }
    return view


async def test_a_restarted_emulator_is_the_same_exchange(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    async with _emulator(path, START_MS) as first, _client(first) as client:
        name = pick_option(first)
        ask = first.engine.instruments[name].quote.best_ask_price
        taken = await client.buy(instrument_name=name, amount=0.5, price=ask, label="take")
        resting = await client.buy(instrument_name=name, amount=0.2, price=0.0005, label="rest")
        await client.edit(order_id=resting.order.order_id, amount=0.3, price=0.001)
        gone = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="gone")
        await client.cancel(order_id=gone.order.order_id)
        before = await _view(client, [name])
    assert taken.trades and before["positions"] and len(before["open"]) >= 1

    async with _emulator(path, START_MS) as second, _client(second) as client:
        assert await _view(client, [name]) == before  # the same answers, to the last digit
        trade_ids = [
            t["trade_id"] for t in before["trades"]["trades"] if t["order_id"] == taken.order.order_id
        ]
        again = await client.call("private/get_user_trades_by_order", {"order_id": taken.order.order_id})
        assert sorted(t["trade_id"] for t in again) == sorted(trade_ids)
        assert {t["label"] for t in again} == {"take"}
        cancelled = await client.get_order_state(order_id=gone.order.order_id)
        assert cancelled.order_state == "cancelled" and cancelled.label == "gone"
        edited = await client.edit_by_label(label="rest", instrument_name=name, amount=0.4, price=0.001)
        assert edited.order.order_id == resting.order.order_id and edited.order.amount == 0.4
        # ids continue: a new order and a new trade never reuse one handed out before
        more = await client.buy(instrument_name=name, amount=0.1, price=ask, label="take-2")
        old_orders = [int(o["order_id"]) for o in before["by_label"] + before["filled"]] + [
            int(gone.order.order_id)
        ]
        assert int(more.order.order_id) > max(old_orders)
        old_trades = [int(t["trade_id"]) for t in before["trades"]["trades"]]
        assert more.trades and int(more.trades[0].trade_id) > max(old_trades)
        assert more.trades[0].trade_seq > max(t["trade_seq"] for t in before["trades"]["trades"])


async def test_orders_stay_open_when_the_exchange_restarts_under_a_websocket_client(tmp_path: Path) -> None:
    """Cancel-on-disconnect is for clients that go away, not for the exchange restarting (or
    crashing): the orders of a connected client with it enabled survive a restart."""
    path = tmp_path / "exchange.db"
    emu = _emulator(path, START_MS)
    await emu.start()
    async with _client(emu, "ws") as client:
        assert client.config.cancel_on_disconnect
        placed = await client.buy(instrument_name=pick_option(emu), amount=0.1, price=0.0005, label="keep")
        await emu.stop()  # the exchange goes away first
    async with _emulator(path, START_MS) as again:
        assert again.engine.orders[placed.order.order_id].state == "open"


def _market(engine: ExchangeEngine) -> dict[str, Any]:
    live = {n: r.quote for n, r in engine.instruments.items() if not r.expired}
    return {"index": dict(engine.index), "dvol": dict(engine.dvol), "quotes": live}


async def test_the_market_continues_on_the_same_path(tmp_path: Path) -> None:
    """Saved at one time, resumed later: the market then is the one an emulator that never
    stopped shows, and not a new path (the path is a function of the seed and the start)."""
    path = tmp_path / "exchange.db"
    stopped_at = START_MS + DAY_MS + 7 * 3_600_000 + 123_456
    resumed_at = stopped_at + 2 * DAY_MS + 17_000
    async with _emulator(path, START_MS) as first:
        await first.advance((stopped_at - START_MS) / 1000)
        index_then = first.engine.index["BTC"]
    async with _emulator(path, resumed_at) as second:
        await second.advance(0)
        reference = ExchangeEngine(SyntheticSource(), [ACCOUNT], start_ms=START_MS)
        reference.sync(resumed_at)
        assert _market(second.engine) == _market(reference)
        assert second.engine.index["BTC"] != index_then
        later = SyntheticSource(SyntheticConfig(start_ms=stopped_at))  # what a new path would show
        assert later.index_price("BTC", resumed_at) != second.engine.index["BTC"]


async def test_an_expiry_passed_while_stopped_is_delivered_on_restart(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    async with _emulator(path, START_MS) as first:
        engine, account = first.engine, first.engine.accounts[CLIENT_ID]
        expiry = min(r.expiration_ms for r in engine.instruments.values())
        rec = next(
            r
            for _, r in sorted(engine.instruments.items())
            if r.expiration_ms == expiry and r.currency == "BTC" and (r.quote.best_bid_price or 0) > 0.002
        )
        engine.place_order(
            account, "sell", {"instrument_name": rec.name, "amount": 1.0, "price": rec.quote.best_bid_price}
        )
        resting = engine.place_order(
            account, "buy", {"instrument_name": rec.name, "amount": 0.1, "price": 0.0001}
        )
        await first.settle()
        assert account.positions[rec.name].size < 0
    after_expiry = expiry + 3_600_000
    async with _emulator(path, after_expiry) as second, _client(second) as client:
        assert (await client.get_positions(currency="BTC")) == []
        order = await client.get_order_state(order_id=resting["order"]["order_id"])
        assert order.order_state == "cancelled" and order.cancel_reason == "settlement"
        delivered = await client.get_delivery_prices(index_name="btc_usd")
        assert delivered.records_total == 1
        expired = await client.call("public/get_instruments", {"currency": "BTC", "expired": True})
        assert rec.name in {i["instrument_name"] for i in expired}
        balance = (await client.get_account_summary(currency="BTC")).balance
    async with _emulator(path, after_expiry) as third, _client(third) as client:  # settled for good
        assert (await client.get_account_summary(currency="BTC")).balance == balance
        assert (await client.get_delivery_prices(index_name="btc_usd")).data == delivered.data
        ticker = await client.call("public/ticker", {"instrument_name": rec.name})
        assert ticker["state"] == "closed" and ticker["delivery_price"] == delivered.data[0].delivery_price


async def test_liquidity_taken_stays_taken_within_the_same_market_step(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    async with _emulator(path, START_MS) as first:
        name = pick_option(first)
        rec = first.engine.instruments[name]
        best, size = rec.market_levels("asks")[0]
        account = first.engine.accounts[CLIENT_ID]
        first.engine.place_order(account, "buy", {"instrument_name": name, "amount": size, "price": best})
    async with _emulator(path, START_MS + 3_000) as second:  # the same 10 s market step
        assert second.engine.instruments[name].market_levels("asks")[0][0] > best
    async with _emulator(path, START_MS + 60_000) as third:  # the market has moved on
        await third.advance(0)
        assert third.engine.instruments[name].consumed == {}


def _image(engine: ExchangeEngine) -> dict[str, Any]:
    """Everything the file keeps, encoded (positions, orders, trades, instruments, ids...)."""
    token = engine.market_token()
    return {
        "now": engine.now_ms,
        "ids": engine.id_counters(),
        "accounts": [codec.account_row(a) for a in engine.accounts.values()],
        "positions": [  # in the engine's order, which is the order answers list them in
            codec.position_row(a.account_id, p)
            for a in engine.accounts.values()
            for p in a.positions.values()
        ],
        "orders": [codec.order_row(o) for o in engine.orders.values()],
        "trades": [codec.trade_row(i, t) for i, t in enumerate(engine.trades)],
        "instruments": [codec.instrument_row(r, token) for r in engine.instruments.values()],
        "delivery": engine.delivery_prices,
    }


async def test_saves_add_up_to_the_whole_state(tmp_path: Path) -> None:
    """Random trading over two to three days, saved change by change: the file then holds exactly
    what the engine does (so nothing that changes is forgotten by the change tracking)."""
    path = tmp_path / "exchange.db"
    rng = random.Random(11)
    async with _emulator(path, START_MS) as emu:
        engine, account = emu.engine, emu.engine.accounts[CLIENT_ID]
        emu.faults.partial_fills(0.5)
        for step in range(100):
            live = sorted(n for n, r in engine.instruments.items() if not r.expired and r.currency == "BTC")
            name = rng.choice(live[: len(live) // 3])  # near expiries: some expire in the run
            quote = engine.instruments[name].quote
            side = rng.choice(("buy", "sell"))
            crossing = quote.best_ask_price if side == "buy" else quote.best_bid_price
            price = crossing if crossing and rng.random() < 0.5 else 0.0005
            params = {
                "instrument_name": name,
                "amount": rng.choice((0.1, 0.3)),
                "price": price,
                "label": f"L{step % 7}",
            }
            open_now = engine.open_orders(account, "BTC", None)
            try:
                engine.place_order(account, side, params)
                if open_now and rng.random() < 0.3:
                    engine.cancel(account, rng.choice(open_now)["order_id"])
                elif open_now and rng.random() < 0.3:
                    order = rng.choice(open_now)
                    edit = {"order_id": order["order_id"], "amount": order["amount"] + 0.1, "price": 0.001}
                    engine.edit_order(account, edit)
            except RpcError:  # rejected (funds, price band, settlement pause): part of trading
                pass
            await emu.advance(rng.choice((1, 10, 1_800, 7_200)))
        await emu.settle()
        expected = _image(engine)
    assert expected["delivery"] and expected["trades"] and len(expected["orders"]) > 50
    assert len(expected["positions"]) > 1
    async with _emulator(path, START_MS) as again:
        assert _image(again.engine) == expected


@pytest.mark.parametrize("fsync", [False, True])
async def test_concurrent_orders_are_all_saved(tmp_path: Path, fsync: bool) -> None:
    """Orders sent at once (the fsync mode then shares one fsync between several), and their
    cancel-on-disconnect when the client leaves: all in the file."""
    path = tmp_path / "exchange.db"
    async with _emulator(path, START_MS, state_fsync=fsync) as emu:
        async with _client(emu, "ws") as client:
            name = pick_option(emu)
            placed = await asyncio.gather(
                *(
                    client.buy(instrument_name=name, amount=0.1, price=0.0005, label=f"c{i}")
                    for i in range(24)
                )
            )
            assert all(p.order.order_state == "open" for p in placed)
        await emu.settle()
    async with _emulator(path, START_MS) as again:
        orders = again.engine.orders
        assert all(orders[p.order.order_id].cancel_reason == "cancel_on_disconnect" for p in placed)


async def test_fills_found_on_resuming_in_a_moved_market_are_saved(tmp_path: Path) -> None:
    """The market moved while the emulator was down: resting orders it now crosses fill when
    the emulator resumes, and those fills are in the file too."""
    path = tmp_path / "exchange.db"
    source = ScriptedSource()
    params = {"instrument_name": source.NAME, "amount": 0.5, "price": 0.0195, "label": "rest"}
    async with _emulator(path, START_MS, source=source) as first:
        order_id = first.engine.place_order(first.engine.accounts[CLIENT_ID], "buy", params)["order"][
            "order_id"
        ]
    source.move(bid=0.019, ask=0.0195)  # the ask comes down to the resting bid
    async with _emulator(path, START_MS, source=source) as second:
        assert second.engine.orders[order_id].state == "filled"
        (trade,) = [t for _, _, t in second.engine.trades]
    async with _emulator(path, START_MS, source=source) as third:
        assert [t for _, _, t in third.engine.trades] == [trade]
        assert third.engine.orders[order_id].state == "filled"
