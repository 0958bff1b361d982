"""The agent's records: its state, the tick lease, decisions, orders, fills and positions.

Money is ``Decimal`` in coin (``*_coin``) or USD (``*_usd``); amounts are in contracts (1 contract
= 1 coin on Deribit). Times are UTC. Orders and positions change state only through the services
in ``trading.services``, with compare-and-set updates against the transition tables below.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

from trading.models.registry import AgentTick, Strategy


def money(**options: Any) -> Any:
    """A money or amount column: 28 digits, 10 after the point (enough for coin and USD)."""
    return models.DecimalField(max_digits=28, decimal_places=10, **options)


ZERO = Decimal("0")


class AgentState(models.Model):
    """The one row of agent-wide state: the kill switch and the last reconciliation."""

    class Reconciliation(models.TextChoices):
        PENDING = "pending", "Not yet reconciled"
        OK = "ok", "Matches the exchange"
        MISMATCH = "mismatch", "Differs from the exchange"
        ERROR = "error", "Could not reach the exchange"

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    kill_switch_engaged = models.BooleanField(default=False)
    kill_switch_reason = models.TextField(blank=True)
    kill_switch_changed_at = models.DateTimeField(null=True, blank=True)
    kill_switch_changed_by = models.CharField(max_length=150, blank=True)
    reconciliation = models.CharField(
        max_length=16, choices=Reconciliation.choices, default=Reconciliation.PENDING
    )
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconciliation_problems = models.JSONField(default=list, blank=True)
    # The automatic kill switch: a trip is latched here until a person resets it.
    kill_switch_tripped_reason = models.TextField(blank=True)
    # Equity marks per coin, in that coin: {"BTC": {"day": "2026-01-02", "day_start": 10.0, "peak": 10.2}}.
    equity_marks = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "agent state"
        verbose_name_plural = "agent state"

    def __str__(self) -> str:
        return "agent state"


class AgentLease(models.Model):
    """Single-flight lock for the tick. ``token`` grows on every acquisition (a fencing token):
    an order is only sent while the sender's token is still the current one, so a tick that
    overran its lease can no longer submit."""

    name = models.CharField(max_length=64, unique=True)
    token = models.BigIntegerField(default=0)
    holder = models.CharField(max_length=128, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} #{self.token}"


class AgentEvent(models.Model):
    """The agent's log a person reads: kill-switch trips, reconciliation problems, errors."""

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    tick = models.ForeignKey(AgentTick, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}"


