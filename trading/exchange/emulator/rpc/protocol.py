"""What a method handler sees of its call (:class:`CallContext`, the WebSocket session's
:class:`SessionApi`), the handlers' dispatch, and the Deribit response envelope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from trading.exchange.emulator.accounting import AccountState, RpcError
from trading.exchange.emulator.auth import AuthService, TokenInfo
from trading.exchange.emulator.engine import ExchangeEngine

__all__ = ["VERSION", "CallContext", "HandlerBase", "SessionApi", "envelope"]

VERSION = "1.2.26-emulator"


class SessionApi(Protocol):
    connection_id: str
    cod_enabled: bool
    token: TokenInfo | None

    def set_heartbeat(self, interval_s: float) -> None: ...

    def disable_heartbeat(self) -> None: ...

    def subscribe(self, channels: list[str], *, private: bool) -> list[str]: ...

    def unsubscribe(self, channels: list[str]) -> list[str]: ...

    def authenticate(self, token: TokenInfo) -> None: ...


@dataclass
class CallContext:
    transport: Literal["http", "ws"]
    connection_id: str | None
    session: SessionApi | None = None
    account: AccountState | None = None
    token: TokenInfo | None = None


class HandlerBase:
    """Handlers are methods ``m_<scope>_<name>(params, ctx)``: ``handle(method, params, ctx)``
    → JSON-able result or :class:`RpcError`."""

    def __init__(self, engine: ExchangeEngine, auth: AuthService, *, now_ms: Callable[[], int]) -> None:
        self.engine = engine
        self.auth = auth
        self._now_ms = now_ms

    def handle(self, method: str, p: dict[str, Any], ctx: CallContext) -> Any:
        handler = getattr(self, "m_" + method.replace("/", "_"), None)
        if handler is None:
            raise RpcError(-32601)
        return handler(p, ctx)

    def _acct(self, ctx: CallContext) -> AccountState:
        if ctx.account is None:
            raise RpcError(13009)
        return ctx.account


def envelope(
    req_id: Any,
    *,
    result: Any = None,
    error: RpcError | None = None,
    us_in: int,
    us_out: int,
    include_id: bool = True,
) -> dict[str, Any]:
    """A Deribit response envelope with ``usIn``/``usOut``/``usDiff`` (µs) and ``testnet``."""
    body: dict[str, Any] = {"jsonrpc": "2.0"}
    if include_id:
        body["id"] = req_id
    if error is not None:
        body["error"] = error.to_wire()
    else:
        body["result"] = result
    body.update({"usIn": us_in, "usOut": us_out, "usDiff": us_out - us_in, "testnet": True})
    return body
