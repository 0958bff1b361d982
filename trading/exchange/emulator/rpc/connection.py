"""Handlers of the connection itself: auth, test and time, heartbeats, subscriptions, logout
and cancel-on-disconnect."""

from __future__ import annotations

from typing import Any

from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.rpc.protocol import VERSION, CallContext, HandlerBase

__all__ = ["ConnectionMethods"]


class ConnectionMethods(HandlerBase):
    def m_public_auth(self, p: dict[str, Any], ctx: CallContext) -> Any:
        result = self.auth.grant(p, connection_id=ctx.connection_id if ctx.transport == "ws" else None)
        if ctx.session is not None:
            ctx.session.authenticate(
                self.auth.resolve(result["access_token"], connection_id=ctx.connection_id)
            )
        return result

    def m_public_test(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if p.get("expected_result") == "exception":
            raise RpcError(11094)
        return {"version": VERSION}

    def m_public_get_time(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.now_ms

    def m_public_status(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return {"locked": False, "locked_currencies": []}

    def m_public_hello(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return {"version": VERSION}

    def m_public_set_heartbeat(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if p["interval"] < 10:
            raise RpcError.invalid_param("interval", "interval must be at least 10 seconds")
        assert ctx.session is not None
        ctx.session.set_heartbeat(p["interval"])
        return "ok"

    def m_public_disable_heartbeat(self, p: dict[str, Any], ctx: CallContext) -> Any:
        assert ctx.session is not None
        ctx.session.disable_heartbeat()
        return "ok"

    def m_public_subscribe(self, p: dict[str, Any], ctx: CallContext) -> Any:
        assert ctx.session is not None
        return ctx.session.subscribe(p["channels"], private=ctx.account is not None)

    m_private_subscribe = m_public_subscribe

    def m_public_unsubscribe(self, p: dict[str, Any], ctx: CallContext) -> Any:
        assert ctx.session is not None
        return ctx.session.unsubscribe(p["channels"])

    m_private_unsubscribe = m_public_unsubscribe

    def m_private_logout(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if ctx.connection_id is not None:
            self.auth.revoke_connection(ctx.connection_id)
        return "ok"

    def m_private_enable_cancel_on_disconnect(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if ctx.session is None:
            raise RpcError(10030)
        ctx.session.cod_enabled = True
        return "ok"

    def m_private_disable_cancel_on_disconnect(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if ctx.session is not None:
            ctx.session.cod_enabled = False
        return "ok"

    def m_private_get_cancel_on_disconnect(self, p: dict[str, Any], ctx: CallContext) -> Any:
        enabled = ctx.session.cod_enabled if ctx.session is not None else False
        return {"scope": p.get("scope", "connection"), "enabled": enabled}
