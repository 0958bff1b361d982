"""Backtest runs and sweeps, calibration runs and parameter sets in the admin: read-only records
(runs are made in the Lab, the Calibration tab or the API; parameter sets are approved there, so
the policy and the approval stay one path)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from backtests.models import BacktestRun, BacktestSweep, CalibrationParamSet, CalibrationRun
from backtests.selectors import RESULT_FIELDS


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BacktestRun)
class BacktestRunAdmin(_ReadOnly):
    list_display = (
        "id",
        "name",
        "strategy_name",
        "logic_kind",
        "status",
        "progress_done",
        "progress_total",
        "created_by",
        "created_at",
        "finished_at",
        "sweep",
    )
    list_filter = ("status", "logic_kind")
    search_fields = ("name", "strategy_name")
    date_hierarchy = "created_at"
    exclude = RESULT_FIELDS
    readonly_fields = ("equity_points", "round_trip_count", "fill_count")

    def get_queryset(self, request: HttpRequest) -> QuerySet[BacktestRun]:
        # The results are large: loaded only when a run's page counts them.
        return super().get_queryset(request).select_related("created_by", "sweep").defer(*RESULT_FIELDS)

    @admin.display(description="equity points")
    def equity_points(self, run: BacktestRun) -> int:
        return len(run.equity or [])

    @admin.display(description="round trips")
    def round_trip_count(self, run: BacktestRun) -> int:
        return len(run.round_trips or [])

    @admin.display(description="fills")
    def fill_count(self, run: BacktestRun) -> int:
        return len(run.fills or [])


@admin.register(BacktestSweep)
class BacktestSweepAdmin(_ReadOnly):
    list_display = ("id", "name", "created_by", "created_at")
    search_fields = ("name",)


@admin.register(CalibrationRun)
class CalibrationRunAdmin(_ReadOnly):
    list_display = ("id", "name", "source", "trigger", "status", "created_by", "created_at", "finished_at")
    list_filter = ("status", "source", "trigger")
    search_fields = ("name", "data_path")
    date_hierarchy = "created_at"
    exclude = ("report",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CalibrationRun]:
        return super().get_queryset(request).select_related("created_by").defer("report")


@admin.register(CalibrationParamSet)
class CalibrationParamSetAdmin(_ReadOnly):
    list_display = (
        "id",
        "currency",
        "status",
        "source_run",
        "decision",
        "decided_by",
        "decided_at",
        "created_at",
    )
    list_filter = ("status", "currency", "decision")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # every set stays: backtests name the set they were priced with
