"""Query filters of the agent's records (django-filter); every filter is in the OpenAPI document."""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from trading.models import AgentEvent, Decision, Fill, Order, Position

ZERO_Q = Q(size_contracts=0)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A row id: whole numbers only."""

    field_class = forms.IntegerField


class DecisionFilter(filters.FilterSet):
    strategy = filters.CharFilter(field_name="strategy__name", help_text="Strategy name.")
    action = filters.ChoiceFilter(choices=Decision.Action.choices)
    verdict = filters.ChoiceFilter(choices=Decision.Verdict.choices)
    execution = filters.ChoiceFilter(choices=Decision.Execution.choices)
    currency = filters.CharFilter(field_name="currency", lookup_expr="iexact")
    tick = IdFilter(field_name="tick_id", help_text="Only the decisions of this tick.")
    created_after = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="From this time on (inclusive), ISO 8601."
    )
    created_before = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Before this time (exclusive), ISO 8601."
    )

    class Meta:
        model = Decision
        fields = ("strategy", "action", "verdict", "execution", "currency", "tick")


class OrderFilter(filters.FilterSet):
    strategy = filters.CharFilter(field_name="strategy__name", help_text="Strategy name.")
    state = filters.ChoiceFilter(choices=Order.State.choices)
    currency = filters.CharFilter(field_name="currency", lookup_expr="iexact")
    decision = IdFilter(field_name="decision_id")

    class Meta:
        model = Order
        fields = ("strategy", "state", "currency", "decision")


class FillFilter(filters.FilterSet):
    strategy = filters.CharFilter(field_name="strategy__name", help_text="Strategy name.")
    currency = filters.CharFilter(field_name="currency", lookup_expr="iexact")
    order = IdFilter(field_name="order_id")
    traded_after = filters.IsoDateTimeFilter(field_name="traded_at", lookup_expr="gte")
    traded_before = filters.IsoDateTimeFilter(field_name="traded_at", lookup_expr="lt")

    class Meta:
        model = Fill
        fields = ("strategy", "currency", "order")


class PositionFilter(filters.FilterSet):
    strategy = filters.CharFilter(field_name="strategy__name", help_text="Strategy name.")
    currency = filters.CharFilter(field_name="currency", lookup_expr="iexact")
    open = filters.BooleanFilter(
        method="filter_open", help_text="true: positions with contracts held; false: closed or settled."
    )

    class Meta:
        model = Position
        fields = ("strategy", "currency", "open")

    def filter_open(self, queryset: QuerySet[Position], name: str, value: bool | None) -> QuerySet[Position]:
        if value is None:
            return queryset
        return queryset.exclude(ZERO_Q) if value else queryset.filter(ZERO_Q)


class AgentEventFilter(filters.FilterSet):
    severity = filters.ChoiceFilter(choices=AgentEvent.Severity.choices)
    kind = filters.CharFilter(
        field_name="kind", lookup_expr="startswith", help_text="Kind or its prefix, e.g. kill_switch."
    )
    tick = IdFilter(field_name="tick_id")
    after = filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")

    class Meta:
        model = AgentEvent
        fields = ("severity", "kind", "tick")
