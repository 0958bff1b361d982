"""HTTP transport of the emulator: ``GET``/``POST /api/v2/{public|private}/{method}`` (query,
form or JSON params) and JSON-RPC envelopes POSTed to ``/api/v2``."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.rpc import CallContext, envelope
from trading.exchange.emulator.server.core import EmulatorCore, Outcome

__all__ = ["HttpApi"]


class HttpApi(EmulatorCore):
    async def _http_method(self, request: web.Request) -> web.StreamResponse:
        method = f"{request.match_info['scope']}/{request.match_info['name']}"
        req_id: Any = None
        include_id = False
        from_query = True
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    return self._http_reply(None, Outcome(error=RpcError(-32700)), self._us(), False)
                if not isinstance(body, dict):
                    return self._http_reply(None, Outcome(error=RpcError(-32700)), self._us(), False)
                from_query = False
                if "method" in body:
                    req_id, include_id = body.get("id"), True
                    raw = body.get("params") or {}
                else:
                    raw = body
            else:
                raw.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        elif request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        return await self._http_call(request, method, raw, req_id, include_id, from_query)

    async def _http_envelope(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            return self._http_reply(None, Outcome(error=RpcError(-32700)), self._us(), False)
        raw = body.get("params") or {}
        return await self._http_call(request, body["method"], raw, body.get("id"), True, False)

    async def _http_call(
        self, request: web.Request, method: str, raw: Any, req_id: Any, include_id: bool, from_query: bool
    ) -> web.StreamResponse:
        us_in = self._us()
        if not isinstance(raw, dict):
            return self._http_reply(req_id, Outcome(error=RpcError(-32602)), us_in, include_id)
        ctx = CallContext(transport="http", connection_id=None)
        auth_header = request.headers.get("Authorization")
        request_data = None
        if auth_header and auth_header.startswith("deri-hmac-sha256 "):
            # what the signature covers: the method, the URI as sent and the body
            body_text = (await request.read()).decode("utf-8", "replace")
            request_data = f"{request.method}\n{request.raw_path}\n{body_text}\n"
        outcome = await self.process(
            method,
            raw,
            ctx,
            from_query=from_query,
            auth_header=auth_header,
            request_data=request_data,
        )
        if outcome.drop:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if outcome.http_status is not None:
            return web.Response(
                status=outcome.http_status,
                text="<html><body>Bad Gateway</body></html>",
                content_type="text/html",
            )
        return self._http_reply(req_id, outcome, us_in, include_id)

    def _http_reply(self, req_id: Any, outcome: Outcome, us_in: int, include_id: bool) -> web.Response:
        body = envelope(
            req_id,
            result=outcome.result,
            error=outcome.error,
            us_in=us_in,
            us_out=self._us(),
            include_id=include_id,
        )
        status = 200
        if outcome.error is not None:
            status = 500 if outcome.error.code == 11094 else 400
        return web.json_response(body, status=status)
