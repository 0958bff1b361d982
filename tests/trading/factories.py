"""Factories for the agent's records: ticks, decisions, orders, fills, positions and its log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from tests.factories import StrategyFactory
from trading.models import AgentEvent, AgentTick, Decision, Fill, Order, Position

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXPIRY = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)
INSTRUMENT = "BTC-27MAR26-110000-C"


class AgentTickFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentTick

    started_at = T0
    finished_at = factory.LazyAttribute(lambda t: t.started_at + timedelta(milliseconds=1250))
    status = AgentTick.Status.OK
    message = "2 strategies, 3 decisions, 1 order sent."
    summary = factory.LazyFunction(dict)


class DecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Decision

    tick = factory.SubFactory(AgentTickFactory)
    strategy = factory.SubFactory(StrategyFactory)
    proposal_id = factory.Sequence(lambda n: f"proposal-{n}")
    created_at = T0
    action = Decision.Action.OPEN
    currency = "BTC"
    legs = factory.LazyFunction(
        lambda: [
            {
                "instrument_name": INSTRUMENT,
                "currency": "BTC",
                "option_type": "call",
                "strike_usd": 110000.0,
                "expiry": EXPIRY.isoformat(),
                "side": "sell",
                "intent": "open",
                "size_contracts": 0.5,
                "limit_price_coin": 0.0125,
            }
        ]
    )
    scores = factory.LazyFunction(lambda: {"score": 0.71})
    candidates = factory.LazyFunction(
        lambda: [
            {
                "instrument_name": INSTRUMENT,
                "size_contracts": 0.5,
                "limit_price_coin": 0.0125,
                "score": 0.71,
                "score_parts": {"yield": 0.4},
                "facts": {"dte": 25, "delta": 0.18},
            }
        ]
    )
    reason = "Best premium for a delta under 0.2."
    mode = "rules"
    decided_by = "rules"
    verdict = Decision.Verdict.APPROVED
    risk_reasons = factory.LazyFunction(list)
    execution = Decision.Execution.DONE


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    decision = factory.SubFactory(DecisionFactory)
    strategy = factory.SelfAttribute("decision.strategy")
    label = factory.Sequence(lambda n: f"ob-{n}")
    instrument_name = INSTRUMENT
    currency = "BTC"
    side = "sell"
    amount = Decimal("0.5")
    limit_price_coin = Decimal("0.0125")
    state = Order.State.FILLED
    filled_amount = Decimal("0.5")
    average_price_coin = Decimal("0.0125")
    created_at = T0
    updated_at = T0


class FillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fill

    trade_id = factory.Sequence(lambda n: f"trade-{n}")
    order = factory.SubFactory(OrderFactory)
    strategy = factory.SelfAttribute("order.strategy")
    instrument_name = INSTRUMENT
    currency = "BTC"
    side = "sell"
    amount = Decimal("0.5")
    price_coin = Decimal("0.0125")
    fee_coin = Decimal("0.00015")
    index_price_usd = Decimal("95000")
    traded_at = T0
    booked_at = T0


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    strategy = factory.SubFactory(StrategyFactory)
    instrument_name = INSTRUMENT
    currency = "BTC"
    option_type = "call"
    strike_usd = Decimal("110000")
    expiry = EXPIRY
    size_contracts = Decimal("-0.5")
    average_price_coin = Decimal("0.0125")
    premium_collected_coin = Decimal("0.00625")
    premium_collected_usd = Decimal("593.75")
    realized_pnl_coin = Decimal("0")
    realized_pnl_usd = Decimal("0")
    fees_coin = Decimal("0.00015")
    opened_at = T0
    updated_at = T0


class AgentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentEvent

    at = T0
    kind = "reconcile.ok"
    severity = AgentEvent.Severity.INFO
    message = "Positions match the exchange."
