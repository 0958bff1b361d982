"""One emulated WebSocket connection: its auth, subscriptions, heartbeat and cancel-on-disconnect."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from trading.exchange.emulator.accounting import AccountState
from trading.exchange.emulator.auth import TokenInfo
from trading.exchange.emulator.faults import FaultKind
from trading.exchange.emulator.orders import EngineEvent
from trading.exchange.emulator.perpetual import PerpetualView, perpetual_currency

if TYPE_CHECKING:
    from trading.exchange.emulator.server.core import EmulatorCore

__all__ = ["WsSession"]

_INTERVAL = r"(raw|100ms|agg2)"
_PATTERNS = {
    "ticker": re.compile(rf"^ticker\.(?P<instrument>[A-Z0-9_\-]+)\.{_INTERVAL}$"),
    "book": re.compile(rf"^book\.(?P<instrument>[A-Z0-9_\-]+)\.{_INTERVAL}$"),
    "index": re.compile(r"^deribit_price_index\.(?P<index>[a-z]+_usdc?)$"),
    "dvol": re.compile(r"^deribit_volatility_index\.(?P<index>[a-z]+_usdc?)$"),
    "user": re.compile(
        rf"^user\.(?P<what>orders|trades)\.(?P<a>[A-Za-z0-9_\-]+)(?:\.(?P<b>[A-Za-z]+))?\.{_INTERVAL}$"
    ),
    "portfolio": re.compile(r"^user\.portfolio\.(?P<currency>[a-zA-Z]+)$"),
}


def _user_match(match: re.Match[str], event: EngineEvent) -> bool:
    if (match["what"] == "orders") != (event.kind == "order"):
        return False
    if match["b"] is None:  # user.orders.{instrument}.{interval}
        return match["a"] == event.instrument_name
    return match["a"] in ("option", "any") and match["b"] in ("any", event.currency)


class WsSession:
    def __init__(self, server: EmulatorCore, ws: web.WebSocketResponse, connection_id: str) -> None:
        self.server = server
        self.ws = ws
        self.connection_id = connection_id
        self.token: TokenInfo | None = None
        self.account: AccountState | None = None
        self.cod_enabled = False
        self.channels: dict[str, re.Match[str]] = {}
        self._kinds: dict[str, str] = {}
        self._last: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._heartbeat: asyncio.Task[None] | None = None
        self._tested = asyncio.Event()
        self._held: list[dict[str, Any]] = []
        self.closed = False

    # ------------------------------------------------------------------ SessionApi

    def authenticate(self, token: TokenInfo) -> None:
        self.token = token
        self.account = self.server.engine.accounts[token.account_id]

    def set_heartbeat(self, interval_s: float) -> None:
        self.disable_heartbeat()
        self._heartbeat = asyncio.create_task(
            self._heartbeat_loop(interval_s * self.server.heartbeat_time_scale)
        )

    def disable_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    def test_received(self) -> None:
        self._tested.set()

    def subscribe(self, channels: list[str], *, private: bool) -> list[str]:
        accepted = []
        engine = self.server.engine
        for channel in channels:
            for kind, pattern in _PATTERNS.items():
                match = pattern.match(channel)
                if match is None:
                    continue
                if (
                    kind in ("ticker", "book")
                    and match["instrument"] not in engine.instruments
                    and (
                        kind == "book" or perpetual_currency(match["instrument"], list(engine.index)) is None
                    )
                ):
                    break
                if kind in ("user", "portfolio") and self.account is None:
                    break
                self.channels[channel] = match
                self._kinds[channel] = kind
                self._last.pop(channel, None)
                accepted.append(channel)
                break
        return accepted

    def unsubscribe(self, channels: list[str]) -> list[str]:
        removed = []
        for channel in channels:
            if self.channels.pop(channel, None) is not None:
                self._kinds.pop(channel, None)
                removed.append(channel)
        return removed

    # ------------------------------------------------------------------ sending

    async def send(self, message: dict[str, Any]) -> None:
        if self.closed or self.ws.closed:
            return
        async with self._lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(json.dumps(message))

    async def notify(self, channel: str, data: Any) -> None:
        await self.send(
            {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
        )

    async def close(self, code: int = 1000) -> None:
        self.closed = True
        self.disable_heartbeat()
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)

    async def on_closed(self) -> None:
        """Connection gone: cancel-on-disconnect, then forget connection-bound tokens. When the
        emulator itself shuts down, orders stay (as after a crash): the exchange went away, the
        client did not."""
        self.closed = True
        self.disable_heartbeat()
        if self.cod_enabled and self.account is not None and not self.server.stopping:
            self.server.engine.cancel_where(self.account, reason="cancel_on_disconnect")
        self.server.auth.revoke_connection(self.connection_id)

    async def _heartbeat_loop(self, period_s: float) -> None:
        while not self.closed:
            await asyncio.sleep(period_s)
            self._tested.clear()
            await self.send({"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}})
            try:
                await asyncio.wait_for(self._tested.wait(), timeout=period_s)
            except TimeoutError:
                await self.close(code=1011)
                return

    # ------------------------------------------------------------------ publishing

    async def publish_private(self, events: Sequence[EngineEvent]) -> None:
        faults = self.server.faults
        for channel, match in list(self.channels.items()):
            if self._kinds.get(channel) != "user":
                continue
            hits = [e for e in events if _user_match(match, e)]
            if not hits:
                continue
            payloads = [e.payload for e in hits]
            interval = channel.rsplit(".", 1)[1]
            if match["what"] == "orders":
                if interval == "raw":
                    for payload in payloads:
                        await self.notify(channel, payload)
                else:
                    await self.notify(channel, payloads)
                continue
            message = {
                "jsonrpc": "2.0",
                "method": "subscription",
                "params": {"channel": channel, "data": payloads},
            }
            reorder = faults.active(FaultKind.REORDER_TRADES)
            if reorder is not None:
                self._held.append(message)
                if len(self._held) >= reorder.batch:
                    reorder.fired += 1
                    held, self._held = self._held, []
                    for m in reversed(held):
                        await self.send(m)
                continue
            await self.send(message)
            if faults.take(FaultKind.DUPLICATE_TRADES, channel):
                await self.send(message)

    async def publish_market(self) -> None:
        engine = self.server.engine
        for channel, match in list(self.channels.items()):
            kind = self._kinds.get(channel)
            data: Any = None
            compare: Any = None
            if kind == "ticker" or kind == "book":
                rec = engine.instruments.get(match["instrument"])
                if rec is None:
                    currency = perpetual_currency(match["instrument"], list(engine.index))
                    if currency is None or kind != "ticker":
                        continue
                    data = PerpetualView(
                        engine.source, currency, now_ms=engine.now_ms, index_price=engine.index[currency]
                    ).ticker()
                    compare = {k: v for k, v in data.items() if k != "timestamp"}
                    if self._last.get(channel) != compare:
                        self._last[channel] = compare
                        await self.notify(channel, data)
                    continue
                bids, asks = engine.own_levels(rec.name)
                index = engine.index[rec.currency]
                if kind == "ticker":
                    data = rec.ticker(now_ms=engine.now_ms, index_price=index, own_bids=bids, own_asks=asks)
                    compare = {k: v for k, v in data.items() if k != "timestamp"}
                else:
                    book = rec.order_book(
                        now_ms=engine.now_ms,
                        index_price=index,
                        own_bids=bids,
                        own_asks=asks,
                        depth=20,
                        change_id=0,
                    )
                    compare = (book["bids"], book["asks"])
                    data = {
                        "type": "snapshot",
                        "timestamp": engine.now_ms,
                        "instrument_name": rec.name,
                        "change_id": engine.next_change_id(),
                        "bids": [["new", p, a] for p, a in book["bids"]],
                        "asks": [["new", p, a] for p, a in book["asks"]],
                    }
            elif kind in ("index", "dvol"):
                currency = match["index"].split("_")[0].upper()
                if currency not in engine.index:
                    continue
                if kind == "index":
                    compare = engine.index[currency]
                    data = {"index_name": match["index"], "price": compare, "timestamp": engine.now_ms}
                else:
                    compare = engine.dvol[currency]
                    data = {"volatility": compare, "timestamp": engine.now_ms, "index_name": match["index"]}
            elif kind == "portfolio" and self.account is not None:
                currency = match["currency"].upper()
                data = engine.account_summary(self.account, currency, extended=False)
                compare = data
            if data is None or self._last.get(channel) == compare:
                continue
            self._last[channel] = compare
            await self.notify(channel, data)
