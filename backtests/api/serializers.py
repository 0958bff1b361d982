"""Input and output serializers of the backtest API.

The input serializers describe the request bodies for the OpenAPI document; the bodies themselves
are validated by ``backtests.spec`` (the path ``manage.py backtest`` takes too), so a field's
rules and messages are the same everywhere. Errors use dotted keys: ``parameters.delta_max``,
``source.start``. Results are floats in JSON, units in the names (``*_coin``, ``*_usd``, ``*_pct``).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backtests.engine.fills import FillPrice
from backtests.models import BacktestRun, BacktestSweep
from backtests.sources.spec import HistoryOrigin, SourceKind
from trading.strategies.params import LogicKind

# --- Input (documentation of the bodies) ----------------------------------------------------------


class SourceInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[k.value for k in SourceKind])
    start = serializers.DateTimeField(help_text="ISO 8601; naive times are UTC.")
    end = serializers.DateTimeField(help_text="ISO 8601, after start.")
    step = serializers.CharField(required=False, default="1h", help_text="Time between steps: 1h, 4h, 1d.")
    currencies = serializers.ListField(
        child=serializers.CharField(), required=False, help_text='BTC and/or ETH; default ["BTC"].'
    )
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**32 - 1)
    history = serializers.ChoiceField(choices=[h.value for h in HistoryOrigin], required=False)
    data_path = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="files: the folder of imported chains; synthetic with deribit/csv history: the file.",
    )


class FillInputSerializer(serializers.Serializer):
    price = serializers.ChoiceField(choices=[p.value for p in FillPrice], required=False)
    slippage_pct = serializers.FloatField(required=False, min_value=0.0, max_value=99.999)
    respect_limit = serializers.BooleanField(required=False)
    max_oi_pct = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=100.0)


class BacktestInputSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=120)
    strategy = serializers.CharField(
        required=False, allow_null=True, help_text="A registry strategy's name; null for an ad-hoc kind."
    )
    logic_kind = serializers.ChoiceField(
        choices=[k.value for k in LogicKind],
        required=False,
        allow_null=True,
        help_text="Required when strategy is null; else taken from the strategy.",
    )
    parameters = serializers.DictField(
        required=False,
        help_text="Overrides of the strategy's parameters (an ad-hoc kind starts from its conservative "
        "preset), validated like the registry.",
    )
    underlyings = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text="BTC and/or ETH, within source.currencies; default: the strategy's.",
    )
    source = SourceInputSerializer()  # type: ignore[assignment]  # a field named like Field.source
    initial_balance_coin = serializers.DictField(
        child=serializers.FloatField(),
        required=False,
        allow_null=True,
        help_text="Default 1 coin per currency.",
    )
    fill = FillInputSerializer(required=False)
    risk_free_rate = serializers.FloatField(required=False, help_text="Annual, decimal (0.04 = 4 %).")


class SweepInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    base = BacktestInputSerializer()
    grid = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text='Values per parameter (or dotted field, e.g. "source.seed"); at most 200 combinations.',
    )


# --- Output ---------------------------------------------------------------------------------------


class ProgressOutputSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done")
    total = serializers.IntegerField(source="progress_total")
    fraction = serializers.FloatField(source="progress_fraction", help_text="0 to 1.")
    eta_seconds = serializers.FloatField(allow_null=True, help_text="Estimated time left; null when unknown.")


class BacktestRunOutputSerializer(serializers.ModelSerializer):
    strategy = serializers.SerializerMethodField()
    progress = ProgressOutputSerializer(source="*")
    error = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    sweep = serializers.IntegerField(source="sweep_id", allow_null=True)
    parameters = serializers.JSONField(help_text="The full effective parameters.")
    underlyings = serializers.ListField(child=serializers.CharField())
    source = serializers.JSONField()  # type: ignore[assignment]  # a field named like Field.source
    initial_balance_coin = serializers.DictField(child=serializers.FloatField())
    fill = serializers.JSONField()
    metrics = serializers.JSONField(allow_null=True, help_text="See GET /api/backtests/metrics/.")
    decisions = serializers.JSONField(
        help_text="Proposals by action and verdict ('outcomes') and the most frequent reasons for holds, "
        "refusals and unfilled legs ('reasons': [{reason, count}]); numbers in reasons are shown as #."
    )
    calibration = serializers.JSONField(
        help_text="Synthetic prices: the calibrated parameter set used per currency ({set_id, parameters}); "
        "empty: the generator's defaults (or recorded prices)."
    )

    class Meta:
        model = BacktestRun
        fields = (
            "id",
            "name",
            "strategy",
            "logic_kind",
            "parameters",
            "underlyings",
            "source",
            "initial_balance_coin",
            "fill",
            "risk_free_rate",
            "seed",
            "status",
            "progress",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "created_by",
            "sweep",
            "source_description",
            "provenance",
            "metrics",
            "decisions",
            "calibration",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_strategy(self, run: BacktestRun) -> str | None:
        return run.strategy_name or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, run: BacktestRun) -> str | None:
        return run.error or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, run: BacktestRun) -> str | None:
        return run.created_by.get_username() if run.created_by is not None else None


class EquityOutputSerializer(serializers.Serializer):
    points = serializers.ListField(
        child=serializers.DictField(),
        help_text="backtests.metrics.equity_curve rows: at, currencies {...}, total {...}.",
    )


class FillRowOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    strategy = serializers.CharField()
    currency = serializers.CharField()
    instrument_name = serializers.CharField()
    side = serializers.CharField(help_text="buy or sell.")
    kind = serializers.CharField(help_text="open, close or settle.")
    size_contracts = serializers.FloatField()
    price_coin = serializers.FloatField(allow_null=True)
    fee_coin = serializers.FloatField(allow_null=True)
    index_price_usd = serializers.FloatField(allow_null=True)
    provenance = serializers.CharField()


class TradesOutputSerializer(serializers.Serializer):
    round_trips = serializers.ListField(
        child=serializers.DictField(), help_text="backtests.metrics.trade_rows rows, in the order they ended."
    )
    fills = FillRowOutputSerializer(many=True)


class MetricDefOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    unit = serializers.CharField()
    help = serializers.CharField()
    higher_is_better = serializers.BooleanField(allow_null=True)
    group = serializers.CharField()


class MetricDefsOutputSerializer(serializers.Serializer):
    metrics = MetricDefOutputSerializer(many=True)


class CompareRunOutputSerializer(serializers.ModelSerializer):
    strategy = serializers.SerializerMethodField()
    parameters = serializers.JSONField()
    source = serializers.JSONField()  # type: ignore[assignment]  # a field named like Field.source
    metrics = serializers.JSONField(allow_null=True)

    class Meta:
        model = BacktestRun
        fields = ("id", "name", "strategy", "status", "parameters", "source", "metrics")
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_strategy(self, run: BacktestRun) -> str | None:
        return run.strategy_name or None


class CompareOutputSerializer(serializers.Serializer):
    runs = CompareRunOutputSerializer(many=True)


class CompareQuerySerializer(serializers.Serializer):
    ids = serializers.CharField(help_text="Run ids, comma-separated (at most 12).")

    def validate_ids(self, value: str) -> list[int]:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise serializers.ValidationError("Give run ids separated by commas, e.g. 1,2,3.")
        ids = list(dict.fromkeys(int(p) for p in parts))
        if len(ids) > 12:
            raise serializers.ValidationError("Compare at most 12 runs.")
        return ids


class SweepCreatedOutputSerializer(serializers.ModelSerializer):
    runs = serializers.SerializerMethodField()

    class Meta:
        model = BacktestSweep
        fields = ("id", "name", "runs")
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_runs(self, sweep: BacktestSweep) -> list[int]:
        return sorted(sweep.runs.values_list("id", flat=True))


class SweepOutputSerializer(serializers.ModelSerializer):
    grid = serializers.JSONField()
    runs = BacktestRunOutputSerializer(many=True, read_only=True)

    class Meta:
        model = BacktestSweep
        fields = ("id", "name", "grid", "created_at", "runs")
        read_only_fields = fields
