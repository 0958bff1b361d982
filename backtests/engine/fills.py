"""The fill model: at which price an approved leg fills against a recorded quote.

``touch`` (the default) sells at the bid and buys at the ask. ``mid`` fills at the mid price moved
against us by ``slippage_pct`` percent of the mid (sells lower, buys higher) and needs both sides.
A leg whose side of the book has no quote does not fill. Fills are at the quoted price, whatever
the leg's limit (the limit is recorded with the trade for comparison).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trading.strategies.base import Leg, Side
from trading.strategies.market import Quote

REAL_QUOTE = "real quote"
"""Provenance of a fill priced from a recorded exchange chain."""
SETTLEMENT = "settlement at the index of the first snapshot at/after expiry"
"""Provenance of an expiry settlement (see ``backtests.engine.book``)."""


class FillPrice(StrEnum):
    TOUCH = "touch"
    MID = "mid"


@dataclass(frozen=True, slots=True)
class FillModel:
    price: FillPrice = FillPrice.TOUCH
    slippage_pct: float = 0.0
    """Only with ``mid``: percent of the mid given up on each fill."""
    provenance: str = REAL_QUOTE

    def __post_init__(self) -> None:
        if not 0.0 <= self.slippage_pct < 100.0:
            raise ValueError(f"slippage_pct must be in [0, 100), got {self.slippage_pct}")

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

    @property
    def cash_coin(self) -> float:
        """What the trade adds to the coin balance (premium received minus paid, minus the fee)."""
        sign = 1.0 if self.side is Side.SELL else -1.0
        return sign * self.price_coin * self.size_contracts - self.fee_coin
