"""What a calibration run measures, as the owner states it (Calibration tab, REST API, ``manage.py
calibrate``), checked strictly in one place.

* ``source``: ``harvest`` (the harvester's snapshot folder, the default data path), ``files``
  (a snapshot folder written by ``import_chain`` or the harvester, or raw chain files: Tardis
  ``options_chain``, SVCJ snapshot CSVs) or ``live`` (one snapshot taken now from the exchange's
  public endpoints; the simulated exchange in ``TRADING_MODE=sim``).
* ``fit_start``/``fit_end``: the window the parameters are fitted on. Without it nothing is
  fitted: the run measures how far the parameters in use are from the market.
* ``test_start``/``test_end``: the window the errors are measured on; by default everything after
  the fit window (everything, without a fit). Windows are half-open, [start, end), UTC, and the
  test window may not overlap the fit window (the check must be on data the fit never saw).
* ``history_path``: an underlying-history file (a CSV with time and close columns, or a
  ``fetch_history`` file) for realised volatility; by default the snapshots' own index prices.

Errors come as ``{field: [messages]}`` (:class:`~backtests.spec.SpecError`), like backtest specs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backtests.spec import NON_FIELD, FieldErrors, SpecError


class CalibrationSource(StrEnum):
    FILES = "files"
    HARVEST = "harvest"
    LIVE = "live"


WINDOWS = (("fit_start", "fit_end"), ("test_start", "test_end"))


class CalibrationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", max_length=120, description="A label for the run.")
    source: CalibrationSource
    data_path: str | None = Field(default=None, description="files: required; harvest: default folder.")
    currencies: tuple[str, ...] = ("BTC",)
    history_path: str | None = Field(default=None, description="An optional underlying-history file.")
    fit_start: datetime | None = None
    fit_end: datetime | None = None
    test_start: datetime | None = None
    test_end: datetime | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return "" if v is None else v.strip() if isinstance(v, str) else v

    @field_validator("data_path", "history_path", mode="before")
    @classmethod
    def _path(cls, v: Any) -> Any:
        if isinstance(v, str):
            return v.strip() or None
        return v

    @field_validator("fit_start", "fit_end", "test_start", "test_end")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    @field_validator("currencies", mode="before")
    @classmethod
    def _currency_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("currencies")
    @classmethod
    def _currencies(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(sorted({c.strip().upper() for c in v}))
        if not out or any(c not in ("BTC", "ETH") for c in out):
            raise ValueError("choose BTC and/or ETH")
        return out

    @property
    def fitted(self) -> bool:
        return self.fit_start is not None

    def window(self, which: str) -> tuple[datetime | None, datetime | None]:
        """``fit`` or ``test``: (start, end) as given (``None`` where open)."""
        return getattr(self, f"{which}_start"), getattr(self, f"{which}_end")


def _pydantic_errors(exc: ValidationError) -> FieldErrors:
    errors: FieldErrors = {}
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or NON_FIELD
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "Unknown field."
        elif err["type"] == "missing":
            message = "This field is required."
        errors.setdefault(field, []).append(message)
    return errors


def _cross_errors(spec: CalibrationSpec) -> FieldErrors:
    errors: FieldErrors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for start, end in WINDOWS:
        a, b = getattr(spec, start), getattr(spec, end)
        what = "fit" if start.startswith("fit") else "test"
        if (a is None) != (b is None):
            add(end if a is not None else start, f"Give both ends of the {what} window, or neither.")
        elif a is not None and b is not None and b <= a:
            add(end, f"The {what} window must end after it starts.")
    if spec.source is CalibrationSource.LIVE:
        for field in ("fit_start", "fit_end", "test_start", "test_end"):
            if getattr(spec, field) is not None:
                add(
                    field,
                    "A live snapshot is one moment: it can only measure the parameters in use. "
                    "To fit, use harvested or imported snapshots.",
                )
        if spec.data_path:
            add("data_path", "A live snapshot is taken from the exchange; it reads no files.")
    elif spec.source is CalibrationSource.FILES and not spec.data_path:
        add("data_path", "Give the folder or file of the option-chain snapshots.")
    fit, test = (spec.fit_start, spec.fit_end), (spec.test_start, spec.test_end)
    if None not in fit and None not in test and not errors:
        assert fit[0] and fit[1] and test[0] and test[1]
        if test[0] < fit[1] and fit[0] < test[1]:
            add(
                "test_start",
                "The test window overlaps the fit window: the fit must be checked on data it never saw.",
            )
    return errors


def _path_errors(spec: CalibrationSpec) -> FieldErrors:
    errors: FieldErrors = {}
    if spec.data_path and not Path(spec.data_path).exists():
        if spec.source is CalibrationSource.HARVEST:
            message = (
                f"The harvester has recorded nothing yet at {spec.data_path}: while the app runs it "
                "records one snapshot an hour (the 'chain harvester' schedule)."
            )
        else:
            message = f"No file or folder at {spec.data_path}."
        errors["data_path"] = [message]
    if spec.history_path and not Path(spec.history_path).is_file():
        errors["history_path"] = [f"No file at {spec.history_path}."]
    return errors


def calibration_spec_validate(data: Any, *, harvest_root: Path) -> CalibrationSpec:
    """Check a calibration request (a JSON object or a :class:`CalibrationSpec`) and fill in the
    default harvest folder; raises :class:`~backtests.spec.SpecError` with every error found."""
    if isinstance(data, CalibrationSpec):
        spec = data
    elif not isinstance(data, dict):
        raise SpecError({NON_FIELD: ["Send a JSON object."]})
    else:
        try:
            spec = CalibrationSpec.model_validate(data)
        except ValidationError as exc:
            raise SpecError(_pydantic_errors(exc)) from exc
    errors = _cross_errors(spec)
    if errors:
        raise SpecError(errors)
    if spec.source is CalibrationSource.HARVEST and not spec.data_path:
        spec = spec.model_copy(update={"data_path": str(harvest_root)})
    errors = _path_errors(spec)
    if errors:
        raise SpecError(errors)
    return spec


_WINDOW = re.compile(r"^\s*(\S+?)\s*(?:/|\.\.|:)\s*(\d{4}-\d{2}-\d{2}\S*)\s*$")


def parse_window(text: str, *, option: str) -> tuple[str, str]:
    """``START:END`` (also ``START/END`` or ``START..END``) of dates or ISO times, e.g.
    ``2026-02-01:2026-02-05`` or ``2026-02-01T00:00Z:2026-02-05T12:00Z``; raises ``ValueError``."""
    m = _WINDOW.match(text)
    if m is None:
        raise ValueError(f"{option} {text!r} is not START:END (e.g. 2026-02-01:2026-02-05)")
    return m.group(1), m.group(2)


def day_windows(*, today: datetime, fit_days: int, test_days: int) -> dict[str, datetime]:
    """The schedule's windows: the last ``test_days`` whole UTC days before ``today`` to test on,
    the ``fit_days`` before them to fit on."""
    midnight = today.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    test_start = midnight - timedelta(days=test_days)
    return {
        "fit_start": test_start - timedelta(days=fit_days),
        "fit_end": test_start,
        "test_start": test_start,
        "test_end": midnight,
    }
