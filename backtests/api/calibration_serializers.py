"""Input and output serializers of the calibration API.

The input serializer documents the request body; the body itself is validated by
``backtests.calibration_spec`` (the path ``manage.py calibrate`` takes too), so a field's rules
and messages are the same everywhere. Error figures carry their unit in the name (``*_usd``,
``*_pct``, ``*_vol_pts``); implied volatilities in reports are decimals (0.55 = 55 %).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backtests.calibration_spec import CalibrationSource
from backtests.models import CalibrationParamSet, CalibrationRun

# --- Input (documentation of the body) -------------------------------------------------------------


class CalibrationRunInputSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field named like Field.source
        choices=[s.value for s in CalibrationSource],
        help_text="harvest: the harvester's snapshots; files: imported snapshot files or raw chain files; "
        "live: one snapshot taken now from the exchange.",
    )
    data_path = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="files: the folder or file on the server (required); harvest: by default the "
        "harvester's folder.",
    )
    currencies = serializers.ListField(
        child=serializers.CharField(), required=False, help_text='BTC and/or ETH; default ["BTC"].'
    )
    history_path = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="An underlying-history file (CSV or fetch_history) for realised vol; default the "
        "snapshots' index prices.",
    )
    fit_start = serializers.DateTimeField(required=False, allow_null=True, help_text="Fit window start, UTC.")
    fit_end = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Fit window end (exclusive). No fit window: nothing is fitted.",
    )
    test_start = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Test window start, UTC."
    )
    test_end = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Test window end (exclusive); default: everything after the fit window (or everything).",
    )


# --- Output ---------------------------------------------------------------------------------------


class CalibrationProgressOutputSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done")
    total = serializers.IntegerField(source="progress_total")
    fraction = serializers.FloatField(source="progress_fraction", help_text="0 to 1.")
    note = serializers.CharField(source="progress_note", help_text="What the run is doing now.")


class CalibrationParamSetBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = CalibrationParamSet
        fields = ("id", "currency", "status")
        read_only_fields = fields


class CalibrationRunOutputSerializer(serializers.ModelSerializer):
    progress = CalibrationProgressOutputSerializer(source="*")
    error = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    currencies = serializers.ListField(child=serializers.CharField())
    summary = serializers.JSONField(
        help_text="Per currency: the test window's headline errors (mae_vol_pts, mae_usd, mae_pct, "
        "vega_weighted_mae_pct, bias_vol_pts, inside_bid_ask_pct), samples and snapshots, what was "
        "evaluated (fitted or in_use), in_use_mae_vol_pts and policy_passed."
    )
    param_sets = CalibrationParamSetBriefSerializer(many=True, read_only=True)

    class Meta:
        model = CalibrationRun
        fields: tuple[str, ...] = (
            "id",
            "name",
            "source",
            "data_path",
            "currencies",
            "history_path",
            "fit_start",
            "fit_end",
            "test_start",
            "test_end",
            "trigger",
            "status",
            "progress",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "source_description",
            "summary",
            "param_sets",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, run: CalibrationRun) -> str | None:
        return run.error or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, run: CalibrationRun) -> str | None:
        return run.created_by.get_username() if run.created_by is not None else None


class CalibrationRunDetailOutputSerializer(CalibrationRunOutputSerializer):
    report = serializers.JSONField(
        allow_null=True,
        help_text="Per currency (currencies.{BTC}): in_use, evaluated, test (the test window's error report: "
        "overall, by_dte, by_delta, by_type, smiles, samples, snapshots, exclusions), and with a fit: "
        "fitted_parameters, fit, train, test_in_use and policy.",
    )

    class Meta(CalibrationRunOutputSerializer.Meta):
        fields = (*CalibrationRunOutputSerializer.Meta.fields, "report")
        read_only_fields = fields


class CalibrationParamSetOutputSerializer(serializers.ModelSerializer):
    parameters = serializers.JSONField(help_text="backtests.calibration.CalibrationParams, as JSON.")
    verdict = serializers.JSONField(
        help_text="The policy's verdict when fitted: passed, checks [{name, passed, text}], summary."
    )
    source_run = serializers.IntegerField(source="source_run_id", allow_null=True)
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = CalibrationParamSet
        fields = (
            "id",
            "currency",
            "status",
            "parameters",
            "source_run",
            "verdict",
            "decision",
            "decided_by",
            "decided_at",
            "reason",
            "retired_at",
            "retired_note",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by(self, param_set: CalibrationParamSet) -> str | None:
        return param_set.decided_by.get_username() if param_set.decided_by is not None else None
