"""The agent API: its status and kill switch, per-strategy figures, and its records.

Viewers read; operators engage and reset the kill switch (``optionsbot.permissions``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from trading.agent.state import kill_switch_engage, kill_switch_payload, kill_switch_reset
from trading.api.agent_filters import (
    AgentEventFilter,
    DecisionFilter,
    FillFilter,
    OrderFilter,
    PositionFilter,
)
from trading.api.agent_serializers import (
    AgentEventOutputSerializer,
    AgentStatusOutputSerializer,
    DecisionDetailOutputSerializer,
    DecisionOutputSerializer,
    FillOutputSerializer,
    KillSwitchEngageInputSerializer,
    KillSwitchOutputSerializer,
    OrderOutputSerializer,
    PositionOutputSerializer,
    StrategyStatusOutputSerializer,
)
from trading.models import AgentEvent, Decision, Fill, Order, Position
from trading.selectors.agent import (
    agent_event_list,
    agent_status_get,
    decision_detail_list,
    decision_list,
    fill_list,
    order_list,
    position_list,
    strategy_status_list,
)


class AgentStatusView(APIView):
    """Where the agent trades, its schedule, last tick, reconciliation, kill switch and account."""

    @extend_schema(responses=AgentStatusOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(AgentStatusOutputSerializer(agent_status_get()).data)


class KillSwitchEngageView(APIView):
    """Stop trading: from the next tick only closing and cancelling pass. Operators only."""

    @extend_schema(
        request=KillSwitchEngageInputSerializer,
        responses={
            200: KillSwitchOutputSerializer,
            400: OpenApiResponse(description="No reason given, or a reason over 500 characters."),
        },
    )
    def post(self, request: Request) -> Response:
        data = KillSwitchEngageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        state = kill_switch_engage(
            reason=data.validated_data["reason"], by=request.user.get_username(), now=timezone.now()
        )
        return Response(KillSwitchOutputSerializer(kill_switch_payload(state)).data)


class KillSwitchResetView(APIView):
    """Let the agent trade again: lifts a manual halt and any automatic trip. Operators only."""

    @extend_schema(request=None, responses=KillSwitchOutputSerializer)
    def post(self, request: Request) -> Response:
        state = kill_switch_reset(by=request.user.get_username(), now=timezone.now())
        return Response(KillSwitchOutputSerializer(kill_switch_payload(state)).data)


class StrategyStatusView(generics.GenericAPIView[Any]):
    """Per strategy: decision mode, enabled, open positions, premium and realised P&L, last decision."""

    serializer_class = StrategyStatusOutputSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(responses=StrategyStatusOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(StrategyStatusOutputSerializer(strategy_status_list(), many=True).data)


class DecisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Decision]):
    """Every proposal of every strategy with its verdict, newest first; the detail adds the
    candidates, scores, LLM output and orders."""

    filterset_class = DecisionFilter

    def get_queryset(self) -> QuerySet[Decision]:
        return decision_detail_list() if self.action == "retrieve" else decision_list()

    def get_serializer_class(self) -> type[BaseSerializer[Decision]]:
        if self.action == "retrieve":
            return DecisionDetailOutputSerializer
        return DecisionOutputSerializer


class OrderViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Order]):
    """Orders the agent recorded or sent, newest first."""

    serializer_class = OrderOutputSerializer
    filterset_class = OrderFilter

    def get_queryset(self) -> QuerySet[Order]:
        return order_list()


class FillViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Fill]):
    """Trades on the exchange, newest first."""

    serializer_class = FillOutputSerializer
    filterset_class = FillFilter

    def get_queryset(self) -> QuerySet[Fill]:
        return fill_list()


class PositionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Position]):
    """Each strategy's positions, soonest expiry first."""

    serializer_class = PositionOutputSerializer
    filterset_class = PositionFilter

    def get_queryset(self) -> QuerySet[Position]:
        return position_list()


class AgentEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[AgentEvent]):
    """The agent's log, newest first: kill switch, reconciliation problems, errors."""

    serializer_class = AgentEventOutputSerializer
    filterset_class = AgentEventFilter

    def get_queryset(self) -> QuerySet[AgentEvent]:
        return agent_event_list()
