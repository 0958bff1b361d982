"""The loopback control endpoint ``POST /_emulator/control``: advance the clock, inject
faults, drop connections, fund accounts, read the request counts (tests and demos)."""

from __future__ import annotations

from aiohttp import web

from trading.exchange.emulator.server.core import EmulatorCore

__all__ = ["ControlApi"]


class ControlApi(EmulatorCore):
    async def _control_endpoint(self, request: web.Request) -> web.Response:
        if request.remote not in ("127.0.0.1", "::1"):
            raise web.HTTPForbidden()
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest() from None
        action = body.get("action")
        f = self.faults
        methods = body.get("methods")
        times = body.get("times", 1)
        if action == "advance":
            await self.advance(float(body["seconds"]))
        elif action == "latency":
            f.latency(
                float(body["seconds"]),
                methods=methods,
                times=times,
                after_execute=bool(body.get("after_execute")),
            )
        elif action == "http_status":
            f.http_status(
                int(body.get("status", 503)),
                methods=methods,
                times=times,
                after_execute=bool(body.get("after_execute")),
            )
        elif action == "error":
            f.error(int(body["code"]), methods=methods, times=times)
        elif action == "drop_response":
            f.drop_response(methods=methods, times=times)
        elif action == "drop_request":
            f.drop_request(methods=methods, times=times)
        elif action == "partial_fills":
            f.partial_fills(body.get("fraction"))
        elif action == "duplicate_trades":
            f.duplicate_trades(times=times)
        elif action == "reorder_trades":
            f.reorder_trades(batch=int(body.get("batch", 2)), times=times)
        elif action == "clear":
            f.clear()
        elif action == "disconnect":
            await self.disconnect_all()
        elif action == "fund":
            self.fund(str(body["client_id"]), str(body["currency"]), float(body["amount"]))
        elif action != "state":
            raise web.HTTPBadRequest(text=f"unknown action {action!r}")
        await self.settle()
        return web.json_response(
            {"now_ms": self.clock.now_ms(), "requests": dict(self.requests), "sessions": len(self.sessions)}
        )
