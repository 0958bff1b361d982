"""The emulator's JSON-RPC methods: the method table with Deribit's parameter checking
(:mod:`.params`), the call context and response envelope (:mod:`.protocol`), and the handlers
of the connection (:mod:`.connection`), public market data (:mod:`.public`), the currencies
(:mod:`.currencies`) and private trading and account methods (:mod:`.private`), combined in
:class:`RpcMethods`."""

from __future__ import annotations

from trading.exchange.emulator.rpc.connection import ConnectionMethods
from trading.exchange.emulator.rpc.currencies import CurrencyMethods
from trading.exchange.emulator.rpc.params import (
    CURRENCIES,
    KINDS,
    METHODS,
    MethodSpec,
    Param,
    ParamType,
    coerce_params,
)
from trading.exchange.emulator.rpc.private import TradingMethods
from trading.exchange.emulator.rpc.protocol import VERSION, CallContext, SessionApi, envelope
from trading.exchange.emulator.rpc.public import MarketDataMethods

__all__ = [
    "CURRENCIES",
    "KINDS",
    "METHODS",
    "VERSION",
    "CallContext",
    "MethodSpec",
    "Param",
    "ParamType",
    "RpcMethods",
    "SessionApi",
    "coerce_params",
    "envelope",
]


class RpcMethods(ConnectionMethods, MarketDataMethods, CurrencyMethods, TradingMethods):
    """Handlers: ``handle(method, params, ctx)`` → JSON-able result or :class:`RpcError`."""
