"""Third-party Deribit clients against the emulator: ccxt's ``deribit`` (REST, signed
``deri-hmac-sha256`` requests) for market data and order placement, ccxt.pro's streams, and a raw
JSON-RPC session over the ``websockets`` library. None of them knows it is not talking to
Deribit: they get only the emulator's address, and every socket the tests open is checked to
be a loopback one, so nothing can reach the internet."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.trading.exchange.conftest import CLIENT_ID, CLIENT_SECRET, pick_option, wait_for
from trading.exchange.emulator import DeribitEmulator

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse, for the length of the test, every name lookup and connection that is not to the
    loopback interface; returns the refused destinations (so a test can see the guard work)."""
    refused: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            refused.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"test may not resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            refused.append(str(address[0]))
            raise ConnectionRefusedError(f"test may not connect to {address!r}")

    def connect_(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect_)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return refused


def _point_at(exchange: Any, emulator: DeribitEmulator) -> list[str]:
    """Aim a ccxt deribit instance at the emulator; returns the list of every URL it requests."""
    exchange.urls["api"] = {"rest": emulator.base_url, "ws": emulator.ws_url}
    urls: list[str] = []
    fetch = exchange.fetch

    async def recording_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        urls.append(url)
        return await fetch(url, method, headers, body)

    exchange.fetch = recording_fetch
    return urls


@pytest.fixture
async def deribit(emulator: DeribitEmulator, loopback_only: list[str]) -> AsyncIterator[Any]:
    """ccxt's async deribit with the emulator's key, option markets loaded."""
    exchange = ccxt_async.deribit({"apiKey": CLIENT_ID, "secret": CLIENT_SECRET})
    urls = _point_at(exchange, emulator)
    try:
        await exchange.load_markets(params={"kind": "option"})
        yield exchange
    finally:
        await exchange.close()
    assert urls, "ccxt made no request"
    stray = [u for u in urls if not u.startswith(emulator.http_url + "/")]
    assert not stray, f"ccxt requested URLs outside the emulator: {stray}"
    assert loopback_only == []


def _symbol(exchange: Any, instrument_name: str) -> str:
    return str(exchange.markets_by_id[instrument_name][0]["symbol"])


# ---------------------------------------------------------------------- ccxt, REST


async def test_ccxt_loads_the_btc_and_eth_option_markets(deribit: Any, emulator: DeribitEmulator) -> None:
    listed = {name: rec for name, rec in emulator.engine.instruments.items() if not rec.expired}
    assert set(deribit.markets_by_id) == set(listed)
    assert {"BTC", "ETH"} <= set(deribit.currencies)
    for currency, min_amount in (("BTC", 0.1), ("ETH", 1.0)):
        name = pick_option(emulator, currency)
        rec = listed[name]
        market = deribit.market(_symbol(deribit, name))
        assert market["type"] == "option" and market["option"] and market["contract"]
        assert (market["base"], market["quote"], market["settle"]) == (currency, "USD", currency)
        assert market["inverse"] and not market["linear"]
        assert market["strike"] == rec.strike and market["optionType"] == rec.option_type
        assert market["expiry"] == rec.expiration_ms
        assert market["expiryDatetime"].endswith("T08:00:00.000Z")
        assert market["contractSize"] == 1
        assert market["limits"]["amount"]["min"] == min_amount
        assert market["precision"]["price"] == 0.0001
        assert (market["maker"], market["taker"]) == (0.0003, 0.0003)
        assert market["active"]


