"""JSON-RPC 2.0 transports for Deribit: HTTPS (httpx) and WebSocket (websockets).

A transport sends one request and returns its ``result`` or raises: a :class:`DeribitError`
subclass when the exchange answered with an error, a :class:`TransportError` subclass when no
usable answer arrived (``RequestNotSentError`` when the request surely never left).
The WebSocket transport also delivers notifications, answers heartbeats and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from trading.exchange.config import redact
from trading.exchange.errors import (
    ProtocolError,
    RequestNotSentError,
    ResponseLostError,
    ServerUnavailableError,
    error_for_code,
)

__all__ = ["HttpTransport", "RpcTransport", "WsTransport", "parse_envelope"]

log = logging.getLogger(__name__)

NotificationHandler = Callable[[str, Any], None]
ConnectedHook = Callable[[], Awaitable[None]]


class RpcTransport(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def request(
        self, method: str, params: dict[str, Any], *, timeout_s: float, access_token: str | None = None
    ) -> Any: ...


def parse_envelope(payload: Any, *, method: str) -> Any:
    """Return ``result`` of a JSON-RPC response or raise the typed error it carries."""
    if not isinstance(payload, dict):
        raise ProtocolError(f"response to {method} is not a JSON object")
    error = payload.get("error")
    if error is not None:
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            raise ProtocolError(f"malformed error object in response to {method}")
        message = error.get("message")
        raise error_for_code(
            error["code"], message if isinstance(message, str) else None, error.get("data"), method=method
        )
    if "result" not in payload:
        raise ProtocolError(f"response to {method} has neither result nor error")
    return payload["result"]


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


class HttpTransport:
    """JSON-RPC over HTTPS: ``GET {base}/{method}?params`` (``public/auth`` is POSTed so secrets
    never sit in a URL); the body is parsed whatever the HTTP status."""

    def __init__(self, base_url: str, *, connect_timeout_s: float, client: httpx.AsyncClient | None = None):
        self._base = base_url.rstrip("/")
        self._connect_timeout_s = connect_timeout_s
        self._client = client
        self._owns_client = client is None
        self._ids = itertools.count(1)

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient()

    async def close(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
        self._client = None

    async def request(
        self, method: str, params: dict[str, Any], *, timeout_s: float, access_token: str | None = None
    ) -> Any:
        if self._client is None:
            raise RequestNotSentError("HTTP transport is not started", method=method)
        url = f"{self._base}/{method}"
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, self._connect_timeout_s))
        try:
            if method == "public/auth":
                body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
                response = await self._client.post(url, json=body, headers=headers, timeout=timeout)
            else:
                query = {k: _query_value(v) for k, v in params.items() if v is not None}
                response = await self._client.get(url, params=query, headers=headers, timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise RequestNotSentError(f"could not connect: {type(exc).__name__}", method=method) from None
        except httpx.TimeoutException as exc:
            raise ResponseLostError(f"no response in time: {type(exc).__name__}", method=method) from None
        except httpx.TransportError as exc:
            raise ResponseLostError(
                f"connection failed after send: {type(exc).__name__}", method=method
            ) from None
        try:
            payload = response.json()
        except ValueError:
            if response.status_code >= 500:
                raise ServerUnavailableError(response.status_code, method=method) from None
            raise ProtocolError(f"HTTP {response.status_code} with a non-JSON body for {method}") from None
        if isinstance(payload, dict) and ("error" in payload or "result" in payload):
            return parse_envelope(payload, method=method)
        if response.status_code >= 500:
            raise ServerUnavailableError(response.status_code, method=method)
        raise ProtocolError(f"HTTP {response.status_code}: not a JSON-RPC body for {method}")


class WsTransport:
    """JSON-RPC over one WebSocket with automatic reconnection.

    * ``on_notification(channel, data)`` receives ``subscription`` messages.
    * ``on_connected()`` runs after every (re)connect before other requests go out; the client
      uses it to authenticate, set the heartbeat, enable cancel-on-disconnect and resubscribe.
    * A ``test_request`` heartbeat is answered with ``public/test`` at once.
    * Requests in flight when the socket drops fail with :class:`ResponseLostError`.
    """

    def __init__(
        self,
        url: str,
        *,
        connect_timeout_s: float,
        on_notification: NotificationHandler,
        on_connected: ConnectedHook | None = None,
        reconnect_base_delay_s: float = 0.2,
        reconnect_max_delay_s: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self._url = url
        self._connect_timeout_s = connect_timeout_s
        self._on_notification = on_notification
        self._on_connected = on_connected
        self._reconnect_base = reconnect_base_delay_s
        self._reconnect_max = reconnect_max_delay_s
        self._rng = rng or random.Random()
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._ready = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._first_connect: asyncio.Future[None] | None = None
        self._last_message_at = time.monotonic()
        self.watchdog_timeout_s: float | None = None
        #: number of successful connects (1 after start, +1 per reconnect)
        self.connect_count = 0

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._first_connect = loop.create_future()
        self._supervisor = asyncio.create_task(self._supervise(), name="deribit-ws-supervisor")
        await self._first_connect

    async def close(self) -> None:
        self._closing = True
        self._ready.clear()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
        self._fail_pending("transport closed")

    async def drop_connection(self) -> None:
        """Close the current socket (the supervisor reconnects); used by the watchdog."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def request(
        self, method: str, params: dict[str, Any], *, timeout_s: float, access_token: str | None = None
    ) -> Any:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=timeout_s)
        except TimeoutError:
            raise RequestNotSentError("WebSocket not connected", method=method) from None
        return await self.request_now(method, params, timeout_s=timeout_s)

    async def request_now(self, method: str, params: dict[str, Any], *, timeout_s: float) -> Any:
        """Send on the current socket without waiting for readiness (used by ``on_connected``)."""
        ws = self._ws
        if ws is None:
            raise RequestNotSentError("WebSocket not connected", method=method)
        req_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = (method, future)
        message = json.dumps({"jsonrpc": "2.0", "id": req_id, "method": method, "params": params})
        try:
            await ws.send(message)
        except Exception as exc:
            self._pending.pop(req_id, None)
            raise RequestNotSentError(f"send failed: {type(exc).__name__}", method=method) from None
        try:
            payload = await asyncio.wait_for(future, timeout=timeout_s)
        except TimeoutError:
            raise ResponseLostError("no response in time", method=method) from None
        finally:
            self._pending.pop(req_id, None)
        return parse_envelope(payload, method=method)

    # ------------------------------------------------------------------ internals

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for method, future in pending.values():
            if not future.done():
                future.set_exception(ResponseLostError(reason, method=method))

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                ws = await websockets.connect(
                    self._url, open_timeout=self._connect_timeout_s, max_size=2**24, ping_interval=None
                )
            except Exception as exc:
                if self._first_connect is not None and not self._first_connect.done():
                    self._first_connect.set_exception(
                        RequestNotSentError(f"could not connect: {type(exc).__name__}")
                    )
                    return
                delay = min(self._reconnect_max, self._reconnect_base * 2**attempt)
                attempt += 1
                await asyncio.sleep(delay * (0.5 + 0.5 * self._rng.random()))
                continue
            attempt = 0
            self._ws = ws
            self._last_message_at = time.monotonic()
            reader = asyncio.create_task(self._read(ws), name="deribit-ws-reader")
            watchdog = asyncio.create_task(self._watchdog(ws), name="deribit-ws-watchdog")
            try:
                if self._on_connected is not None:
                    await self._on_connected()
                self.connect_count += 1
                self._ready.set()
                if self._first_connect is not None and not self._first_connect.done():
                    self._first_connect.set_result(None)
            except Exception as exc:
                log.warning("on-connect setup failed: %s", type(exc).__name__)
                if self._first_connect is not None and not self._first_connect.done():
                    self._first_connect.set_exception(exc)
                    reader.cancel()
                    watchdog.cancel()
                    await ws.close()
                    return
                with contextlib.suppress(Exception):
                    await ws.close()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            watchdog.cancel()
            self._ready.clear()
            self._ws = None
            self._fail_pending("WebSocket disconnected")
            if not self._closing:
                log.info("WebSocket disconnected; reconnecting")
                await asyncio.sleep(self._reconnect_base * (0.5 + 0.5 * self._rng.random()))

    async def _watchdog(self, ws: ClientConnection) -> None:
        while True:
            timeout = self.watchdog_timeout_s
            await asyncio.sleep(min(timeout, 1.0) if timeout else 1.0)
            if timeout and time.monotonic() - self._last_message_at > timeout:
                log.warning("no message for %.1fs; dropping the WebSocket", timeout)
                with contextlib.suppress(Exception):
                    await ws.close()
                return

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._last_message_at = time.monotonic()
                try:
                    message = json.loads(raw)
                except ValueError:
                    log.warning("dropping a non-JSON WebSocket frame")
                    continue
                if not isinstance(message, dict):
                    continue
                await self._dispatch(ws, message)
        except websockets.ConnectionClosed:
            pass

    async def _dispatch(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        msg_id = message.get("id")
        if msg_id is not None and ("result" in message or "error" in message):
            entry = self._pending.get(msg_id) if isinstance(msg_id, int) else None
            if entry is not None and not entry[1].done():
                entry[1].set_result(message)
            return
        method = message.get("method")
        params = message.get("params")
        if method == "heartbeat" and isinstance(params, dict):
            if params.get("type") == "test_request":
                reply = {"jsonrpc": "2.0", "id": next(self._ids), "method": "public/test", "params": {}}
                with contextlib.suppress(Exception):
                    await ws.send(json.dumps(reply))
            return
        if method == "subscription" and isinstance(params, dict):
            channel = params.get("channel")
            if isinstance(channel, str):
                try:
                    self._on_notification(channel, params.get("data"))
                except Exception:
                    log.exception("notification handler failed for %s", channel)
            return
        log.debug("unhandled WebSocket message: %s", redact(message))
