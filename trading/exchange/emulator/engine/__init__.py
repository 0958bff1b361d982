"""The emulated exchange: listing, market refresh, order validation and matching, fees,
positions, margin, daily settlement and expiry delivery. Pure and synchronous: the server
calls :meth:`ExchangeEngine.sync` with the clock's time before every request.

Layout: :mod:`.core` (state and lookups), :mod:`.matching` (fills), :mod:`.account` (margin,
positions, summary), :mod:`.order_entry` (place/edit/cancel and queries), :mod:`.stepping`
(market refresh, expiry and daily settlement). :class:`ExchangeEngine` combines them.
:mod:`.journal` says what changed since the last save and what a restart resumes from.
"""

from __future__ import annotations

from collections.abc import Sequence

from trading.exchange.emulator.accounting import AccountConfig
from trading.exchange.emulator.engine.core import DAY_MS, HOUR8_MS, EngineConfig
from trading.exchange.emulator.engine.journal import Changes, EngineImage
from trading.exchange.emulator.engine.order_entry import OrderEntry
from trading.exchange.emulator.engine.stepping import MarketStepping
from trading.exchange.emulator.market import MarketSource

__all__ = ["DAY_MS", "HOUR8_MS", "Changes", "EngineConfig", "EngineImage", "ExchangeEngine"]


class ExchangeEngine(OrderEntry, MarketStepping):
    def __init__(
        self,
        source: MarketSource,
        accounts: Sequence[AccountConfig],
        *,
        start_ms: int,
        config: EngineConfig | None = None,
        image: EngineImage | None = None,
    ) -> None:
        """A new exchange at ``start_ms``, or with ``image`` the saved one resumed at its time
        (``start_ms`` is then ignored; :meth:`sync` moves it on to the clock)."""
        super().__init__(source, accounts, start_ms=start_ms, config=config)
        if image is None:
            self._refresh(start_ms)
        else:
            self._restore(image)
