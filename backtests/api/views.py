"""The backtest API: runs (create, list, read, results, cancel, compare) and sweeps.

Viewers read; operators create and cancel (``optionsbot.permissions``). Runs execute on the
``backtests`` Celery queue; progress is pushed over ``/ws/live/`` (``backtest.progress`` and
``backtest.finished``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from backtests.api.filters import BacktestRunFilter
from backtests.api.serializers import (
    BacktestInputSerializer,
    BacktestRunOutputSerializer,
    CompareOutputSerializer,
    CompareQuerySerializer,
    EquityOutputSerializer,
    MetricDefsOutputSerializer,
    SweepCreatedOutputSerializer,
    SweepInputSerializer,
    SweepOutputSerializer,
    TradesOutputSerializer,
)
from backtests.metrics import METRICS
from backtests.models import BacktestRun, BacktestSweep
from backtests.selectors import (
    MAX_COMPARE,
    backtest_run_list,
    backtest_runs_by_ids,
    backtest_sweep_list,
)
from backtests.services import (
    RunFinishedError,
    backtest_run_cancel,
    backtest_run_create,
    backtest_runs_fail_stale,
    backtest_sweep_create,
)
from backtests.spec import SpecError

SPEC_ERRORS = OpenApiResponse(
    description='Invalid input: {"field.path": ["message"]}, e.g. "parameters.delta_max", "source.start".'
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The backtest already finished."
    default_code = "conflict"


class BacktestRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[BacktestRun]
):
    """Backtest runs, newest first. Equity and trades are separate endpoints (they are large)."""

    serializer_class = BacktestRunOutputSerializer
    filterset_class = BacktestRunFilter

    def get_queryset(self) -> QuerySet[BacktestRun]:
        if self.action in ("equity", "trades"):
            return BacktestRun.objects.all()
        return backtest_run_list()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        backtest_runs_fail_stale()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        backtest_runs_fail_stale()
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=BacktestInputSerializer, responses={201: BacktestRunOutputSerializer, 400: SPEC_ERRORS}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Queue a backtest; it runs on the ``backtests`` queue."""
        try:
            run = backtest_run_create(data=request.data, user=request.user)
        except SpecError as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return Response(BacktestRunOutputSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=EquityOutputSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def equity(self, request: Request, pk: str | None = None) -> Response:
        """The equity curve (at most about 2000 points), per currency and in total."""
        run = self.get_object()
        return Response(EquityOutputSerializer({"points": run.equity}).data)

    @extend_schema(responses=TradesOutputSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def trades(self, request: Request, pk: str | None = None) -> Response:
        """Completed round trips and every fill (settlements included)."""
        run = self.get_object()
        return Response(TradesOutputSerializer({"round_trips": run.round_trips, "fills": run.fills}).data)

    @extend_schema(
        request=None,
        responses={
            200: BacktestRunOutputSerializer,
            409: OpenApiResponse(description="The backtest already finished."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel: a queued run at once, a running one when its worker next checks (within a second)."""
        try:
            run = backtest_run_cancel(run=self.get_object())
        except RunFinishedError as exc:
            raise Conflict(f"The backtest already finished ({exc.run.status}).") from exc
        return Response(BacktestRunOutputSerializer(run).data)

    @extend_schema(responses=MetricDefsOutputSerializer)
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def metrics(self, request: Request) -> Response:
        """What each metric key means: label, unit, help, which way is better, group."""
        return Response(MetricDefsOutputSerializer({"metrics": METRICS}).data)

    @extend_schema(
        parameters=[CompareQuerySerializer],
        responses={
            200: CompareOutputSerializer,
            400: OpenApiResponse(description="Unknown or too many ids."),
        },
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def compare(self, request: Request) -> Response:
        """Runs side by side (at most 12): parameters, source and metrics, in the order asked."""
        query = CompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        runs, missing = backtest_runs_by_ids(ids=query.validated_data["ids"][:MAX_COMPARE])
        if missing:
            raise serializers.ValidationError(
                {"ids": [f"No backtest with id {', '.join(str(i) for i in missing)}."]}
            )
        return Response(CompareOutputSerializer({"runs": runs}).data)


class BacktestSweepViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[BacktestSweep]
):
    """Parameter sweeps: one run per combination of a grid over a base backtest."""

    serializer_class = SweepOutputSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[BacktestSweep]:
        return backtest_sweep_list()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        backtest_runs_fail_stale()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        backtest_runs_fail_stale()
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=SweepInputSerializer,
        responses={201: SweepCreatedOutputSerializer, 400: SPEC_ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Queue one run per grid combination (at most 200), every combination validated first."""
        body = request.data if isinstance(request.data, dict) else {}
        unknown = sorted(set(body) - {"name", "base", "grid"})
        if unknown or not isinstance(request.data, dict):
            detail = {k: ["Unknown field."] for k in unknown} or {"non_field_errors": ["Send a JSON object."]}
            raise serializers.ValidationError(detail)
        try:
            sweep = backtest_sweep_create(
                name=body.get("name"), base=body.get("base"), grid=body.get("grid"), user=request.user
            )
        except SpecError as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return Response(SweepCreatedOutputSerializer(sweep).data, status=status.HTTP_201_CREATED)
