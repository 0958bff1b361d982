"""Deribit contract rules for BTC and ETH options: amount steps, price ticks and trading fees.

Pure scalar helpers (the strategies and the risk engine handle a few legs per tick, so plain floats
are faster than arrays here). Amounts are in contracts (1 contract = 1 coin); prices in coin per
contract. Sources: DERIBIT.md §3.2 (ticks, minimum amounts) and §3.3 (fees).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

AMOUNT_STEP: Mapping[str, float] = MappingProxyType({"BTC": 0.1, "ETH": 1.0})
"""Minimum order amount and amount step per underlying, in contracts."""

TICK_SMALL_COIN = 0.0001
"""Price tick below :data:`TICK_STEP_ABOVE_COIN`."""
TICK_LARGE_COIN = 0.0005
"""Price tick at or above :data:`TICK_STEP_ABOVE_COIN`."""
TICK_STEP_ABOVE_COIN = 0.005

FEE_PER_CONTRACT_COIN = 0.0003
"""Maker and taker fee per option contract, coin (0.03 % of the underlying)."""
FEE_CAP_OF_PREMIUM = 0.125
"""The fee never exceeds this fraction of the option's price."""

_UNITS_PER_COIN = 10_000  # integer multiples of the small tick avoid float drift
_EPS = 1e-7


class UnknownCurrencyError(ValueError):
    """A currency without option contract rules here (only BTC and ETH are traded)."""


def amount_step(currency: str) -> float:
    """Minimum amount and step of an option order in ``currency``, contracts."""
    try:
        return AMOUNT_STEP[currency]
    except KeyError:
        raise UnknownCurrencyError(f"no option contract rules for currency {currency!r}") from None


def floor_to_step(amount: float, step: float) -> float:
    """``amount`` rounded down to a whole number of ``step`` (0.0 when below one step)."""
    if not (math.isfinite(amount) and amount > 0.0):
        return 0.0
    n = math.floor(amount / step + _EPS)
    return round(n * step, 8)


def is_step_multiple(amount: float, step: float) -> bool:
    """True when ``amount`` is a positive whole number of ``step``."""
    if not (math.isfinite(amount) and amount > 0.0):
        return False
    n = amount / step
    return n >= 1.0 - _EPS and abs(n - round(n)) < 1e-6


def tick_at(price_coin: float) -> float:
    """Deribit's option tick at ``price_coin``."""
    return TICK_LARGE_COIN if price_coin >= TICK_STEP_ABOVE_COIN - 1e-12 else TICK_SMALL_COIN


def round_price(price_coin: float, direction: Literal["down", "up"]) -> float:
    """``price_coin`` on Deribit's tick grid, rounded ``down`` (sells) or ``up`` (buys); NaN stays NaN."""
    if not math.isfinite(price_coin):
        return math.nan
    units = price_coin * _UNITS_PER_COIN
    if direction == "down":
        small, large = math.floor(units + 1e-6), 5 * math.floor(units / 5 + 1e-6)
    else:
        small, large = math.ceil(units - 1e-6), 5 * math.ceil(units / 5 - 1e-6)
    out = large if price_coin >= TICK_STEP_ABOVE_COIN - 1e-12 else small
    return round(out / _UNITS_PER_COIN, 8)


def is_on_tick(price_coin: float) -> bool:
    """True when ``price_coin`` is positive and a whole number of the tick that applies to it."""
    if not (math.isfinite(price_coin) and price_coin > 0.0):
        return False
    n = price_coin / tick_at(price_coin)
    return abs(n - round(n)) < 1e-6


def option_fee_coin(price_coin: float, amount_contracts: float) -> float:
    """Trading fee of one option order, coin: ``min(0.0003, 12.5 % of the price)`` per contract."""
    per_contract = min(FEE_PER_CONTRACT_COIN, FEE_CAP_OF_PREMIUM * max(price_coin, 0.0))
    return per_contract * amount_contracts
