"""A loopback Deribit API v2 emulator: JSON-RPC over HTTP and WebSocket, driven by a pluggable
market source (synthetic or replayed real snapshots), with fault injection for tests."""

from trading.exchange.emulator.accounting import AccountConfig
from trading.exchange.emulator.clock import AcceleratedClock, Clock, ManualClock, RealClock
from trading.exchange.emulator.engine import EngineConfig, ExchangeEngine
from trading.exchange.emulator.faults import FaultInjector, FaultKind, FaultRule
from trading.exchange.emulator.market import CurrencyMarket, MarketSnapshot, MarketSource, OptionQuote
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
    "SyntheticConfig",
    "SyntheticSource",
]
