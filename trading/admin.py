from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from trading.models import AgentTick, MarketSnapshot, Strategy
from trading.services.strategies import strategy_clean, strategy_set_enabled


class StrategyAdminForm(forms.ModelForm):
    class Meta:
        model = Strategy
        fields = (
            "name",
            "description",
            "logic_kind",
            "risk_profile",
            "underlyings",
            "option_types",
            "decision_mode",
            "priority",
            "parameters",
            "risk_limits",
            "enabled",
            "approved_for_live",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Fields that failed their own parsing (e.g. invalid JSON) already carry an error.
        needed = ("logic_kind", "underlyings", "option_types", "parameters", "risk_limits")
        if any(name not in data for name in needed):
            return data
        try:
            data.update(strategy_clean(**{name: data[name] for name in needed}))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    form = StrategyAdminForm
    list_display = (
        "name",
        "logic_kind",
        "risk_profile",
        "decision_mode",
        "priority",
        "underlyings",
        "enabled",
        "approved_for_live",
        "updated_at",
    )
    list_filter = ("enabled", "approved_for_live", "logic_kind", "risk_profile", "decision_mode")
    search_fields = ("name", "description")
    readonly_fields = ("created_at", "updated_at")
    actions = ("enable_strategies", "disable_strategies")

    @admin.action(description="Enable selected strategies")
    def enable_strategies(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for strategy in queryset:
            strategy_set_enabled(strategy=strategy, enabled=True)
        self.message_user(request, f"Enabled {queryset.count()} strategies.", messages.SUCCESS)

    @admin.action(description="Disable selected strategies")
    def disable_strategies(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for strategy in queryset:
            strategy_set_enabled(strategy=strategy, enabled=False)
        self.message_user(request, f"Disabled {queryset.count()} strategies.", messages.SUCCESS)


@admin.register(AgentTick)
class AgentTickAdmin(admin.ModelAdmin):
    list_display = ("started_at", "status", "finished_at", "message")
    list_filter = ("status",)
    readonly_fields = ("started_at", "finished_at", "status", "message", "summary")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(MarketSnapshot)
class MarketSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are what the agent saw; the rows are shown, never edited."""

    list_display = (
        "taken_at",
        "currency",
        "environment",
        "index_price",
        "dvol",
        "row_count",
        "quality_ok",
        "problem_summary",
    )
    list_filter = ("currency", "quality_ok", "source", "environment")
    date_hierarchy = "taken_at"
    exclude = ("rows",)
    readonly_fields = (
        "currency",
        "taken_at",
        "data_timestamp",
        "source",
        "environment",
        "index_price",
        "dvol",
        "row_count",
        "quality_ok",
        "problems",
        "warnings",
        "rows_format",
        "rows_sha256",
        "created_at",
        "rows_preview",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[MarketSnapshot]:
        return super().get_queryset(request).defer("rows")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MarketSnapshot | None = None) -> bool:
        return False

    @admin.display(description="problems")
    def problem_summary(self, obj: MarketSnapshot) -> str:
        return "; ".join(obj.problems)[:120]

    @admin.display(description="first options")
    def rows_preview(self, obj: MarketSnapshot) -> str:
        if obj.rows_format != MarketSnapshot.RowsFormat.PARQUET:
            return "(rows pruned)"
        columns = (
            "instrument_name",
            "underlying",
            "implied_volatility",
            "mark_price",
            "bid_price",
            "ask_price",
        )
        head = obj.frame().loc[:, list(columns)].head(20)
        header = format_html_join("", "<th>{}</th>", ((c,) for c in columns))
        body = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (format_html_join("", "<td>{}</td>", ((v,) for v in row)),)
                for row in head.itertuples(index=False)
            ),
        )
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, body)
