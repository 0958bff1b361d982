"""WebSocket transport of the emulator: ``/ws/api/v2``, one :class:`WsSession` per connection,
each message processed concurrently (so responses may come back out of order)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import WSMsgType, web

from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.rpc import CallContext, envelope
from trading.exchange.emulator.server.core import EmulatorCore
from trading.exchange.emulator.sessions import WsSession

__all__ = ["WebSocketApi"]


class WebSocketApi(EmulatorCore):
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=32 * 1024, heartbeat=None)
        await ws.prepare(request)
        session = WsSession(self, ws, f"conn-{next(self._conn_ids)}")
        self.sessions[session.connection_id] = session
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                task = asyncio.create_task(self._ws_message(session, msg.data))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            self.sessions.pop(session.connection_id, None)
            await session.on_closed()
            await self.settle()
        return ws

    async def _ws_message(self, session: WsSession, text: str) -> None:
        us_in = self._us()
        try:
            message = json.loads(text)
        except ValueError:
            await session.send(envelope(None, error=RpcError(-32700), us_in=us_in, us_out=self._us()))
            return
        if not isinstance(message, dict) or "id" not in message or not isinstance(message.get("method"), str):
            await session.send(
                envelope(
                    message.get("id") if isinstance(message, dict) else None,
                    error=RpcError(11050),
                    us_in=us_in,
                    us_out=self._us(),
                )
            )
            return
        raw = message.get("params") or {}
        if not isinstance(raw, dict):
            await session.send(
                envelope(message["id"], error=RpcError(-32602), us_in=us_in, us_out=self._us())
            )
            return
        method = message["method"]
        if method == "public/test":
            session.test_received()
        ctx = CallContext(transport="ws", connection_id=session.connection_id, session=session)
        outcome = await self.process(method, raw, ctx, from_query=False)
        if outcome.drop:
            await session.close(code=1011)
            return
        await session.send(
            envelope(
                message["id"],
                result=outcome.result,
                error=outcome.error,
                us_in=us_in,
                us_out=self._us(),
            )
        )
