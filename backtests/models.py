"""Backtest jobs: a run (its inputs, status, progress and results) and a sweep of runs over a grid.

A run stores its resolved inputs (``backtests.spec.ResolvedBacktest``: the full effective
parameters, not only the overrides), so it can be repeated after its registry strategy changes.
Results are JSON: metrics, an equity curve of at most about 2000 points, round trips and fills.
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


class BacktestRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

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
    # Job state.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="backtest_run_stale_idx")]

    def __str__(self) -> str:
        return f"backtest {self.pk} {self.name or self.strategy_name or self.logic_kind} ({self.status})"

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
