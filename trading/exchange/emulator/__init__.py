"""A loopback Deribit API v2 emulator: JSON-RPC over HTTP and WebSocket, driven by a pluggable
market source (synthetic or replayed real snapshots), with fault injection for tests, and an
optional state file that carries the exchange across restarts (:mod:`.persistence`).

Options are listed and traded. ``BTC-PERPETUAL`` and ``ETH-PERPETUAL`` are listed, quoted and
charted (their chart is the index, before the clock's start too: :mod:`.history`) but orders on
them are refused with 10020 (:mod:`.perpetual`)."""

from trading.exchange.emulator.accounting import AccountConfig
from trading.exchange.emulator.clock import AcceleratedClock, Clock, ManualClock, RealClock
from trading.exchange.emulator.engine import EngineConfig, ExchangeEngine
from trading.exchange.emulator.faults import FaultInjector, FaultKind, FaultRule
from trading.exchange.emulator.market import CurrencyMarket, MarketSnapshot, MarketSource, OptionQuote
from trading.exchange.emulator.persistence import StateFileError
from trading.exchange.emulator.server import DeribitEmulator, EmulatorRateLimits
from trading.exchange.emulator.sources.replay import ReplaySource
from trading.exchange.emulator.sources.synthetic import SyntheticConfig, SyntheticSource

__all__ = [
    "AcceleratedClock",
    "AccountConfig",
    "Clock",
    "CurrencyMarket",
    "DeribitEmulator",
    "EmulatorRateLimits",
    "EngineConfig",
    "ExchangeEngine",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "ManualClock",
    "MarketSnapshot",
    "MarketSource",
    "OptionQuote",
    "RealClock",
    "ReplaySource",
    "StateFileError",
    "SyntheticConfig",
    "SyntheticSource",
]
