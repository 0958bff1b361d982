"""The positions ledger: every fill booked exactly once, positions per strategy and instrument.

Deribit's positions are account-wide; ours are attributed through the labels of our orders. A
position's ``size_contracts`` is negative when short. Realised P&L is net of fees, in coin and in
USD at the index price of each fill. Premium collected counts what opening sells brought in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from trading.models import Fill, Order, Position, Strategy
from trading.quant.instruments import parse_instrument

ZERO = Decimal("0")


def D(value: float | str | Decimal) -> Decimal:
    """A float from the exchange as the Decimal it was meant to be (no binary noise)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class TradeIn:
    """One trade to book: from the exchange (``trade_id`` is Deribit's) or a settlement."""

    trade_id: str
    instrument_name: str
    side: str  # "buy" | "sell"
    amount: Decimal
    price_coin: Decimal
    fee_coin: Decimal
    index_price_usd: Decimal
    traded_at: datetime


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def _position_for(strategy: Strategy, instrument_name: str, now: datetime) -> Position:
    position = (
        Position.objects.select_for_update()
        .filter(strategy=strategy, instrument_name=instrument_name)
        .first()
    )
    if position is not None:
        return position
    inst = parse_instrument(instrument_name)
    return Position.objects.create(
        strategy=strategy,
        instrument_name=instrument_name,
        currency=inst.underlying,
        option_type=inst.option_type,
        strike_usd=D(inst.strike),
        expiry=inst.expiry,
        opened_at=now,
        updated_at=now,
    )


def position_apply(position: Position, trade: TradeIn) -> None:
    """Apply ``trade`` to ``position`` in memory (sizes, average price, P&L, premium, fees)."""
    qty = trade.amount if trade.side == "buy" else -trade.amount
    size, avg = position.size_contracts, position.average_price_coin
    realized = ZERO
    if size == ZERO or _sign(size) == _sign(qty):
        new_size = size + qty
        position.average_price_coin = (abs(size) * avg + abs(qty) * trade.price_coin) / abs(new_size)
        position.size_contracts = new_size
        if qty < 0:  # an opening or increasing sell: premium comes in
            position.premium_collected_coin += abs(qty) * trade.price_coin
            position.premium_collected_usd += abs(qty) * trade.price_coin * trade.index_price_usd
    else:
        closed = min(abs(size), abs(qty))
        realized = closed * (trade.price_coin - avg) * _sign(size)
        remainder = size + qty
        if remainder != ZERO and _sign(remainder) != _sign(size):  # flipped through zero
            position.average_price_coin = trade.price_coin
            if remainder < 0:
                position.premium_collected_coin += abs(remainder) * trade.price_coin
                position.premium_collected_usd += abs(remainder) * trade.price_coin * trade.index_price_usd
        elif remainder == ZERO:
            position.average_price_coin = ZERO
        position.size_contracts = remainder
    realized -= trade.fee_coin
    position.fees_coin += trade.fee_coin
    position.realized_pnl_coin += realized
    position.realized_pnl_usd += realized * trade.index_price_usd
    if position.size_contracts == ZERO:
        position.closed_at = trade.traded_at
    else:
        position.closed_at = None
        if size == ZERO:
            position.opened_at = trade.traded_at
    position.updated_at = trade.traded_at


def fill_book(*, strategy: Strategy, order: Order | None, trade: TradeIn, now: datetime) -> Fill | None:
    """Book ``trade`` once; ``None`` when it was booked before (its trade id is already known)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                fill = Fill.objects.create(
                    trade_id=trade.trade_id,
                    order=order,
                    strategy=strategy,
                    instrument_name=trade.instrument_name,
                    currency=parse_instrument(trade.instrument_name).underlying,
                    side=trade.side,
                    amount=trade.amount,
                    price_coin=trade.price_coin,
                    fee_coin=trade.fee_coin,
                    index_price_usd=trade.index_price_usd,
                    traded_at=trade.traded_at,
                    booked_at=now,
                )
        except IntegrityError:
            return None
        position = _position_for(strategy, trade.instrument_name, trade.traded_at)
        position_apply(position, trade)
        position.save()
        return fill
