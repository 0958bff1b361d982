"""The live domain's tables."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from trading.strategies.params import DecisionMode, LogicKind, RiskProfile

STRATEGY_NAME_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_\-]{1,63}$",
    "Use 2 to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit.",
)


class Strategy(models.Model):
    """A named, configured strategy in the registry; its logic lives in ``trading.strategies``."""

    name = models.CharField(max_length=64, unique=True, validators=[STRATEGY_NAME_VALIDATOR])
    description = models.TextField(blank=True)
    logic_kind = models.CharField(max_length=32, choices=[(k.value, k.value) for k in LogicKind])
    risk_profile = models.CharField(
        max_length=16,
        choices=[(p.value, p.value.title()) for p in RiskProfile],
        default=RiskProfile.CONSERVATIVE.value,
    )
    underlyings = models.JSONField(default=list, help_text='Underlyings it may trade, e.g. ["BTC", "ETH"].')
    option_types = models.JSONField(default=list, help_text='Option types it may trade, e.g. ["call"].')
    decision_mode = models.CharField(
        max_length=16,
        choices=[
            (DecisionMode.RULES.value, "Rules"),
            (DecisionMode.LLM.value, "LLM"),
            (DecisionMode.SHADOW.value, "Shadow (rules decide, LLM recorded)"),
        ],
        default=DecisionMode.RULES.value,
    )
    parameters = models.JSONField(default=dict, help_text="Validated against the logic kind's schema.")
    risk_limits = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per-strategy limits for the risk engine; empty means the defaults.",
    )
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="When strategies compete for the same limit, the lower number goes first."
    )
    enabled = models.BooleanField(default=False)
    approved_for_live = models.BooleanField(
        default=False, help_text="Needed before this strategy may trade on a live (non-simulated) exchange."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"

    def __str__(self) -> str:
        return self.name


class AgentTick(models.Model):
    """One run of the agent's periodic tick: when it ran, how long, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    message = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"tick {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"

    @property
    def duration_ms(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000.0
