"""Restart safety and expiry: the agent killed at the worst moments loses and duplicates nothing,
and an expired short call is settled at the delivery price."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import StrategyFactory
from tests.trading.agent.conftest import RunningEmulator
from trading.agent.execution import order_send
from trading.agent.lease import lease_acquire
from trading.agent.tick import agent_tick_run
from trading.exchange.client import DeribitClient
from trading.models import AgentState, Decision, Fill, Order, Position, Strategy
from trading.strategies.params import preset

pytestmark = pytest.mark.django_db


def calls(**changes: object) -> dict[str, object]:
    return {**preset("covered_call", "conservative"), "min_ivrv": 0.0, **changes}


def tick(exchange: RunningEmulator):  # type: ignore[no-untyped-def]
    return agent_tick_run(now=exchange.now, config=exchange.config())


def a_call_with_a_bid(exchange: RunningEmulator) -> tuple[str, float]:
    engine = exchange.emulator.engine
    names = sorted(
        (name, rec.quote.best_bid_price)
        for name, rec in engine.instruments.items()
        if rec.currency == "BTC"
        and name.endswith("-C")
        and not rec.expired
        and (rec.quote.best_bid_price or 0) >= 0.005
        and rec.quote.best_bid_amount >= 1
        and rec.expiration_ms - engine.now_ms > 5 * 86_400_000
    )
    return names[len(names) // 2]


def our_order(
    exchange: RunningEmulator, strategy: Strategy, instrument: str, price: float, state: str
) -> Order:
    decision = Decision.objects.create(
        strategy=strategy,
        proposal_id="p1",
        created_at=exchange.now,
        action="open",
        currency="BTC",
        verdict=Decision.Verdict.APPROVED,
        execution=Decision.Execution.PENDING,
    )
    order = Order.objects.create(
        decision=decision,
        strategy=strategy,
        label=f"ob{strategy.pk}-{decision.pk}-0-1",
        instrument_name=instrument,
        currency="BTC",
        side="sell",
        amount=Decimal("1"),
        limit_price_coin=Decimal(str(price)),
        state=state,
        created_at=exchange.now,
        submitted_at=exchange.now,
        updated_at=exchange.now,
    )
    return order


async def _sell(exchange: RunningEmulator, instrument: str, price: float, label: str) -> None:
    async with DeribitClient(exchange.config()) as client:
        await client.sell(instrument_name=instrument, amount=1.0, price=price, label=label)


def ledger_btc() -> dict[str, float]:
    return {
        p.instrument_name: float(p.size_contracts)
        for p in Position.objects.filter(currency="BTC").exclude(size_contracts=0)
    }


@pytest.mark.parametrize("state_when_killed", [Order.State.SUBMITTING, Order.State.OPEN, Order.State.UNKNOWN])
def test_an_order_sent_but_not_recorded_is_recovered_and_booked_once(
    exchange: RunningEmulator, state_when_killed: str
) -> None:
    # SUBMITTING: killed between submit and record. OPEN: killed between fill and booking.
    strategy = StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"], enabled=False)
    instrument, bid = a_call_with_a_bid(exchange)
    order = our_order(exchange, strategy, instrument, bid, state_when_killed)
    exchange.run(_sell(exchange, instrument, bid, order.label))  # it reached the exchange and filled
    assert not Fill.objects.exists()
    for _ in range(2):
        exchange.advance(30)
        tick(exchange)
    order.refresh_from_db()
    assert order.state == Order.State.FILLED and order.filled_amount == 1
    assert Fill.objects.filter(order=order).count() == 1
    assert ledger_btc() == pytest.approx(exchange.positions("BTC")) == {instrument: -1.0}
    assert AgentState.objects.get().reconciliation == AgentState.Reconciliation.OK


def test_an_order_recorded_but_never_sent_is_closed_and_not_sent_later(exchange: RunningEmulator) -> None:
    strategy = StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"], enabled=False)
    instrument, bid = a_call_with_a_bid(exchange)
    intended = our_order(exchange, strategy, instrument, bid, Order.State.INTENDED)
    submitting = Order.objects.create(
        decision=intended.decision,
        strategy=strategy,
        label=f"ob{strategy.pk}-{intended.decision_id}-1-1",
        leg_index=1,
        instrument_name=instrument,
        currency="BTC",
        side="sell",
        amount=Decimal("1"),
        limit_price_coin=Decimal(str(bid)),
        state=Order.State.SUBMITTING,
        created_at=exchange.now,
        submitted_at=exchange.now,
        updated_at=exchange.now,
    )
    exchange.advance(60)
    tick(exchange)
    intended.refresh_from_db()
    submitting.refresh_from_db()
    assert intended.state == Order.State.NOT_PLACED
    assert submitting.state == Order.State.NOT_PLACED
    assert exchange.positions("BTC") == {} and not Fill.objects.exists()


def test_a_position_only_on_the_exchange_blocks_trading_until_resolved(exchange: RunningEmulator) -> None:
    StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"])
    instrument, bid = a_call_with_a_bid(exchange)
    exchange.run(_sell(exchange, instrument, bid, "placed-by-hand"))
    blocked = tick(exchange)
    state = AgentState.objects.get()
    assert state.reconciliation == AgentState.Reconciliation.MISMATCH
    assert instrument in state.reconciliation_problems[0]
    assert "blocked" in blocked.message
    assert not Order.objects.exists() and not Decision.objects.exists()


def test_a_tick_that_lost_its_lease_cannot_send(exchange: RunningEmulator) -> None:
    strategy = StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"], enabled=False)
    instrument, bid = a_call_with_a_bid(exchange)
    now = timezone.now()
    stale = lease_acquire(holder="slow-tick", now=now - timedelta(minutes=10), ttl=timedelta(minutes=1))
    assert stale is not None
    assert lease_acquire(holder="fresh-tick", now=now, ttl=timedelta(minutes=5)) is not None
    order = our_order(exchange, strategy, instrument, bid, Order.State.INTENDED)
    from trading.agent.gateway import ExchangeGateway

    with ExchangeGateway(exchange.config()) as gateway:
        order_send(gateway=gateway, order=order, lease=stale, now=exchange.now)
    order.refresh_from_db()
    assert order.state == Order.State.NOT_PLACED and "newer tick" in order.last_error
    assert exchange.positions("BTC") == {}


def test_an_expired_short_call_is_settled_at_the_delivery_price(exchange: RunningEmulator) -> None:
    StrategyFactory(
        name="short_dated",
        underlyings=["BTC"],
        parameters=calls(
            dte_min=1,
            dte_max=4,
            delta_min=0.05,
            delta_max=0.25,
            roll_dte=0,
            roll_delta=0.0,
            take_profit_pct=0.0,
        ),
    )
    tick(exchange)
    sold = Position.objects.exclude(size_contracts=0).order_by("expiry").first()
    assert sold is not None, list(Decision.objects.values_list("reason", "risk_reasons"))
    # Move past its expiry (08:00 UTC) and a little beyond, so the delivery price is published.
    exchange.advance((sold.expiry - exchange.now).total_seconds() + 3600)
    tick(exchange)
    sold.refresh_from_db()
    assert sold.settled_at is not None and sold.size_contracts == 0
    assert sold.delivery_price_usd and sold.delivery_price_usd > 0
    strike, delivery = sold.strike_usd, sold.delivery_price_usd
    value = max(delivery - strike, Decimal(0)) / delivery
    settlement = Fill.objects.get(trade_id=f"settle-{sold.pk}")
    assert settlement.price_coin == value
    expected = sold.premium_collected_coin - value - sold.fees_coin
    assert sold.realized_pnl_coin == pytest.approx(expected, abs=Decimal("1e-9"))
    assert ledger_btc() == pytest.approx(exchange.positions("BTC"))


def test_a_restart_of_agent_and_exchange_keeps_every_position(tmp_path: object) -> None:
    from tests.trading.agent.conftest import start_emulator, stop_emulator

    state = str(tmp_path) + "/exchange.sqlite3"  # type: ignore[operator]
    first = start_emulator(state_path=state)
    try:
        StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC", "ETH"])
        tick(first)
        held = first.positions("BTC")
        assert held, "the first tick should have sold calls"
        clock = first.clock
    finally:
        stop_emulator(first)
    fills_before = Fill.objects.count()
    second = start_emulator(state_path=state, clock=clock)  # the exchange comes back from its file
    try:
        assert second.positions("BTC") == held
        second.advance(60)
        after = tick(second)
        assert AgentState.objects.get().reconciliation == AgentState.Reconciliation.OK, after.summary
        assert Fill.objects.filter(order__isnull=False).count() >= fills_before
        assert Fill.objects.values("trade_id").distinct().count() == Fill.objects.count()
        assert ledger_btc() == pytest.approx(second.positions("BTC"))
    finally:
        stop_emulator(second)