async def test_ccxt_reads_an_options_ticker_and_book(deribit: Any, emulator: DeribitEmulator) -> None:
    name = pick_option(emulator)
    symbol = _symbol(deribit, name)
    quote = emulator.engine.instruments[name].quote

    ticker = await deribit.fetch_ticker(symbol)
    assert ticker["symbol"] == symbol and ticker["timestamp"] == emulator.clock.now_ms()
    assert (ticker["bid"], ticker["bidVolume"]) == (quote.best_bid_price, quote.best_bid_amount)
    assert (ticker["ask"], ticker["askVolume"]) == (quote.best_ask_price, quote.best_ask_amount)
    assert ticker["markPrice"] == quote.mark_price
    assert ticker["indexPrice"] == emulator.engine.index["BTC"]
    assert ticker["info"]["mark_iv"] == quote.mark_iv

    greeks = await deribit.fetch_greeks(symbol)
    assert greeks["symbol"] == symbol and -1 <= greeks["delta"] <= 1 and greeks["vega"] > 0

    book = await deribit.fetch_order_book(symbol, 5)
    assert book["symbol"] == symbol and book["timestamp"] == emulator.clock.now_ms()
    assert book["bids"][0] == [quote.best_bid_price, quote.best_bid_amount]
    assert book["asks"][0] == [quote.best_ask_price, quote.best_ask_amount]
    assert [p for p, _ in book["bids"]] == sorted((p for p, _ in book["bids"]), reverse=True)
    assert [p for p, _ in book["asks"]] == sorted(p for p, _ in book["asks"])
    assert 0 < len(book["bids"]) <= 5 and 0 < len(book["asks"]) <= 5


async def test_ccxt_sells_an_option_and_follows_it_through(deribit: Any, emulator: DeribitEmulator) -> None:
    balance = await deribit.fetch_balance()
    assert balance["BTC"]["total"] == 10.0 and balance["BTC"]["free"] == 10.0
    assert balance["ETH"]["total"] == 100.0
    assert (await deribit.fetch_balance({"code": "BTC"}))["BTC"]["free"] == 10.0

    name = pick_option(emulator)
    symbol = _symbol(deribit, name)
    quote = emulator.engine.instruments[name].quote
    bid, ask = quote.best_bid_price, quote.best_ask_price
    assert bid is not None and ask is not None

    resting = await deribit.create_order(symbol, "limit", "sell", 0.1, ask + 0.001)
    assert resting["status"] == "open" and resting["side"] == "sell" and resting["type"] == "limit"
    assert resting["filled"] == 0 and resting["remaining"] == 0.1
    assert resting["price"] == pytest.approx(ask + 0.001)

    filled = await deribit.create_order(symbol, "limit", "sell", 0.1, bid)
    assert filled["status"] == "closed" and filled["filled"] == 0.1 and filled["remaining"] == 0
    assert filled["average"] == bid
    (fill,) = filled["trades"]
    assert fill["price"] == bid and fill["amount"] == 0.1 and fill["takerOrMaker"] == "taker"
    fee_btc = min(0.0003 * 0.1, 0.125 * bid * 0.1)
    assert fill["fee"] == {"currency": "BTC", "cost": pytest.approx(fee_btc)}

    open_orders = await deribit.fetch_open_orders()
    assert [o["id"] for o in open_orders] == [resting["id"]]
    assert [o["id"] for o in await deribit.fetch_open_orders(symbol)] == [resting["id"]]

    fetched = await deribit.fetch_order(resting["id"])
    assert fetched["id"] == resting["id"] and fetched["status"] == "open" and fetched["symbol"] == symbol
    assert (await deribit.fetch_order(filled["id"]))["status"] == "closed"

    cancelled = await deribit.cancel_order(resting["id"], symbol)
    assert cancelled["id"] == resting["id"] and cancelled["status"] == "canceled"
    assert await deribit.fetch_open_orders(symbol) == []

    # the *_and_time methods need end_timestamp as well (Deribit's spec), which ccxt leaves to us
    since, until = emulator.clock.now_ms() - 60_000, {"end_timestamp": emulator.clock.now_ms()}
    for trades in (
        await deribit.fetch_my_trades(),
        await deribit.fetch_my_trades(symbol),
        await deribit.fetch_my_trades(None, since, params=until),
        await deribit.fetch_my_trades(symbol, since, params=until),
        await deribit.fetch_order_trades(filled["id"]),
    ):
        (trade,) = trades
        assert trade["order"] == filled["id"] and trade["symbol"] == symbol
        assert trade["side"] == "sell" and trade["price"] == bid and trade["amount"] == 0.1

    assert [o["id"] for o in await deribit.fetch_closed_orders()] == [filled["id"]]
    history = await deribit.fetch_closed_orders(symbol, params={"include_unfilled": True})
    assert {o["id"]: o["status"] for o in history} == {filled["id"]: "closed", resting["id"]: "canceled"}

    again = await deribit.create_order(symbol, "limit", "sell", 0.1, ask + 0.001)
    await deribit.cancel_all_orders(symbol)
    assert (await deribit.fetch_order(again["id"]))["status"] == "canceled"

    (position,) = await deribit.fetch_positions()
    assert position["symbol"] == symbol and position["side"] == "short"
    assert position["contracts"] == -0.1 and position["entryPrice"] == bid
    assert position["markPrice"] == quote.mark_price and position["initialMargin"] > 0
    assert await deribit.fetch_positions([symbol]) == [position]

    after = await deribit.fetch_balance({"code": "BTC"})
    cash = 10.0 + 0.1 * bid - fee_btc
    assert after["info"]["balance"] == pytest.approx(cash)
    assert after["BTC"]["total"] == pytest.approx(cash - 0.1 * quote.mark_price)
    assert after["BTC"]["free"] == pytest.approx(cash - position["initialMargin"])


