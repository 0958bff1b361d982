"""The fill model: at which price an approved leg fills against a recorded quote.

``touch`` (the default) sells at the bid and buys at the ask. ``mid`` fills at the mid price moved
against us by ``slippage_pct`` percent of the mid (sells lower, buys higher) and needs both sides.
A leg whose side of the book has no quote does not fill. With ``respect_limit`` (the default) a leg
fills only when that price is at least as good as its limit, as a limit order would; the fill is at
the model's price. ``max_oi_pct`` caps each step's fill at a share of the open interest (partial
fills); what is left is not carried: the strategy proposes again at the next step, as live.
Every fill records its provenance: the step's source (real quote, interpolated, synthetic price).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trading.strategies.base import Leg, Side
from trading.strategies.market import Quote

REAL_QUOTE = "real quote"
"""Provenance of a fill priced from a recorded exchange chain."""
SYNTHETIC_PRICE = "synthetic price"
"""Provenance of a fill priced from a generated (synthetic) chain."""
INTERPOLATED = "interpolated"
"""Provenance of a fill priced between recorded quotes (e.g. a quote carried between snapshots)."""
SETTLEMENT = "settlement at the index of the first snapshot at/after expiry"
DELIVERY_PRICE = "settlement at Deribit's delivery price"
"""Provenance of an expiry settlement (see ``backtests.engine.book``)."""


class FillPrice(StrEnum):
    TOUCH = "touch"
    MID = "mid"


@dataclass(frozen=True, slots=True)
class FillDecision:
    """How much of a leg fills and at which price; ``reason`` says why nothing or less filled."""

    price_coin: float | None
    size_contracts: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FillModel:
    price: FillPrice = FillPrice.TOUCH
    slippage_pct: float = 0.0
    """Only with ``mid``: percent of the mid given up on each fill."""
    respect_limit: bool = True
    """A leg fills only at its limit price or better (a sell at or above it, a buy at or below)."""
    max_oi_pct: float | None = None
    """Partial fills: at most this percent of the instrument's open interest fills per step
    (the rest is left unfilled; the strategy proposes again next step). ``None``: no cap."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.slippage_pct < 100.0:
            raise ValueError(f"slippage_pct must be in [0, 100), got {self.slippage_pct}")
        if self.max_oi_pct is not None and not 0.0 < self.max_oi_pct <= 100.0:
            raise ValueError(f"max_oi_pct must be in (0, 100], got {self.max_oi_pct}")

    def fill_price_coin(self, leg: Leg, quote: Quote | None) -> float | None:
        """The fill price of ``leg`` in coin per contract, or ``None`` when it cannot fill."""
        if quote is None:
            return None
        if self.price is FillPrice.TOUCH:
            return quote.bid_coin if leg.side is Side.SELL else quote.ask_coin
        if quote.bid_coin is None or quote.ask_coin is None:
            return None
        mid = 0.5 * (quote.bid_coin + quote.ask_coin)
        sign = -1.0 if leg.side is Side.SELL else 1.0
        return mid * (1.0 + sign * self.slippage_pct / 100.0)

    def decide(self, leg: Leg, quote: Quote | None, *, open_interest: float, step: float) -> FillDecision:
        """Price and size of ``leg``'s fill against ``quote``; ``step`` is the contract size step."""
        if quote is None:
            return FillDecision(None, 0.0, "not quoted at this step")
        price = self.fill_price_coin(leg, quote)
        if price is None:
            return FillDecision(None, 0.0, "no quote on its side")
        if self.respect_limit:
            worse = price < leg.limit_price_coin if leg.side is Side.SELL else price > leg.limit_price_coin
            if worse and not math.isclose(price, leg.limit_price_coin, rel_tol=1e-12, abs_tol=1e-15):
                return FillDecision(None, 0.0, f"the market ({price:g}) is worse than the limit")
        size = leg.size_contracts
        if self.max_oi_pct is not None:
            cap = math.floor(open_interest * self.max_oi_pct / 100.0 / step + 1e-9) * step
            if cap < step - 1e-12:
                return FillDecision(None, 0.0, f"open interest {open_interest:g} leaves no room")
            if cap < size:
                return FillDecision(price, cap, f"partial: {cap:g} of {size:g} ({self.max_oi_pct:g} % of OI)")
        return FillDecision(price, size)


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill (or settlement) of the backtest. Amounts in contracts, prices and fees in coin."""

    at: datetime
    strategy: str
    currency: str
    instrument_name: str
    side: Side
    kind: str
    """``open``, ``close`` or ``settle``."""
    size_contracts: float
    price_coin: float
    fee_coin: float
    index_price_usd: float
    provenance: str
    limit_price_coin: float | None = None
    proposal_id: str | None = None
    mark_coin: float | None = None
    """The instrument's mark when it filled (the settlement value for a settlement)."""
    iv: float | None = None
    """Mark IV when it filled, decimal."""
    roll: bool = False
    """A close that is part of a roll."""

    @property
    def cash_coin(self) -> float:
        """What the trade adds to the coin balance (premium received minus paid, minus the fee)."""
        sign = 1.0 if self.side is Side.SELL else -1.0
        return sign * self.price_coin * self.size_contracts - self.fee_coin