class Decision(models.Model):
    """Every proposal of every strategy in a tick, including holds and rejections, and its verdict."""

    class Action(models.TextChoices):
        OPEN = "open", "Open"
        CLOSE = "close", "Close"
        ROLL = "roll", "Roll"
        HOLD = "hold", "Hold"
        CANCEL = "cancel", "Cancel"

    class Verdict(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        NOT_REVIEWED = "not_reviewed", "No review needed"
        ERROR = "error", "Strategy failed"

    class Execution(models.TextChoices):
        NONE = "none", "Nothing to execute"
        PENDING = "pending", "Waiting to execute"
        WORKING = "working", "Orders working"
        DONE = "done", "Executed"
        PARTIAL = "partial", "Partly executed"
        FAILED = "failed", "Not executed"

    tick = models.ForeignKey(
        AgentTick, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="decisions")
    proposal_id = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    currency = models.CharField(max_length=8, blank=True)
    legs = models.JSONField(default=list, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    candidates = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)
    mode = models.CharField(max_length=16, blank=True)
    decided_by = models.CharField(max_length=16, blank=True)
    llm_choice = models.TextField(blank=True)
    llm_raw = models.TextField(blank=True)
    fallback_reason = models.TextField(blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    risk_reasons = models.JSONField(default=list, blank=True)
    link_id = models.CharField(max_length=64, blank=True)
    execution = models.CharField(max_length=16, choices=Execution.choices, default=Execution.NONE)
    snapshot_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["strategy", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.strategy_id}:{self.action}:{self.verdict}"


class Order(models.Model):
    """An order the agent intends to send or has sent. The label ties it to its strategy and
    decision and makes a retry idempotent: an ambiguous submit is resolved by the label."""

    class State(models.TextChoices):
        INTENDED = "intended", "Recorded, not yet sent"
        SUBMITTING = "submitting", "Being sent"
        OPEN = "open", "Open on the exchange"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected by the exchange"
        NOT_PLACED = "not_placed", "Never reached the exchange"
        UNKNOWN = "unknown", "Outcome unknown: being resolved"

    TERMINAL = frozenset({State.FILLED, State.CANCELLED, State.REJECTED, State.NOT_PLACED})
    TRANSITIONS: dict[str, frozenset[str]] = {
        State.INTENDED: frozenset({State.SUBMITTING, State.NOT_PLACED, State.CANCELLED}),
        State.SUBMITTING: frozenset(
            {State.OPEN, State.FILLED, State.CANCELLED, State.REJECTED, State.NOT_PLACED, State.UNKNOWN}
        ),
        State.UNKNOWN: frozenset(
            {State.OPEN, State.FILLED, State.CANCELLED, State.REJECTED, State.NOT_PLACED}
        ),
        State.OPEN: frozenset({State.OPEN, State.FILLED, State.CANCELLED}),
        State.FILLED: frozenset(),
        State.CANCELLED: frozenset(),
        State.REJECTED: frozenset(),
        State.NOT_PLACED: frozenset(),
    }

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="orders")
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="orders")
    label = models.CharField(max_length=64, unique=True)
    leg_index = models.PositiveSmallIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    instrument_name = models.CharField(max_length=64)
    currency = models.CharField(max_length=8)
    side = models.CharField(max_length=4, choices=[("buy", "Buy"), ("sell", "Sell")])
    reduce_only = models.BooleanField(default=False)
    amount = money()
    limit_price_coin = money()
    state = models.CharField(max_length=16, choices=State.choices, default=State.INTENDED)
    exchange_order_id = models.CharField(max_length=64, blank=True)
    filled_amount = money(default=ZERO)
    average_price_coin = money(default=ZERO)
    fencing_token = models.BigIntegerField(default=0)
    valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["strategy", "-created_at"])]

    def __str__(self) -> str:
        return self.label


class Fill(models.Model):
    """One trade on the exchange, booked exactly once (the exchange's trade id is unique)."""

    trade_id = models.CharField(max_length=64, unique=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="fills")
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="fills")
    instrument_name = models.CharField(max_length=64)
    currency = models.CharField(max_length=8)
    side = models.CharField(max_length=4, choices=[("buy", "Buy"), ("sell", "Sell")])
    amount = money()
    price_coin = money()
    fee_coin = money(default=ZERO)
    index_price_usd = money()
    traded_at = models.DateTimeField(db_index=True)
    booked_at = models.DateTimeField()

    class Meta:
        ordering = ["-traded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.instrument_name} @ {self.price_coin}"


class Position(models.Model):
    """A strategy's position in one instrument. Deribit's positions are account-wide; ours are
    attributed through our labelled fills. ``size_contracts`` is negative for a short."""

    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="positions")
    instrument_name = models.CharField(max_length=64)
    currency = models.CharField(max_length=8)
    option_type = models.CharField(max_length=4)
    strike_usd = money()
    expiry = models.DateTimeField(db_index=True)
    size_contracts = money(default=ZERO)
    average_price_coin = money(default=ZERO)
    premium_collected_coin = money(default=ZERO)
    premium_collected_usd = money(default=ZERO)
    realized_pnl_coin = money(default=ZERO)
    realized_pnl_usd = money(default=ZERO)
    fees_coin = money(default=ZERO)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    delivery_price_usd = money(null=True, blank=True)

    class Meta:
        ordering = ["expiry", "instrument_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "instrument_name"], name="position_per_strategy_instrument"
            )
        ]

    def __str__(self) -> str:
        return f"{self.strategy_id}:{self.instrument_name} {self.size_contracts}"

    @property
    def is_open(self) -> bool:
        return self.size_contracts != ZERO
