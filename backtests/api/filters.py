"""Query filters of the backtest runs (django-filter); every filter is in the OpenAPI document."""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from backtests.models import BacktestRun


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A row id: whole numbers only."""

    field_class = forms.IntegerField


class BacktestRunFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=BacktestRun.Status.choices)
    strategy = filters.CharFilter(field_name="strategy_name", help_text="Registry strategy name.")
    sweep = IdFilter(field_name="sweep_id", help_text="Only the runs of this sweep.")

    class Meta:
        model = BacktestRun
        fields = ("status", "strategy", "sweep")
