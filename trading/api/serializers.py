from __future__ import annotations

from typing import Any

from rest_framework import serializers

from trading.models import Strategy
from trading.strategies.params import DecisionMode, LogicKind, RiskProfile


class StrategyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Strategy
        fields = (
            "id",
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
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class StrategyInputSerializer(serializers.Serializer):
    """What a client may send; the registry's own validation (shared with admin) runs in the service."""

    name = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True)
    logic_kind = serializers.ChoiceField(choices=[k.value for k in LogicKind])
    risk_profile = serializers.ChoiceField(choices=[p.value for p in RiskProfile], required=False)
    underlyings = serializers.JSONField()
    option_types = serializers.JSONField()
    decision_mode = serializers.ChoiceField(choices=[m.value for m in DecisionMode], required=False)
    priority = serializers.IntegerField(required=False, min_value=0, max_value=32767)
    parameters = serializers.JSONField()
    risk_limits = serializers.JSONField(required=False)
    enabled = serializers.BooleanField(required=False)
    approved_for_live = serializers.BooleanField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = set(data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return super().to_internal_value(data)


class StrategyEnabledSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(read_only=True)
