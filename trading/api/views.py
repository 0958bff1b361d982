from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from trading.api.serializers import StrategyInputSerializer, StrategyOutputSerializer
from trading.models import Strategy
from trading.selectors.strategies import strategy_list
from trading.services.strategies import strategy_create, strategy_set_enabled, strategy_update


def _as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    if "__all__" in detail:
        detail["non_field_errors"] = detail.pop("__all__")
    return serializers.ValidationError(detail)


class StrategyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The strategy registry. Viewers read; operators create, change, enable and disable."""

    serializer_class = StrategyOutputSerializer
    filterset_fields = ("enabled", "logic_kind", "risk_profile", "decision_mode", "approved_for_live")
    lookup_field = "name"
    lookup_value_regex = r"[a-z0-9][a-z0-9_\-]*"

    def get_queryset(self) -> QuerySet[Strategy]:
        return strategy_list()

    @extend_schema(request=StrategyInputSerializer, responses={201: StrategyOutputSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = StrategyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            strategy = strategy_create(**data.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from exc
        return Response(StrategyOutputSerializer(strategy).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StrategyInputSerializer, responses=StrategyOutputSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        strategy = self.get_object()
        data = StrategyInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            strategy = strategy_update(strategy=strategy, **data.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from exc
        return Response(StrategyOutputSerializer(strategy).data)

    @extend_schema(request=None, responses=StrategyOutputSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, name: str | None = None) -> Response:
        strategy = strategy_set_enabled(strategy=self.get_object(), enabled=True)
        return Response(StrategyOutputSerializer(strategy).data)

    @extend_schema(request=None, responses=StrategyOutputSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, name: str | None = None) -> Response:
        strategy = strategy_set_enabled(strategy=self.get_object(), enabled=False)
        return Response(StrategyOutputSerializer(strategy).data)
