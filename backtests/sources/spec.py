"""What market a backtest runs on, as the owner states it (form, REST API, command line).

Validated strictly (unknown fields refused, times aware UTC, the end after the start); the source
modules turn a :class:`SourceSpec` into engine steps.

* ``synthetic``: an underlying history turned into Deribit-like chains at every ``step``. The
  history is a seeded generator (``history="generator"``, offline), a file written by
  ``manage.py fetch_history`` (``history="deribit"``) or any CSV with a time and a close column
  (``history="csv"``), given by ``data_path``.
* ``files``: recorded chains imported with ``manage.py import_chain`` (the harvester's files,
  Tardis ``options_chain``, the SVCJ daily set) under ``data_path``; ``step`` thins them (the first
  snapshot of each step is used).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MIN_STEP = timedelta(minutes=1)
MAX_STEP = timedelta(days=7)


def step_delta(text: str) -> timedelta:
    """A duration such as ``1h``, ``90min``, ``1d`` or ``1w``; pandas' upper-case day and week
    units are accepted in lower case too."""
    return pd.Timedelta(
        re.sub(r"(?<=\d)\s*([dw])(?![a-z])", lambda m: m.group(1).upper(), text)
    ).to_pytimedelta()


class SourceKind(StrEnum):
    SYNTHETIC = "synthetic"
    FILES = "files"


class HistoryOrigin(StrEnum):
    GENERATOR = "generator"
    DERIBIT = "deribit"
    CSV = "csv"


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SourceKind
    start: datetime
    end: datetime
    step: str = Field(default="1h", description="time between steps, e.g. 1h, 4h, 1d")
    currencies: tuple[str, ...] = ("BTC",)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    history: HistoryOrigin = HistoryOrigin.GENERATOR
    drift_pct: float = Field(
        default=0.0,
        ge=-90.0,
        le=200.0,
        description="generator only: the index's expected return per year, percent (0 = no trend)",
    )
    vol_pct: float | None = Field(
        default=None,
        gt=5.0,
        le=300.0,
        description="generator only: the index's long-run volatility, percent (default: BTC 40, ETH 53.5)",
    )
    data_path: str | None = Field(
        default=None, description="files: folder of imported chains; synthetic: the history file"
    )

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v.astimezone(UTC)

    @field_validator("step")
    @classmethod
    def _step(cls, v: str) -> str:
        try:
            td = step_delta(v)
        except (ValueError, TypeError) as e:
            raise ValueError(f"not a duration: {v!r} (use e.g. 1h, 4h, 1d)") from e
        if not MIN_STEP <= td <= MAX_STEP:
            raise ValueError(f"must be between {MIN_STEP} and {MAX_STEP}")
        return v

    @field_validator("currencies")
    @classmethod
    def _currencies(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(sorted({c.upper() for c in v}))
        if not out or any(c not in ("BTC", "ETH") for c in out):
            raise ValueError("choose BTC and/or ETH")
        return out

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        generated = self.kind is SourceKind.SYNTHETIC and self.history is HistoryOrigin.GENERATOR
        if not generated and (self.drift_pct != 0.0 or self.vol_pct is not None):
            raise ValueError("drift_pct and vol_pct apply to the seeded generator only")
        needs_path = self.kind is SourceKind.FILES or self.history is not HistoryOrigin.GENERATOR
        if needs_path and not self.data_path:
            raise ValueError("data_path is required for this source")
        return self

    @property
    def step_timedelta(self) -> timedelta:
        return step_delta(self.step)
