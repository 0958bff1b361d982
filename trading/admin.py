from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from trading.models import AgentTick, Strategy
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
