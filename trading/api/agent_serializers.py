"""Input and output serializers of the agent API.

Money is a string holding a decimal number, with its unit in the name: ``*_coin`` is in the coin
named by ``currency`` (BTC or ETH), ``*_usd`` in US dollars; amounts are contracts (1 contract =
1 coin). Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from trading.models import AgentEvent, AgentState, AgentTick, Decision, Fill, Order, Position

REASON_MAX_LENGTH = 500


def money(**kwargs: Any) -> serializers.DecimalField:
    """A read-only decimal rendered as a string without trailing zeros, e.g. ``"0.0125"``."""
    return serializers.DecimalField(
        max_digits=28, decimal_places=10, normalize_output=True, read_only=True, **kwargs
    )


# --- Agent status -------------------------------------------------------------------------------


class ExchangeOutputSerializer(serializers.Serializer):
    trading_mode = serializers.ChoiceField(
        choices=["sim", "live"], help_text="sim: the local Deribit emulator; live: Deribit itself."
    )
    environment = serializers.ChoiceField(choices=["emulator", "testnet", "mainnet"])
    name = serializers.CharField(help_text="The exchange in plain words.")
    real_money = serializers.BooleanField()
    base_url = serializers.CharField()


class TickScheduleOutputSerializer(serializers.Serializer):
    every_seconds = serializers.IntegerField(
        allow_null=True, help_text="Null when the tick is not scheduled."
    )
    enabled = serializers.BooleanField()


class AgentTickOutputSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")
    duration_ms = serializers.FloatField(allow_null=True, help_text="Null while the tick is running.")

    class Meta:
        model = AgentTick
        fields = ("id", "started_at", "finished_at", "status", "status_display", "duration_ms", "message")
        read_only_fields = fields


class ReconciliationOutputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=AgentState.Reconciliation.choices)
    outcome_display = serializers.CharField()
    reconciled_at = serializers.DateTimeField(allow_null=True)
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="What differs from the exchange."
    )


class KillSwitchOutputSerializer(serializers.Serializer):
    engaged = serializers.BooleanField(help_text="True when trading is halted, by hand or automatically.")
    manual = serializers.BooleanField(help_text="Engaged by a person.")
    reason = serializers.CharField(allow_blank=True, help_text="The person's reason.")
    tripped_reason = serializers.CharField(
        allow_blank=True, help_text="Why it tripped automatically; empty when it did not."
    )
    changed_at = serializers.DateTimeField(allow_null=True)
    changed_by = serializers.CharField(allow_blank=True)


class CoinAccountOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    equity_coin = money(allow_null=True)
    balance_coin = money(allow_null=True)
    margin_balance_coin = money(allow_null=True)
    initial_margin_coin = money(allow_null=True)
    maintenance_margin_coin = money(allow_null=True)
    available_funds_coin = money(allow_null=True)


class AccountSummaryOutputSerializer(serializers.Serializer):
    tick_id = serializers.IntegerField()
    observed_at = serializers.DateTimeField()
    from_latest_tick = serializers.BooleanField(
        help_text="False when the latest tick recorded no account and an older one is shown."
    )
    currencies = CoinAccountOutputSerializer(many=True)


class AgentStatusOutputSerializer(serializers.Serializer):
    exchange = ExchangeOutputSerializer()
    schedule = TickScheduleOutputSerializer()
    last_tick = AgentTickOutputSerializer(allow_null=True)
    reconciliation = ReconciliationOutputSerializer()
    kill_switch = KillSwitchOutputSerializer()
    account = AccountSummaryOutputSerializer(
        allow_null=True, help_text="Null until a tick has recorded the exchange's account summary."
    )
    enabled_strategies = serializers.ListField(child=serializers.CharField())


class KillSwitchEngageInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        trim_whitespace=True,
        error_messages={
            "required": "Say why you are stopping the agent.",
            "blank": "Say why you are stopping the agent.",
        },
    )


# --- Per-strategy status ------------------------------------------------------------------------


class CoinFiguresOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    open_positions = serializers.IntegerField()
    premium_collected_coin = money()
    premium_collected_usd = money()
    realized_pnl_coin = money(help_text="Realised only: closed and settled trades, after fees.")
    realized_pnl_usd = money(help_text="Realised only: closed and settled trades, after fees.")
    fees_coin = money()


class DecisionBriefOutputSerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display")
    verdict_display = serializers.CharField(source="get_verdict_display")

    class Meta:
        model = Decision
        fields = ("id", "created_at", "action", "action_display", "verdict", "verdict_display", "reason")
        read_only_fields = fields


class StrategyStatusOutputSerializer(serializers.Serializer):
    name = serializers.CharField(source="strategy.name")
    logic_kind = serializers.CharField(source="strategy.logic_kind")
    decision_mode = serializers.CharField(source="strategy.decision_mode")
    decision_mode_display = serializers.CharField(source="strategy.get_decision_mode_display")
    enabled = serializers.BooleanField(source="strategy.enabled")
    open_positions = serializers.IntegerField()
    premium_collected_usd = money()
    realized_pnl_usd = money(help_text="Realised only; unrealised P&L of open positions is not included.")
    coins = CoinFiguresOutputSerializer(many=True, help_text="The same figures per coin, in that coin.")
    last_decision = DecisionBriefOutputSerializer(allow_null=True)


# --- Records ------------------------------------------------------------------------------------


class DecisionOutputSerializer(serializers.ModelSerializer):
    strategy = serializers.CharField(source="strategy.name")
    action_display = serializers.CharField(source="get_action_display")
    verdict_display = serializers.CharField(source="get_verdict_display")
    execution_display = serializers.CharField(source="get_execution_display")

    class Meta:
        model = Decision
        fields: tuple[str, ...] = (
            "id",
            "tick",
            "strategy",
            "created_at",
            "action",
            "action_display",
            "currency",
            "reason",
            "mode",
            "decided_by",
            "verdict",
            "verdict_display",
            "risk_reasons",
            "execution",
            "execution_display",
            "legs",
        )
        read_only_fields = fields


class DecisionOrderOutputSerializer(serializers.ModelSerializer):
    amount_contracts = money(source="amount")
    filled_amount_contracts = money(source="filled_amount")
    limit_price_coin = money()
    state_display = serializers.CharField(source="get_state_display")

    class Meta:
        model = Order
        fields = (
            "id",
            "label",
            "instrument_name",
            "side",
            "amount_contracts",
            "limit_price_coin",
            "state",
            "state_display",
            "filled_amount_contracts",
        )
        read_only_fields = fields


class DecisionDetailOutputSerializer(DecisionOutputSerializer):
    orders = DecisionOrderOutputSerializer(many=True)

    class Meta(DecisionOutputSerializer.Meta):
        fields = (
            *DecisionOutputSerializer.Meta.fields,
            "proposal_id",
            "scores",
            "candidates",
            "llm_choice",
            "llm_raw",
            "fallback_reason",
            "link_id",
            "snapshot_ids",
            "orders",
        )
        read_only_fields = fields


class OrderOutputSerializer(serializers.ModelSerializer):
    strategy = serializers.CharField(source="strategy.name")
    amount_contracts = money(source="amount")
    limit_price_coin = money()
    filled_amount_contracts = money(source="filled_amount")
    average_price_coin = money()
    state_display = serializers.CharField(source="get_state_display")

    class Meta:
        model = Order
        fields = (
            "id",
            "label",
            "strategy",
            "decision",
            "leg_index",
            "attempt",
            "instrument_name",
            "currency",
            "side",
            "reduce_only",
            "amount_contracts",
            "limit_price_coin",
            "state",
            "state_display",
            "exchange_order_id",
            "filled_amount_contracts",
            "average_price_coin",
            "valid_until",
            "created_at",
            "submitted_at",
            "updated_at",
            "last_error",
        )
        read_only_fields = fields


class FillOutputSerializer(serializers.ModelSerializer):
    strategy = serializers.CharField(source="strategy.name")
    order_label = serializers.CharField(source="order.label", allow_null=True, default=None)
    amount_contracts = money(source="amount")
    price_coin = money()
    fee_coin = money()
    index_price_usd = money()

    class Meta:
        model = Fill
        fields = (
            "id",
            "trade_id",
            "order",
            "order_label",
            "strategy",
            "instrument_name",
            "currency",
            "side",
            "amount_contracts",
            "price_coin",
            "fee_coin",
            "index_price_usd",
            "traded_at",
            "booked_at",
        )
        read_only_fields = fields


class PositionOutputSerializer(serializers.ModelSerializer):
    strategy = serializers.CharField(source="strategy.name")
    is_open = serializers.BooleanField()
    strike_usd = money()
    size_contracts = money(help_text="Negative for a short (sold) position; zero once closed.")
    average_price_coin = money()
    premium_collected_coin = money()
    premium_collected_usd = money()
    realized_pnl_coin = money(help_text="Realised only; unrealised P&L of an open position is not included.")
    realized_pnl_usd = money(help_text="Realised only; unrealised P&L of an open position is not included.")
    fees_coin = money()
    delivery_price_usd = money(allow_null=True)

    class Meta:
        model = Position
        fields = (
            "id",
            "strategy",
            "instrument_name",
            "currency",
            "option_type",
            "strike_usd",
            "expiry",
            "is_open",
            "size_contracts",
            "average_price_coin",
            "premium_collected_coin",
            "premium_collected_usd",
            "realized_pnl_coin",
            "realized_pnl_usd",
            "fees_coin",
            "opened_at",
            "updated_at",
            "closed_at",
            "settled_at",
            "delivery_price_usd",
        )
        read_only_fields = fields


class AgentEventOutputSerializer(serializers.ModelSerializer):
    severity_display = serializers.CharField(source="get_severity_display")

    class Meta:
        model = AgentEvent
        fields = ("id", "at", "kind", "severity", "severity_display", "message", "data", "tick")
        read_only_fields = fields
