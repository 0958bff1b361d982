"""Execution of approved decisions: idempotent, fenced, never blindly resubmitted.

Each leg becomes an ``Order`` row that is committed (state *intended*) before anything is sent,
with a label made of strategy, decision, leg and attempt. Right before sending, the tick checks
that its lease (fencing token) is still current and moves the order to *submitting* with a
compare-and-set, so two ticks can never send the same order. The client resolves an ambiguous
submit by looking the label up; whatever stays unknown is resolved by the next reconciliation.

Limit orders are priced by the strategy on the tick size; ``valid_until`` stops a request that
reached the exchange late. Unfilled orders live until the next tick, which cancels them and lets
the strategies decide again on fresh prices (cancel/replace).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from trading.agent.gateway import ExchangeGateway
from trading.agent.lease import Lease, lease_is_current
from trading.agent.ledger import D
from trading.agent.reconcile import book_trades, order_apply_exchange_state, order_label, trades_book_since
from trading.exchange.errors import (
    AmbiguousOrderError,
    DeribitError,
    ExchangeError,
    OrderNotPlacedError,
)
from trading.models import Decision, Order
from trading.strategies.base import Leg, LegIntent

logger = logging.getLogger(__name__)

REQUEST_VALID_FOR = timedelta(seconds=15)


def order_intend(*, decision: Decision, leg: Leg, leg_index: int, now: datetime) -> Order:
    """Record the intent to send ``leg`` (committed before any network call)."""
    with transaction.atomic():
        attempt = Order.objects.filter(decision=decision, leg_index=leg_index).count() + 1
        order = Order(
            decision=decision,
            strategy_id=decision.strategy_id,
            leg_index=leg_index,
            attempt=attempt,
            instrument_name=leg.instrument_name,
            currency=leg.currency,
            side=leg.side.value,
            reduce_only=leg.intent is LegIntent.CLOSE,
            amount=D(leg.size_contracts),
            limit_price_coin=D(leg.limit_price_coin),
            created_at=now,
            updated_at=now,
        )
        order.label = order_label(order=order)
        order.save()
    return order


def order_send(*, gateway: ExchangeGateway, order: Order, lease: Lease, now: datetime) -> Order:
    """Send an *intended* order if our lease is still current; record what came of it."""
    if not lease_is_current(lease=lease, now=timezone.now()):
        Order.objects.filter(pk=order.pk, state=Order.State.INTENDED).update(
            state=Order.State.NOT_PLACED, updated_at=now, last_error="not sent: a newer tick holds the lease"
        )
        order.refresh_from_db()
        return order
    taken = Order.objects.filter(pk=order.pk, state=Order.State.INTENDED).update(
        state=Order.State.SUBMITTING, submitted_at=now, updated_at=now, fencing_token=lease.token
    )
    if taken != 1:  # someone else moved it: never send twice
        order.refresh_from_db()
        return order
    order.refresh_from_db()
    valid_until = int((now + REQUEST_VALID_FOR).timestamp() * 1000)
    method = "buy" if order.side == "buy" else "sell"
    try:
        result = gateway.call(
            method,
            instrument_name=order.instrument_name,
            amount=float(order.amount),
            label=order.label,
            price=float(order.limit_price_coin),
            type="limit",
            reduce_only=order.reduce_only,
            valid_until=valid_until,
        )
    except OrderNotPlacedError as exc:
        _fail(order, Order.State.NOT_PLACED, f"not placed: {exc}", now)
        return order
    except AmbiguousOrderError as exc:
        _fail(order, Order.State.UNKNOWN, f"outcome unknown, resolved at the next reconciliation: {exc}", now)
        return order
    except DeribitError as exc:
        _fail(order, Order.State.REJECTED, f"rejected by the exchange: {exc}", now)
        return order
    except (ExchangeError, TimeoutError) as exc:
        _fail(order, Order.State.UNKNOWN, f"outcome unknown, resolved at the next reconciliation: {exc}", now)
        return order
    order_apply_exchange_state(order=order, wire=result.order, now=now)
    if result.trades:
        book_trades(trades=result.trades, now=now)
    elif result.recovered_by_label and order.filled_amount > 0:
        # The response was lost, so its trades were too: read them back and book them now.
        trades_book_since(
            gateway=gateway, currencies=[order.currency], since=now - timedelta(minutes=5), now=now
        )
    return order


def _fail(order: Order, state: str, message: str, now: datetime) -> None:
    Order.objects.filter(pk=order.pk, state=Order.State.SUBMITTING).update(
        state=state, updated_at=now, last_error=message[:2000]
    )
    order.refresh_from_db()
    logger.warning("order %s: %s", order.label, message)


def decision_execute(
    *, gateway: ExchangeGateway, decision: Decision, legs: tuple[Leg, ...], lease: Lease, now: datetime
) -> Decision:
    """Send the approved legs of ``decision`` in order. A roll's opening leg goes only once its
    closing leg has filled, so coverage never depends on an order that may not fill."""
    outcomes: list[Order] = []
    for index, leg in enumerate(legs):
        if index > 0 and outcomes[-1].state != Order.State.FILLED:
            break
        order = order_intend(decision=decision, leg=leg, leg_index=index, now=now)
        outcomes.append(order_send(gateway=gateway, order=order, lease=lease, now=now))
    filled = [o for o in outcomes if o.state == Order.State.FILLED]
    working = [o for o in outcomes if o.state in (Order.State.OPEN, Order.State.UNKNOWN)]
    if len(filled) == len(legs):
        status = Decision.Execution.DONE
    elif working:
        status = Decision.Execution.WORKING
    elif filled:
        status = Decision.Execution.PARTIAL
    else:
        status = Decision.Execution.FAILED
    Decision.objects.filter(pk=decision.pk).update(execution=status)
    decision.execution = status
    return decision


def orders_cancel_open(*, gateway: ExchangeGateway, now: datetime, reason: str) -> int:
    """Cancel every order of ours that is open on the exchange; returns how many were cancelled."""
    cancelled = 0
    for order in Order.objects.filter(state=Order.State.OPEN):
        try:
            gateway.call("cancel_by_label", label=order.label, currency=order.currency)
        except ExchangeError as exc:
            logger.warning("could not cancel %s: %s", order.label, exc)
            continue
        found = gateway.call("get_order_state_by_label", currency=order.currency, label=order.label)
        if found:
            order_apply_exchange_state(
                order=order, wire=max(found, key=lambda w: w.last_update_timestamp), now=now
            )
        if order.state == Order.State.CANCELLED:
            Order.objects.filter(pk=order.pk).update(last_error=reason)
            cancelled += 1
    return cancelled
