"""The emulated exchange: listing, market refresh, order validation and matching, fees,
positions, margin, daily settlement and expiry delivery. Pure and synchronous: the server
calls :meth:`ExchangeEngine.sync` with the clock's time before every request.

Layout: :mod:`.core` (state and lookups), :mod:`.matching` (fills), :mod:`.account` (margin,
positions, summary), :mod:`.order_entry` (place/edit/cancel and queries), :mod:`.stepping`
(market refresh, expiry and daily settlement). :class:`ExchangeEngine` combines them.
"""

from __future__ import annotations

from collections.abc import Sequence

from trading.exchange.emulator.accounting import AccountConfig
from trading.exchange.emulator.engine.core import DAY_MS, HOUR8_MS, EngineConfig
from trading.exchange.emulator.engine.order_entry import OrderEntry
from trading.exchange.emulator.engine.stepping import MarketStepping
from trading.exchange.emulator.market import MarketSource

__all__ = ["DAY_MS", "HOUR8_MS", "EngineConfig", "ExchangeEngine"]


class ExchangeEngine(OrderEntry, MarketStepping):
    def __init__(
        self,
        source: MarketSource,
        accounts: Sequence[AccountConfig],
        *,
        start_ms: int,
        config: EngineConfig | None = None,
    ) -> None:
        super().__init__(source, accounts, start_ms=start_ms, config=config)
        self._refresh(start_ms)
