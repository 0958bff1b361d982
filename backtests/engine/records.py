"""What a backtest hands to its metrics: one record per completed position (a *round trip*).

A round trip is one strategy's position in one instrument from the fill that opened it until it is
flat again (closed, rolled or settled). Amounts are per the whole position, coin of its currency
unless the name says USD; USD figures value each cash flow at the index when it happened.

P&L attribution splits the position's mark-to-market change (its value ``mark_coin * index`` in
USD) between steps with Deribit's greeks at the start of each step, a Taylor expansion in the
expiry's forward F, the mark IV and time: delta ``delta * dF * S/F`` (the coin price is the USD
price over F, valued at the index S), gamma ``gamma * dF**2 / 2``, vega ``vega * dIV`` (vol points),
theta ``theta * days``; plus ``fees`` and what the expansion leaves (``residual``, which also
holds each fill's edge against the mark and the move into a settlement). The parts add up to
``pnl_usd``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ATTRIBUTION_PARTS: tuple[str, ...] = ("delta", "gamma", "vega", "theta", "fees", "residual")


@dataclass(frozen=True, slots=True)
class RoundTrip:
    strategy: str
    currency: str
    instrument_name: str
    option_type: str
    """``call`` or ``put``."""
    strike_usd: float
    expiry: datetime
    short: bool
    """Opened by selling."""
    opened_at: datetime
    closed_at: datetime
    exit: str
    """``close``, ``roll`` (closed by a roll) or ``settle`` (held to expiry)."""
    size_contracts: float
    """Largest absolute size held."""
    entry_price_coin: float
    """Average opening price per contract."""
    exit_price_coin: float
    """Average closing price per contract (the settlement value when settled)."""
    premium_coin: float
    """Premium received on the opening sales (0 for bought options)."""
    fees_coin: float
    """Trading and delivery fees."""
    pnl_coin: float
    """Premium received minus paid minus fees."""
    pnl_usd: float
    bars: int
    """Steps the position was held (at least 1)."""
    itm_at_expiry: bool | None
    """Settled in the money; ``None`` when it did not reach expiry."""
    iv_entry: float
    """Mark IV of the first fill, decimal (NaN when unknown)."""
    rv_hold: float
    """Realised vol of the index over the hold, annualised decimal (NaN with fewer than 2 steps)."""
    attribution_usd: dict[str, float]
    """P&L in USD by :data:`ATTRIBUTION_PARTS`; sums to ``pnl_usd``."""

    @property
    def pnl_usd_per_contract(self) -> float:
        return self.pnl_usd / self.size_contracts if self.size_contracts else 0.0
