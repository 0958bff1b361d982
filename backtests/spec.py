"""What a backtest runs, as the owner states it (Lab form, REST API, ``manage.py backtest``).

A :class:`BacktestSpec` names a registry strategy, or an ad-hoc logic kind, with parameter
overrides, the market (:class:`~backtests.sources.spec.SourceSpec`), the starting coins, the fill
model and the risk-free rate. :func:`spec_validate` checks it strictly and resolves it into a
:class:`ResolvedBacktest`: every value the run depends on, with the full effective parameters, so
a stored run is reproducible even after its registry strategy changes.

Errors come as ``{dotted.field: [messages]}`` (``parameters.delta_max``, ``source.start``,
``source.data_path``); errors not tied to a field are under ``non_field_errors``.

Parameters are validated exactly like the registry validates them
(:func:`trading.strategies.params.validate_params`). An ad-hoc logic kind starts from its
conservative preset, a registry strategy from its own parameters; the overrides replace single
values. Backtests decide by rules: the LLM decision modes are for live trading.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backtests.engine import BacktestConfig, FillModel
from backtests.engine.fills import FillPrice
from backtests.sources.spec import SourceSpec
from trading.strategies.base import StrategyConfig
from trading.strategies.params import (
    LOGIC_OPTION_TYPES,
    DecisionMode,
    LogicKind,
    ParameterError,
    RiskProfile,
    Underlying,
    preset,
    validate_params,
    validate_risk_limits,
)

NON_FIELD = "non_field_errors"
AD_HOC_PROFILE = RiskProfile.CONSERVATIVE
"""The preset an ad-hoc logic kind's parameter overrides apply to."""
MAX_BALANCE_COIN = 1_000_000.0

FieldErrors = dict[str, list[str]]


class SpecError(ValueError):
    """The spec is invalid; ``errors`` maps a dotted field path to its messages."""

    def __init__(self, errors: FieldErrors) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))

    def one_line(self) -> str:
        """All errors on one line, for the command line."""
        return "; ".join(
            " ".join(msgs) if field == NON_FIELD else f"{field}: {' '.join(msgs)}"
            for field, msgs in self.errors.items()
        )


class FillSpec(BaseModel):
    """How approved legs fill: ``touch`` (bid/ask) or ``mid`` less ``slippage_pct`` percent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price: FillPrice = FillPrice.TOUCH
    slippage_pct: float = Field(
        default=0.0, ge=0.0, lt=100.0, description="With mid: percent of the mid given up on each fill."
    )
    respect_limit: bool = Field(
        default=True, description="Fill only at the order's limit price or better, as a limit order."
    )
    max_oi_pct: float | None = Field(
        default=None,
        gt=0.0,
        le=100.0,
        description="Partial fills: at most this percent of the option's open interest fills per step.",
    )

    def fill_model(self) -> FillModel:
        return FillModel(
            price=self.price,
            slippage_pct=self.slippage_pct,
            respect_limit=self.respect_limit,
            max_oi_pct=self.max_oi_pct,
        )


class BacktestSpec(BaseModel):
    """A backtest as asked for; :func:`spec_validate` resolves it against the registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", max_length=120, description="A label for the run.")
    strategy: str | None = Field(default=None, max_length=64, description="A registry strategy's name.")
    logic_kind: LogicKind | None = Field(
        default=None, description="Required without a strategy; with one it must match the strategy's."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the strategy's (or the preset's) parameters."
    )
    underlyings: tuple[Underlying, ...] | None = Field(
        default=None, description="Coins the strategy may trade; default: the strategy's, within the source."
    )
    source: SourceSpec
    initial_balance_coin: dict[str, float] | None = Field(
        default=None, description="Coins held at the start per currency; default 1 per source currency."
    )
    fill: FillSpec = Field(default_factory=FillSpec)
    risk_free_rate: float = Field(default=0.0, ge=-0.1, le=1.0, description="Annual, decimal (0.04 = 4 %).")

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return "" if v is None else v.strip() if isinstance(v, str) else v

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip()
            return v or None
        return v


