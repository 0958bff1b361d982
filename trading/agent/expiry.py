"""Expiry: Deribit options settle at 08:00 UTC at the delivery price (the index's 30-minute TWAP).

A position still open at its expiry is closed in the ledger by a settlement fill at the option's
value at delivery, in coin per contract: ``max(S - K, 0) / S`` for a call, ``max(K - S, 0) / S``
for a put; the delivery fee (0.015 % of the underlying, capped at 12.5 % of that value) is charged
on options that expire in the money. Until the exchange publishes the delivery price, the
position waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from trading.agent.gateway import ExchangeGateway
from trading.agent.ledger import D, TradeIn, fill_book
from trading.models import Position
from trading.quant.settlement import settlement_fee_coin, settlement_value_coin


@dataclass
class ExpiryResult:
    settled: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def position_settle(*, position: Position, delivery_price_usd: Decimal, now: datetime) -> None:
    """Close ``position`` at its delivery value and mark it settled (once)."""
    with transaction.atomic():
        locked = Position.objects.select_for_update().get(pk=position.pk)
        if locked.settled_at is not None or locked.size_contracts == 0:
            return
        value = settlement_value_coin(
            option_type=locked.option_type,
            strike_usd=locked.strike_usd,
            delivery_price_usd=delivery_price_usd,
        )
        size = locked.size_contracts
        fill_book(
            strategy=locked.strategy,
            order=None,
            trade=TradeIn(
                trade_id=f"settle-{locked.pk}",
                instrument_name=locked.instrument_name,
                side="buy" if size < 0 else "sell",
                amount=abs(size),
                price_coin=value,
                fee_coin=settlement_fee_coin(value_coin=value, contracts=size),
                index_price_usd=delivery_price_usd,
                traded_at=locked.expiry,
            ),
            now=now,
        )
        Position.objects.filter(pk=locked.pk).update(settled_at=now, delivery_price_usd=delivery_price_usd)


def delivery_prices(*, gateway: ExchangeGateway, currency: str) -> dict[str, Decimal]:
    """Recent delivery prices of ``currency``'s index by date (``YYYY-MM-DD``)."""
    prices = gateway.call("get_delivery_prices", index_name=f"{currency.lower()}_usd", count=30)
    return {p.date: D(p.delivery_price) for p in prices.data}


def expiries_settle(*, gateway: ExchangeGateway, now: datetime) -> ExpiryResult:
    """Settle every open position whose expiry has passed and whose delivery price is known."""
    result = ExpiryResult()
    due = list(
        Position.objects.filter(expiry__lte=now, settled_at__isnull=True)
        .exclude(size_contracts=0)
        .select_related("strategy")
    )
    by_currency: dict[str, dict[str, Decimal]] = {}
    for position in due:
        if position.currency not in by_currency:
            by_currency[position.currency] = delivery_prices(gateway=gateway, currency=position.currency)
        price = by_currency[position.currency].get(position.expiry.date().isoformat())
        if price is None:
            result.waiting.append(position.instrument_name)
            continue
        position_settle(position=position, delivery_price_usd=price, now=now)
        result.settled.append(f"{position.strategy.name}:{position.instrument_name}")
    return result
