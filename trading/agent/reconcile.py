"""Reconciliation with the exchange, at start-up and on every tick.

1. Every order we may have sent and whose outcome we do not know for sure is looked up by its
   label: an order that reached the exchange is recorded as it stands there; one that did not is
   marked as never placed.
2. Every trade of ours on the exchange (found by label) is booked once into the ledger.
3. Our open positions, summed over strategies, are compared with the exchange's positions per
   instrument. Any difference is a problem a person must see, and trading stays blocked until the
   two agree again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from trading.agent.gateway import ExchangeGateway
from trading.agent.ledger import D, TradeIn, fill_book
from trading.exchange.models import Order as WireOrder
from trading.exchange.models import UserTrade
from trading.models import Order, Position
from trading.quant.instruments import InstrumentNameError, parse_instrument

OPEN_ENOUGH = Decimal("1e-9")
LABEL_PREFIX = "ob"
# An order recorded as being sent but unknown to the exchange after this long never got there.
NOT_PLACED_AFTER = timedelta(seconds=30)
TRADE_LOOKBACK = timedelta(days=7)

_STATE_FROM_EXCHANGE = {
    "open": Order.State.OPEN,
    "untriggered": Order.State.OPEN,
    "filled": Order.State.FILLED,
    "cancelled": Order.State.CANCELLED,
    "rejected": Order.State.REJECTED,
}


@dataclass
class ReconcileResult:
    orders_resolved: int = 0
    fills_booked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def order_label(*, order: Order) -> str:
    return f"{LABEL_PREFIX}{order.strategy_id}-{order.decision_id}-{order.leg_index}-{order.attempt}"


def order_apply_exchange_state(*, order: Order, wire: WireOrder, now: datetime) -> Order:
    """Record the exchange's view of ``order`` with a compare-and-set on its current state."""
    target = _STATE_FROM_EXCHANGE.get(str(wire.order_state), Order.State.OPEN)
    allowed = Order.TRANSITIONS[order.state]
    if target not in allowed and target != order.state:
        return order
    updated = Order.objects.filter(pk=order.pk, state=order.state).update(
        state=target,
        exchange_order_id=wire.order_id,
        filled_amount=D(wire.filled_amount or 0),
        average_price_coin=D(wire.average_price or 0),
        updated_at=now,
    )
    if updated:
        order.refresh_from_db()
    return order


def _resolve_orders(gw: ExchangeGateway, now: datetime, result: ReconcileResult) -> None:
    pending = Order.objects.filter(
        state__in=[Order.State.INTENDED, Order.State.SUBMITTING, Order.State.UNKNOWN, Order.State.OPEN]
    ).select_related("strategy")
    for order in pending:
        if order.state == Order.State.INTENDED:
            # Recorded but never handed to the exchange (a crash before sending): it cannot be there,
            # because an order is marked SUBMITTING before it is sent.
            if now - order.created_at > NOT_PLACED_AFTER and Order.objects.filter(
                pk=order.pk, state=Order.State.INTENDED
            ).update(
                state=Order.State.NOT_PLACED, updated_at=now, last_error="never sent (agent stopped first)"
            ):
                result.orders_resolved += 1
            continue
        found = gw.call("get_order_state_by_label", currency=order.currency, label=order.label)
        if found:
            wire = max(found, key=lambda w: w.last_update_timestamp)
            before = order.state
            order_apply_exchange_state(order=order, wire=wire, now=now)
            result.orders_resolved += int(order.state != before)
        elif (
            order.state in (Order.State.SUBMITTING, Order.State.UNKNOWN)
            and now - (order.submitted_at or order.created_at) > NOT_PLACED_AFTER
            and Order.objects.filter(pk=order.pk, state=order.state).update(
                state=Order.State.NOT_PLACED,
                updated_at=now,
                last_error="the exchange does not know this label",
            )
        ):
            result.orders_resolved += 1


def trade_in(trade: UserTrade) -> TradeIn:
    return TradeIn(
        trade_id=str(trade.trade_id),
        instrument_name=trade.instrument_name,
        side=str(trade.direction),
        amount=D(trade.amount),
        price_coin=D(trade.price),
        fee_coin=D(trade.fee),
        index_price_usd=D(trade.index_price),
        traded_at=datetime.fromtimestamp(trade.timestamp / 1000, UTC),
    )


def book_trades(*, trades: list[UserTrade], now: datetime) -> int:
    """Book our labelled trades (others are not ours to attribute); returns how many were new."""
    labels = {t.label for t in trades if t.label and t.label.startswith(LABEL_PREFIX)}
    orders = {o.label: o for o in Order.objects.filter(label__in=labels).select_related("strategy")}
    booked = 0
    for trade in trades:
        order = orders.get(trade.label or "")
        if order is None:
            continue
        if fill_book(strategy=order.strategy, order=order, trade=trade_in(trade), now=now) is not None:
            booked += 1
    return booked


def trades_book_since(
    *, gateway: ExchangeGateway, currencies: list[str], since: datetime, now: datetime
) -> int:
    """Fetch our trades since ``since`` and book the ones not booked yet; returns how many."""
    gw = gateway
    booked = 0
    for currency in currencies:
        start = int(since.timestamp() * 1000)
        trades: list[UserTrade] = []
        while True:
            page = gw.call(
                "get_user_trades_by_currency",
                currency=currency,
                kind="option",
                start_timestamp=start,
                count=1000,
                sorting="asc",
            )
            trades.extend(page.trades)
            if not page.has_more or not page.trades:
                break
            start = page.trades[-1].timestamp + 1
        booked += book_trades(trades=trades, now=now)
    return booked


def _compare_positions(
    gw: ExchangeGateway, currencies: list[str], now: datetime, result: ReconcileResult
) -> None:
    ours: dict[str, Decimal] = defaultdict(Decimal)
    rows = (
        Position.objects.filter(expiry__gt=now, currency__in=currencies)
        .values("instrument_name")
        .annotate(total=Sum("size_contracts"))
    )
    for row in rows:
        ours[row["instrument_name"]] += row["total"] or Decimal(0)
    theirs: dict[str, Decimal] = defaultdict(Decimal)
    for currency in currencies:
        for pos in gw.call("get_positions", currency=currency, kind="option"):
            try:
                expired = parse_instrument(pos.instrument_name).expiry <= now
            except InstrumentNameError:
                expired = False
            if expired:
                continue  # settled by the exchange; our expiry step books it
            theirs[pos.instrument_name] += D(pos.size)
    for name in sorted(set(ours) | set(theirs)):
        diff = theirs[name] - ours[name]
        if abs(diff) > OPEN_ENOUGH:
            result.problems.append(
                f"{name}: the exchange holds {theirs[name].normalize():f} contracts, "
                f"our ledger {ours[name].normalize():f} (difference {diff.normalize():f})"
            )


def reconcile_run(
    *, gateway: ExchangeGateway, currencies: list[str], now: datetime | None = None
) -> ReconcileResult:
    """Resolve our unknown orders, book our trades, and compare positions with the exchange."""
    now = now or timezone.now()
    result = ReconcileResult()
    _resolve_orders(gateway, now, result)
    result.fills_booked += trades_book_since(
        gateway=gateway, currencies=currencies, since=now - TRADE_LOOKBACK, now=now
    )
    _compare_positions(gateway, currencies, now, result)
    return result
