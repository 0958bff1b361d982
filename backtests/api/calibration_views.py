"""The calibration API: runs (create, list, read, cancel) and parameter sets (list, approve).

Viewers read; operators start and cancel runs and approve parameter sets
(``optionsbot.permissions``). Runs execute on the ``backtests`` Celery queue; progress is pushed
over ``/ws/live/`` (``calibration.progress``, ``calibration.finished``, ``calibration.params``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from backtests.api.calibration_serializers import (
    CalibrationParamSetOutputSerializer,
    CalibrationRunDetailOutputSerializer,
    CalibrationRunInputSerializer,
    CalibrationRunOutputSerializer,
)
from backtests.calibration_param_sets import AlreadyInUseError, calibration_params_approve
from backtests.calibration_selectors import calibration_param_sets, calibration_run_list
from backtests.calibration_services import (
    CalibrationFinishedError,
    calibration_run_cancel,
    calibration_run_create,
    calibration_runs_fail_stale,
)
from backtests.models import CalibrationParamSet, CalibrationRun
from backtests.spec import SpecError


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class CalibrationRunFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CalibrationRun.Status.choices)

    class Meta:
        model = CalibrationRun
        fields = ("status",)


class CalibrationParamSetFilter(filters.FilterSet):
    currency = filters.ChoiceFilter(choices=[("BTC", "BTC"), ("ETH", "ETH")])
    status = filters.ChoiceFilter(choices=CalibrationParamSet.Status.choices)

    class Meta:
        model = CalibrationParamSet
        fields = ("currency", "status")


class CalibrationRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[CalibrationRun]
):
    """Calibration runs, newest first; the full report only in a run's own view."""

    filterset_class = CalibrationRunFilter

    def get_queryset(self) -> QuerySet[CalibrationRun]:
        sets = Prefetch(
            "param_sets", queryset=CalibrationParamSet.objects.only("id", "currency", "status", "source_run")
        )
        if self.action == "retrieve":
            return CalibrationRun.objects.select_related("created_by").prefetch_related(sets)
        return calibration_run_list().prefetch_related(sets)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "retrieve":
            return CalibrationRunDetailOutputSerializer
        return CalibrationRunOutputSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        calibration_runs_fail_stale()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        calibration_runs_fail_stale()
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=CalibrationRunInputSerializer,
        responses={
            201: CalibrationRunOutputSerializer,
            400: OpenApiResponse(
                description='Invalid input: {"field": ["message"]}, e.g. "fit_end", "data_path".'
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Queue a calibration; it runs on the ``backtests`` queue."""
        try:
            run = calibration_run_create(data=request.data, user=request.user)
        except SpecError as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return Response(CalibrationRunOutputSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: CalibrationRunOutputSerializer,
            409: OpenApiResponse(description="The calibration already finished."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel: a queued run at once, a running one after its current stage."""
        try:
            run = calibration_run_cancel(run=self.get_object())
        except CalibrationFinishedError as exc:
            raise Conflict(f"The calibration already finished ({exc.run.status}).") from exc
        return Response(CalibrationRunOutputSerializer(run).data)


class CalibrationParamSetViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[CalibrationParamSet]):
    """Synthetic-price parameter sets, newest first: at most one in use per currency (none: the
    generator's defaults), proposals waiting for approval, and retired sets."""

    serializer_class = CalibrationParamSetOutputSerializer
    filterset_class = CalibrationParamSetFilter

    def get_queryset(self) -> QuerySet[CalibrationParamSet]:
        return calibration_param_sets()

    @extend_schema(
        request=None,
        responses={
            200: CalibrationParamSetOutputSerializer,
            409: OpenApiResponse(description="The set is already in use."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Put this set in use for its currency (a proposal, or a retired set to go back to); the set
        in use before is retired. Synthetic backtests started from now on are priced with it."""
        param_set = self.get_object()
        try:
            approved = calibration_params_approve(param_set=param_set, user=request.user)  # type: ignore[arg-type]
        except AlreadyInUseError as exc:
            raise Conflict(f"Set #{param_set.pk} is already in use.") from exc
        return Response(CalibrationParamSetOutputSerializer(approved).data)