class ResolvedBacktest(BaseModel):
    """Everything a run depends on, with the full effective parameters (what a run row stores)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    strategy: str | None
    """The registry strategy it came from, or ``None`` for an ad-hoc logic kind."""
    logic_kind: LogicKind
    parameters: dict[str, Any]
    underlyings: tuple[str, ...]
    option_types: tuple[str, ...]
    risk_limits: dict[str, Any]
    priority: int = 100
    source: SourceSpec
    initial_balance_coin: dict[str, float]
    fill: FillSpec
    risk_free_rate: float
    calibration: dict[str, Any] = Field(default_factory=dict)
    """Synthetic prices' calibrated parameters per currency, ``{set_id, parameters}`` (stored on the
    run, so a rerun prices the same); empty: the generator's defaults."""

    @property
    def strategy_label(self) -> str:
        """The strategy's name inside the run (trades and rounds carry it)."""
        return self.strategy or self.logic_kind.value

    @property
    def seed(self) -> int:
        return self.source.seed

    def strategy_config(self) -> StrategyConfig:
        return StrategyConfig.from_registry(
            name=self.strategy_label,
            logic_kind=self.logic_kind.value,
            parameters=dict(self.parameters),
            underlyings=list(self.underlyings),
            option_types=list(self.option_types),
            risk_limits=dict(self.risk_limits),
            decision_mode=DecisionMode.RULES.value,
            priority=self.priority,
        )

    def engine_config(self) -> BacktestConfig:
        """The engine's config; rounds are not kept (the stored results do not use them, and a
        year of hourly rounds would only cost memory)."""
        return BacktestConfig(
            strategies=(self.strategy_config(),),
            initial_balance_coin=dict(sorted(self.initial_balance_coin.items())),
            fill_model=self.fill.fill_model(),
            keep_rounds=False,
        )


@dataclass(frozen=True)
class RegistryStrategy:
    """What a backtest takes from a registry row."""

    name: str
    logic_kind: str
    parameters: Mapping[str, Any]
    underlyings: Sequence[str]
    option_types: Sequence[str]
    risk_limits: Mapping[str, Any]
    priority: int = 100


RegistryLookup = Callable[[str], RegistryStrategy | None]


# --- Validation ---------------------------------------------------------------------------------

_SOURCE_MODEL_ERRORS: tuple[tuple[str, str], ...] = (("end must", "end"), ("data_path", "data_path"))
"""Whole-source errors of ``SourceSpec`` and the field each one is about."""


def _add(errors: FieldErrors, field: str, message: str) -> None:
    errors.setdefault(field or NON_FIELD, []).append(message)


def _pydantic_errors(exc: ValidationError, *, prefix: str = "") -> FieldErrors:
    errors: FieldErrors = {}
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "Unknown field."
        elif err["type"] == "missing":
            message = "This field is required."
        if loc == ["source"] and err["type"] == "value_error":
            for needle, field in _SOURCE_MODEL_ERRORS:
                if needle in message:
                    loc = ["source", field]
                    break
        _add(errors, prefix + ".".join(loc), message)
    return errors


def _merge(into: FieldErrors, more: FieldErrors) -> None:
    for field, messages in more.items():
        into.setdefault(field, []).extend(messages)


def _parameter_errors(exc: ParameterError, *, prefix: str) -> FieldErrors:
    errors: FieldErrors = {}
    for field, messages in exc.errors.items():
        key = prefix if field == "__all__" else f"{prefix}.{field}"
        errors.setdefault(key, []).extend(messages)
    return errors


@dataclass(frozen=True)
class _Strategy:
    name: str | None
    kind: LogicKind
    parameters: dict[str, Any]
    underlyings: tuple[str, ...]
    option_types: tuple[str, ...]
    risk_limits: dict[str, Any]
    priority: int


def _resolve_strategy(
    *, strategy: Any, logic_kind: Any, parameters: Any, lookup: RegistryLookup, errors: FieldErrors
) -> _Strategy | None:
    """The strategy part: registry row or ad-hoc preset, with the overrides validated."""
    if not isinstance(parameters, dict):
        _add(errors, "parameters", "Parameters must be a JSON object of name: value pairs.")
        return None
    kind = LogicKind(logic_kind) if logic_kind is not None else None
    if strategy is not None:
        row = lookup(str(strategy))
        if row is None:
            _add(errors, "strategy", f"No strategy named {strategy!r} in the registry.")
            return None
        try:
            row_kind = LogicKind(row.logic_kind)
        except ValueError:
            _add(errors, "strategy", f"Strategy {row.name!r} has an unknown logic kind {row.logic_kind!r}.")
            return None
        if kind is not None and kind is not row_kind:
            _add(
                errors,
                "logic_kind",
                f"Strategy {row.name!r} is a {row_kind.value}; leave logic_kind out or choose that.",
            )
            return None
        base = dict(row.parameters)
        kind = row_kind
        name: str | None = row.name
        underlyings = tuple(sorted(str(u) for u in row.underlyings))
        option_types = tuple(sorted(str(t) for t in row.option_types))
        risk_limits: Any = dict(row.risk_limits)
        priority = row.priority
    elif kind is None:
        _add(errors, "logic_kind", "Choose a strategy from the registry, or a logic kind.")
        return None
    else:
        base = preset(kind, AD_HOC_PROFILE)
        name = None
        underlyings = tuple(u.value for u in Underlying)
        option_types = tuple(sorted(t.value for t in LOGIC_OPTION_TYPES[kind]))
        risk_limits = {}
        priority = 100
    try:
        effective = validate_params(kind, {**base, **parameters}).model_dump()
    except ParameterError as exc:
        _merge(errors, _parameter_errors(exc, prefix="parameters"))
        return None
    try:
        limits = validate_risk_limits(risk_limits).model_dump()
    except ParameterError as exc:
        _add(errors, "strategy", f"The strategy's risk limits are invalid: {exc}")
        return None
    return _Strategy(name, kind, effective, underlyings, option_types, limits, priority)