async def test_ccxt_raises_its_own_exceptions_for_deribit_errors(
    deribit: Any, emulator: DeribitEmulator
) -> None:
    name = pick_option(emulator)
    symbol = _symbol(deribit, name)
    ask = emulator.engine.instruments[name].quote.best_ask_price
    assert ask is not None
    with pytest.raises(ccxt_async.OrderNotFound):
        await deribit.fetch_order("999999999")
    with pytest.raises(ccxt_async.InsufficientFunds):  # 10009: 500 short calls need ≥ 50 BTC of margin
        await deribit.create_order(symbol, "limit", "sell", 500, ask + 0.001)
    order = await deribit.create_order(symbol, "limit", "sell", 0.1, ask + 0.001)
    await deribit.cancel_order(order["id"])
    with pytest.raises(ccxt_async.InvalidOrder):  # 11044 not_open_order
        await deribit.cancel_order(order["id"])


async def test_ccxt_signed_requests_are_checked(emulator: DeribitEmulator, loopback_only: list[str]) -> None:
    """A wrong secret, and a signature dated more than 60 s from now, are refused (13009)."""
    wrong = ccxt_async.deribit({"apiKey": CLIENT_ID, "secret": "not-the-secret"})
    stale = ccxt_async.deribit({"apiKey": CLIENT_ID, "secret": CLIENT_SECRET})
    now_ms: Callable[[], int] = stale.milliseconds
    stale.milliseconds = lambda: now_ms() - 120_000
    try:
        for exchange in (wrong, stale):
            _point_at(exchange, emulator)
            with pytest.raises(ccxt_async.AuthenticationError, match="13009"):
                await exchange.privateGetGetAccountSummary({"currency": "BTC"})
    finally:
        await wrong.close()
        await stale.close()


