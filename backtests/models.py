"""Backtest jobs: a run (its inputs, status, progress and results) and a sweep of runs over a grid;
calibration jobs: a run comparing synthetic option prices with market prices (and fitting them),
and the parameter sets the synthetic market is priced with.

A run stores its resolved inputs (``backtests.spec.ResolvedBacktest``: the full effective
parameters, not only the overrides), so it can be repeated after its registry strategy changes.
Results are JSON: metrics, an equity curve of at most about 2000 points, round trips and fills.
A synthetic backtest also stores the calibrated parameters it was priced with (``calibration``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BacktestSweep(models.Model):
    """A grid of parameter values over one base spec; one run per combination."""

    name = models.CharField(max_length=120)
    base_spec = models.JSONField(help_text="The spec every run starts from (as sent).")
    grid = models.JSONField(help_text='Values per field, e.g. {"delta_max": [0.2, 0.3]}.')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sweep {self.pk} {self.name}"


class JobRun(models.Model):
    """What every background run (a backtest, a calibration) has as a job: its status, the cancel
    flag, progress, its error, the Celery task and worker, the heartbeat and when it was created,
    started and finished. The services that move it are in :mod:`backtests.jobs`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The worker running it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def progress_fraction(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        if self.progress_total <= 0:
            return 0.0
        return min(1.0, self.progress_done / self.progress_total)


class BacktestRun(JobRun):
    name = models.CharField(max_length=200, blank=True)
    # Inputs (a ResolvedBacktest, field by field).
    strategy_name = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="The registry strategy; empty when ad hoc."
    )
    logic_kind = models.CharField(max_length=32)
    parameters = models.JSONField(help_text="The full effective parameters.")
    underlyings = models.JSONField()
    option_types = models.JSONField()
    risk_limits = models.JSONField(default=dict)
    priority = models.PositiveSmallIntegerField(default=100)
    source = models.JSONField(help_text="The market source (SourceSpec).")
    initial_balance_coin = models.JSONField(help_text="Coins held at the start, per currency.")
    fill = models.JSONField(help_text="The fill model: price (touch|mid) and slippage_pct.")
    risk_free_rate = models.FloatField(default=0.0, help_text="Annual, decimal.")
    seed = models.PositiveBigIntegerField(default=0)
    # Job state beyond JobRun's.
    eta_seconds = models.FloatField(null=True, blank=True)
    sweep = models.ForeignKey(
        BacktestSweep, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    # Results.
    source_description = models.TextField(blank=True)
    provenance = models.CharField(max_length=120, blank=True, help_text="Where the fill prices come from.")
    metrics = models.JSONField(null=True, blank=True)
    equity = models.JSONField(default=list, blank=True)
    round_trips = models.JSONField(default=list, blank=True)
    fills = models.JSONField(default=list, blank=True)
    decisions = models.JSONField(
        default=dict, blank=True, help_text="Proposals by action and verdict, and the most frequent reasons."
    )
    calibration = models.JSONField(
        default=dict,
        blank=True,
        help_text="The calibrated synthetic-price parameters the run was priced with, per currency: "
        "{set_id, parameters}. Empty: the generator's defaults (or recorded prices).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="backtest_run_stale_idx")]

    def __str__(self) -> str:
        return f"backtest {self.pk} {self.name or self.strategy_name or self.logic_kind} ({self.status})"


class CalibrationRun(JobRun):
    """One comparison of the synthetic model's option prices with market prices, optionally with a
    fit of its parameters on one window and a check of the fit on a later window.

    ``report`` is the whole result (``backtests.calibration_runner``: per currency the error report
    on the test window, the in-sample report and fitted parameters when fitted, and the policy's
    verdict); ``summary`` holds the headline figures per currency for lists and the error history.
    """

    class Source(models.TextChoices):
        FILES = "files", "Imported snapshot files"
        HARVEST = "harvest", "The harvester's snapshots"
        LIVE = "live", "A live snapshot from the exchange"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Started by a person"
        SCHEDULE = "schedule", "The daily schedule"

    name = models.CharField(max_length=120, blank=True)
    # Inputs.
    source = models.CharField(max_length=16, choices=Source.choices)
    data_path = models.CharField(max_length=500, blank=True, help_text="The snapshot folder or files.")
    currencies = models.JSONField(help_text='e.g. ["BTC", "ETH"].')
    history_path = models.CharField(
        max_length=500, blank=True, help_text="An optional underlying-history file (CSV or fetch_history)."
    )
    fit_start = models.DateTimeField(null=True, blank=True)
    fit_end = models.DateTimeField(null=True, blank=True, help_text="Exclusive.")
    test_start = models.DateTimeField(null=True, blank=True)
    test_end = models.DateTimeField(null=True, blank=True, help_text="Exclusive.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    # Job state beyond JobRun's.
    progress_note = models.CharField(max_length=200, blank=True, help_text="What the run is doing now.")
    # Results.
    source_description = models.TextField(blank=True)
    report = models.JSONField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Headline figures per currency.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="calibration_run_stale_idx")]

    def __str__(self) -> str:
        return f"calibration {self.pk} {self.name or self.source} ({self.status})"


class CalibrationParamSet(models.Model):
    """A set of synthetic-model parameters for one currency (``backtests.calibration.CalibrationParams``
    as JSON), from the run that fitted it.

    At most one set per currency is ``in_use``: synthetic backtests are priced with it (none: the
    generator's defaults). A set becomes in use by the policy (when its run's evidence is strong
    enough) or by an operator's approval; the set it replaces is retired. Rows are never deleted.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        IN_USE = "in_use", "In use"
        RETIRED = "retired", "Retired"

    class Decision(models.TextChoices):
        POLICY = "policy", "The policy"
        OPERATOR = "operator", "An operator"

    currency = models.CharField(max_length=8, db_index=True)
    parameters = models.JSONField()
    source_run = models.ForeignKey(
        CalibrationRun, null=True, blank=True, on_delete=models.PROTECT, related_name="param_sets"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    verdict = models.JSONField(
        default=dict, blank=True, help_text="The policy's verdict when the set was fitted: checks and words."
    )
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was put in use, or why not yet, in words.")
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"], condition=models.Q(status="in_use"), name="calibration_one_in_use"
            )
        ]

    def __str__(self) -> str:
        return f"calibration parameters {self.pk} {self.currency} ({self.status})"