def _balances(spec: BacktestSpec, errors: FieldErrors) -> dict[str, float]:
    currencies = spec.source.currencies
    given = spec.initial_balance_coin or {}
    out = dict.fromkeys(currencies, 1.0)
    for raw, amount in given.items():
        coin = raw.upper()
        if coin not in currencies:
            _add(
                errors,
                f"initial_balance_coin.{raw}",
                f"{raw} is not a currency of the source ({', '.join(currencies)}).",
            )
        elif not (math.isfinite(amount) and 0.0 < amount <= MAX_BALANCE_COIN):
            _add(errors, f"initial_balance_coin.{raw}", f"Must be above 0 and at most {MAX_BALANCE_COIN:g}.")
        else:
            out[coin] = float(amount)
    return out


def _underlyings(spec: BacktestSpec, strategy: _Strategy, errors: FieldErrors) -> tuple[str, ...]:
    currencies = set(spec.source.currencies)
    if spec.underlyings is None:
        chosen = tuple(u for u in strategy.underlyings if u in currencies)
        if not chosen:
            _add(
                errors,
                "underlyings",
                f"The strategy trades {', '.join(strategy.underlyings)}, none of which the source has "
                f"({', '.join(sorted(currencies))}); add it to source.currencies.",
            )
        return chosen
    chosen = tuple(sorted({u.value for u in spec.underlyings}))
    if not chosen:
        _add(errors, "underlyings", "Give at least one underlying.")
    missing = [u for u in chosen if u not in currencies]
    if missing:
        _add(errors, "underlyings", f"{', '.join(missing)} not in source.currencies.")
    return chosen


def spec_validate(data: Any, *, lookup: RegistryLookup) -> ResolvedBacktest:
    """Validate a spec (a JSON object or a :class:`BacktestSpec`) and resolve it, or raise
    :class:`SpecError` with every error found, per dotted field."""
    errors: FieldErrors = {}
    if isinstance(data, BacktestSpec):
        spec: BacktestSpec | None = data
    elif not isinstance(data, dict):
        raise SpecError({NON_FIELD: ["Send a JSON object."]})
    else:
        try:
            spec = BacktestSpec.model_validate(data)
        except ValidationError as exc:
            spec = None
            errors = _pydantic_errors(exc)
    if spec is None:
        # Still check the strategy part when its own fields parsed, so every error shows at once.
        if not any(k.split(".")[0] in ("strategy", "logic_kind", "parameters") for k in errors):
            assert isinstance(data, dict)
            _resolve_strategy(
                strategy=data.get("strategy") or None,
                logic_kind=data.get("logic_kind"),
                parameters=data.get("parameters", {}),
                lookup=lookup,
                errors=errors,
            )
        raise SpecError(errors)
    strategy = _resolve_strategy(
        strategy=spec.strategy,
        logic_kind=spec.logic_kind,
        parameters=spec.parameters,
        lookup=lookup,
        errors=errors,
    )
    balances = _balances(spec, errors)
    underlyings = _underlyings(spec, strategy, errors) if strategy is not None else ()
    if errors or strategy is None:
        raise SpecError(errors or {NON_FIELD: ["Invalid backtest."]})
    return ResolvedBacktest(
        name=spec.name,
        strategy=strategy.name,
        logic_kind=strategy.kind,
        parameters=strategy.parameters,
        underlyings=underlyings,
        option_types=strategy.option_types,
        risk_limits=strategy.risk_limits,
        priority=strategy.priority,
        source=spec.source,
        initial_balance_coin=balances,
        fill=spec.fill,
        risk_free_rate=spec.risk_free_rate,
    )