async def test_a_signed_post_covers_its_body(emulator: DeribitEmulator, loopback_only: list[str]) -> None:
    """The same signature over a POSTed JSON-RPC body (how other Deribit clients sign): accepted
    as signed, refused once the body is changed."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 7, "method": "private/get_account_summary", "params": {"currency": "BTC"}}
    )
    ts, nonce = str(int(time.time() * 1000)), "n0nce"
    signed = f"{ts}\n{nonce}\nPOST\n/api/v2\n{body}\n"
    sig = hmac.new(CLIENT_SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Authorization": f"deri-hmac-sha256 id={CLIENT_ID},ts={ts},sig={sig},nonce={nonce}",
        "Content-Type": "application/json",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(emulator.http_url, data=body, headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["result"]["balance"] == 10.0
        async with http.post(emulator.http_url, data=body.replace("BTC", "ETH"), headers=headers) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == 13009
    assert loopback_only == []


async def test_the_network_guard_stops_a_client_left_aimed_at_deribit(loopback_only: list[str]) -> None:
    """The guard works: a client still pointed at www.deribit.com cannot get out."""
    exchange = ccxt_async.deribit()
    try:
        with pytest.raises(ccxt_async.NetworkError):
            await exchange.fetch_time()
    finally:
        await exchange.close()
    assert loopback_only and all("deribit.com" in host for host in loopback_only)


# ---------------------------------------------------------------------- streams


async def test_ccxt_pro_streams_a_ticker_a_book_and_our_orders(
    emulator: DeribitEmulator, loopback_only: list[str]
) -> None:
    exchange = ccxt_pro.deribit({"apiKey": CLIENT_ID, "secret": CLIENT_SECRET})
    urls = _point_at(exchange, emulator)
    try:
        await exchange.load_markets(params={"kind": "option"})
        name = pick_option(emulator)
        symbol = _symbol(exchange, name)
        quote = emulator.engine.instruments[name].quote
        ticker = await asyncio.wait_for(exchange.watch_ticker(symbol), 5)
        assert (ticker["symbol"], ticker["bid"], ticker["ask"]) == (
            symbol,
            quote.best_bid_price,
            quote.best_ask_price,
        )
        book = await asyncio.wait_for(exchange.watch_order_book(symbol), 5)
        assert book["bids"][0][:2] == [quote.best_bid_price, quote.best_bid_amount]

        orders = asyncio.ensure_future(exchange.watch_orders())
        await wait_for(  # the private subscription is in place before the order
            lambda: any(c.startswith("user.orders.") for s in emulator.sessions.values() for c in s.channels)
        )
        placed = await exchange.create_order(symbol, "limit", "sell", 0.1, quote.best_bid_price)
        (streamed, *_) = await asyncio.wait_for(orders, 5)
        assert streamed["id"] == placed["id"] and streamed["status"] == "closed"
    finally:
        await exchange.close()
    assert all(u.startswith(emulator.http_url + "/") for u in urls)
    assert loopback_only == []


async def _request(ws: ClientConnection, req_id: int, method: str, params: dict[str, Any]) -> Any:
    """Send a JSON-RPC request; return its result (notifications arriving meanwhile are kept)."""
    await ws.send(json.dumps({"jsonrpc": "2.0", "id": req_id, "method": method, "params": params}))
    message = await _receive(ws, lambda m: m.get("id") == req_id)
    assert "error" not in message, message
    assert message["jsonrpc"] == "2.0" and message["testnet"] is True and message["usOut"] >= message["usIn"]
    return message["result"]


async def _receive(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await ws.recv())
            if wanted(message):
                return dict(message)


async def test_websockets_json_rpc_session(emulator: DeribitEmulator, loopback_only: list[str]) -> None:
    name = pick_option(emulator)
    quote = emulator.engine.instruments[name].quote
    channel = f"ticker.{name}.100ms"

    def ticker_note(message: dict[str, Any]) -> bool:
        return message.get("method") == "subscription" and message["params"]["channel"] == channel

    async with connect(emulator.ws_url) as ws:
        auth = await _request(
            ws,
            1,
            "public/auth",
            {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        assert auth["token_type"] == "bearer" and auth["expires_in"] > 0 and auth["refresh_token"]
        assert "trade:read_write" in auth["scope"].split()

        assert await _request(ws, 2, "public/subscribe", {"channels": [channel]}) == [channel]
        first = (await _receive(ws, ticker_note))["params"]["data"]
        assert first["instrument_name"] == name and first["timestamp"] == emulator.clock.now_ms()
        assert (first["best_bid_price"], first["best_bid_amount"]) == (
            quote.best_bid_price,
            quote.best_bid_amount,
        )
        assert first["mark_price"] == quote.mark_price and set(first["greeks"]) >= {"delta", "vega"}

        placed = await _request(
            ws,
            3,
            "private/buy",
            {
                "instrument_name": name,
                "amount": 0.1,
                "type": "limit",
                "price": quote.best_bid_price,
                "label": "third-party-ws",
            },
        )
        order = placed["order"]
        assert order["order_state"] == "open" and order["direction"] == "buy" and placed["trades"] == []
        assert order["label"] == "third-party-ws" and order["amount"] == 0.1

        # our bid joins the best bid: the next ticker notification shows it
        joined = (await _receive(ws, ticker_note))["params"]["data"]
        assert joined["best_bid_price"] == quote.best_bid_price
        assert joined["best_bid_amount"] == pytest.approx(quote.best_bid_amount + 0.1)
    assert loopback_only == []
