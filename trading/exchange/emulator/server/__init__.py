"""The emulator's aiohttp server: HTTP GET/POST ``/api/v2/{public|private}/{method}``, POST
JSON-RPC to ``/api/v2``, the WebSocket at ``/ws/api/v2`` (subscriptions, heartbeats,
cancel-on-disconnect), rate limits, fault injection and a loopback control endpoint.

Layout: :mod:`.core` (state, request pipeline, publishing), :mod:`.http_api`, :mod:`.ws_api`,
:mod:`.control`; :class:`DeribitEmulator` combines them and runs the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from aiohttp import web

from trading.exchange.emulator.server.control import ControlApi
from trading.exchange.emulator.server.core import EmulatorRateLimits
from trading.exchange.emulator.server.http_api import HttpApi
from trading.exchange.emulator.server.ws_api import WebSocketApi

__all__ = ["DeribitEmulator", "EmulatorRateLimits"]


class DeribitEmulator(HttpApi, WebSocketApi, ControlApi):
    """A loopback Deribit. ``async with DeribitEmulator() as emu:`` picks a free port; then
    ``emu.base_url`` serves both ``/api/v2`` and ``/ws/api/v2``.

    Tests drive it through ``emu.clock`` (pass a :class:`ManualClock` and ``await emu.advance(s)``),
    ``emu.faults`` (:class:`FaultInjector`), ``emu.engine`` (state) and ``emu.requests`` (a count
    of requests received per method).

    With ``state_path`` the exchange is kept in a state file and resumed from it when started
    again on the same file; :meth:`stop` (or leaving ``async with``) saves and releases it.
    """

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024)
        app.router.add_route("*", "/api/v2/{scope:public|private}/{name}", self._http_method)
        app.router.add_post("/api/v2", self._http_envelope)
        app.router.add_post("/api/v2/", self._http_envelope)
        app.router.add_get("/ws/api/v2", self._websocket)
        if self._control:
            app.router.add_post("/_emulator/control", self._control_endpoint)
        return app

    async def start(self) -> None:
        self.stopping = False
        if self.state is not None and self.state.store.closed:
            self.state.store.reopen()
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._publisher = asyncio.create_task(self._publish_loop(), name="emulator-publisher")

    async def stop(self) -> None:
        self.stopping = True
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
        for session in list(self.sessions.values()):
            await session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        if self.state is not None and not self.state.store.closed:
            self.engine.sync(self.clock.now_ms())
            await self.state.close()  # the final save, then the file is released

    async def __aenter__(self) -> DeribitEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
