"""Deribit option settlement: value at delivery and delivery fee, in coin. Pure (no Django).

Options settle at 08:00 UTC at the delivery price (the index's 30-minute TWAP). One contract is
worth ``max(S - K, 0) / S`` coin for a call and ``max(K - S, 0) / S`` for a put; the delivery fee
(0.015 % of the underlying, capped at 12.5 % of that value) is charged on options that expire in
the money. Used by the live ledger (``trading.agent.expiry``) and the backtest engine.
"""

from __future__ import annotations

from decimal import Decimal

DELIVERY_FEE_RATE = Decimal("0.00015")
DELIVERY_FEE_CAP = Decimal("0.125")


def settlement_value_coin(*, option_type: str, strike_usd: Decimal, delivery_price_usd: Decimal) -> Decimal:
    """What one contract is worth at delivery, in coin."""
    intrinsic = delivery_price_usd - strike_usd if option_type == "call" else strike_usd - delivery_price_usd
    return max(intrinsic, Decimal(0)) / delivery_price_usd


def settlement_fee_coin(*, value_coin: Decimal, contracts: Decimal) -> Decimal:
    """Delivery fee of ``contracts`` (either sign) worth ``value_coin`` each, in coin."""
    if value_coin <= 0:
        return Decimal(0)
    return min(DELIVERY_FEE_RATE, DELIVERY_FEE_CAP * value_coin) * abs(contracts)
