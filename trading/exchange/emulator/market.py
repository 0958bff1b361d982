"""The market the emulator serves: the :class:`MarketSource` protocol and its snapshot types.

A source says, for any exchange time, what the option chains look like: the index, and per
listed option its mark (coin), mark IV (percent), forward and top of book. The engine builds
tickers, books, instruments and fills from that; the source knows nothing about orders.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

__all__ = [
    "CurrencyMarket",
    "MarketSnapshot",
    "MarketSource",
    "OptionQuote",
    "ceil_to_tick",
    "floor_to_tick",
    "instrument_name",
    "option_tick",
]

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

# DERIBIT.md §3.2: BTC and ETH options tick 0.0001 below 0.005, then 0.0005
OPTION_TICK = 0.0001
OPTION_TICK_STEPS: tuple[tuple[float, float], ...] = ((0.005, 0.0005),)
MIN_TRADE_AMOUNT: Mapping[str, float] = {"BTC": 0.1, "ETH": 1.0}


def option_tick(price: float) -> float:
    tick = OPTION_TICK
    for above, step in OPTION_TICK_STEPS:
        if price >= above - 1e-12:
            tick = step
    return tick


def floor_to_tick(price: float) -> float:
    tick = option_tick(price)
    floored = math.floor(price / tick + 1e-9) * tick
    if floored < OPTION_TICK_STEPS[0][0] <= price:
        floored = math.floor(price / OPTION_TICK + 1e-9) * OPTION_TICK
    return round(floored, 4)


def ceil_to_tick(price: float) -> float:
    tick = option_tick(price)
    return round(math.ceil(price / tick - 1e-9) * tick, 4)


def instrument_name(currency: str, expiration_ms: int, strike: float, option_type: str) -> str:
    """``BTC-6JAN26-90000-C``: day without a leading zero, English month, 2-digit year."""
    when = datetime.fromtimestamp(expiration_ms / 1000, UTC)
    strike_text = f"{strike:.0f}" if float(strike).is_integer() else f"{strike:g}".replace(".", "d")
    suffix = "C" if option_type == "call" else "P"
    return f"{currency}-{when.day}{MONTHS[when.month - 1]}{when.year % 100:02d}-{strike_text}-{suffix}"


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One listed option at one time. Prices in coin, ``mark_iv`` in percent, strike/forward USD.

    ``best_bid_price`` is None when nobody bids. ``creation_ms`` is the listing time if known.
    """

    instrument_name: str
    currency: str
    strike: float
    expiration_ms: int
    option_type: Literal["call", "put"]
    mark_price: float
    mark_iv: float
    underlying_price: float
    underlying_index: str
    best_bid_price: float | None
    best_bid_amount: float
    best_ask_price: float | None
    best_ask_amount: float
    open_interest: float = 0.0
    volume: float = 0.0
    volume_usd: float = 0.0
    creation_ms: int | None = None
    settlement_period: str = "day"


@dataclass(frozen=True, slots=True)
class CurrencyMarket:
    currency: str
    index_price: float
    dvol: float  # vol points (45.2 means 45.2%)
    options: Mapping[str, OptionQuote] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """The market at ``timestamp_ms``; ``key`` changes whenever the quotes change."""

    key: Hashable
    timestamp_ms: int
    currencies: Mapping[str, CurrencyMarket]


class MarketSource(Protocol):
    """What drives the emulated market. Implementations: ``SyntheticSource``, ``ReplaySource``."""

    @property
    def currencies(self) -> tuple[str, ...]: ...

    def start_ms(self) -> int | None:
        """A natural start time for the clock (replay: the first snapshot), or None."""
        ...

    def snapshot(self, at_ms: int) -> MarketSnapshot:
        """The market at ``at_ms`` (only options not yet expired at ``at_ms``)."""
        ...

    def index_price(self, currency: str, at_ms: int) -> float:
        """The ``{currency}_usd`` index at ``at_ms`` (used for delivery TWAPs)."""
        ...

    def dvol(self, currency: str, at_ms: int) -> float:
        """The DVOL-like 30-day implied volatility in vol points at ``at_ms``."""
        ...

    def mark_price(self, instrument_name: str, at_ms: int) -> float | None:
        """One option's mark (coin) at ``at_ms``, or None if not listed then (chart data)."""
        ...
