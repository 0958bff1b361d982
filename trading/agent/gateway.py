"""A synchronous doorway to the async Deribit client, for the tick (a Celery task) and commands.

The client runs in an event loop on a thread of its own for the life of the gateway; each call
blocks until its coroutine finishes. The tick uses the HTTP transport: it holds no session open
between ticks, so cancel-on-disconnect never removes resting orders; orders carry ``valid_until``
instead, and the tick cancels what has outlived its time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig

T = TypeVar("T")


class ExchangeGateway:
    """``with ExchangeGateway(config) as ex: ex.run(lambda c: c.get_positions(currency="BTC"))``."""

    def __init__(self, config: ClientConfig, *, call_timeout_s: float = 60.0) -> None:
        self.config = config
        self.call_timeout_s = call_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="exchange-gateway", daemon=True)
        self._client: DeribitClient | None = None

    def __enter__(self) -> ExchangeGateway:
        self._thread.start()
        client = DeribitClient(self.config)
        try:
            self._submit(client.__aenter__()).result(self.call_timeout_s)
        except BaseException:
            self._stop_loop()  # no open client, but the loop's thread must not outlive us
            raise
        self._client = client
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._client is not None:
                self._submit(self._client.__aexit__(None, None, None)).result(self.call_timeout_s)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()

    def _submit(self, coro: Awaitable[T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]

    def run(self, call: Callable[[DeribitClient], Awaitable[T]], *, timeout_s: float | None = None) -> T:
        """Run ``call(client)`` on the gateway's loop and return its result (or raise its error)."""
        if self._client is None:
            raise RuntimeError("the gateway is not open: use it as a context manager")
        return self._submit(call(self._client)).result(timeout_s or self.call_timeout_s)

    def call(self, method: str, /, **kwargs: Any) -> Any:
        """``client.<method>(**kwargs)`` on the gateway's loop: ``call("get_positions", currency="BTC")``."""
        return self.run(lambda client: getattr(client, method)(**kwargs))
