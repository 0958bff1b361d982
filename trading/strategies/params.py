"""Typed parameter schemas for each strategy logic kind, with risk-profile presets.

Pure pydantic: no Django. The registry (admin and API) validates a strategy's JSON parameters
against the schema of its logic kind, so a strategy is changed by configuration, never by code.
Units are in the field names: ``*_pct`` are percentages (5 means 5 %), ``*_usd`` US dollars,
``*_coin`` the underlying coin, deltas are absolute values on Deribit's forward delta.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class LogicKind(StrEnum):
    COVERED_CALL = "covered_call"
    CASH_SECURED_PUT = "cash_secured_put"


class RiskProfile(StrEnum):
    CONSERVATIVE = "conservative"
    MODERATE = "moderate"
    AGGRESSIVE = "aggressive"


class DecisionMode(StrEnum):
    RULES = "rules"
    LLM = "llm"
    SHADOW = "shadow"


class Underlying(StrEnum):
    BTC = "BTC"
    ETH = "ETH"


class OptionType(StrEnum):
    CALL = "call"
    PUT = "put"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)


class _SellOptionParams(_Strict):
    """What every option-selling logic shares: which options qualify and how open ones are managed."""

    dte_min: int = Field(ge=0, le=365, description="Fewest days to expiry an option may have when sold.")
    dte_max: int = Field(ge=1, le=400, description="Most days to expiry an option may have when sold.")
    delta_min: float = Field(ge=0.0, le=1.0, description="Lowest absolute delta of an option to sell.")
    delta_max: float = Field(gt=0.0, le=1.0, description="Highest absolute delta of an option to sell.")
    min_premium_usd: float = Field(ge=0.0, description="Smallest premium per contract, in USD, at the bid.")
    min_annualized_yield_pct: float = Field(
        ge=0.0, le=1000.0, description="Smallest annualised yield on the collateral, in percent."
    )
    min_ivrv: float = Field(
        ge=0.0, le=10.0, description="Smallest ratio of implied to realised volatility (0 = no filter)."
    )
    max_spread_pct: float = Field(
        gt=0.0, le=100.0, description="Widest bid/ask spread as a percent of the mid price."
    )
    min_open_interest: float = Field(ge=0.0, description="Least open interest, in contracts.")
    take_profit_pct: float = Field(
        ge=0.0, le=100.0, description="Buy back when this percent of the premium is captured (0 = never)."
    )
    roll_dte: int = Field(
        ge=0, le=60, description="Roll or close when this few days remain (0 = let expire)."
    )
    roll_delta: float = Field(
        ge=0.0, le=1.0, description="Roll or close when the absolute delta rises above this (0 = never)."
    )
    roll_below_otm_pct: float | None = Field(
        default=None,
        ge=-50.0,
        le=50.0,
        description=(
            "Roll or close when the option is less than this percent out of the money from the index "
            "(negative: in the money by more than that; null = never)."
        ),
    )
    roll_require_credit: bool = Field(
        default=True,
        description=(
            "Roll only for a net credit (new premium at the bid, after fees, at least the buy-back "
            "at the ask plus fees); otherwise close."
        ),
    )
    max_contracts_per_trade: float = Field(gt=0.0, le=1000.0, description="Largest order, in contracts.")

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> Self:
        if self.dte_min > self.dte_max:
            raise ValueError(f"dte_min ({self.dte_min}) must not exceed dte_max ({self.dte_max})")
        if self.delta_min > self.delta_max:
            raise ValueError(f"delta_min ({self.delta_min}) must not exceed delta_max ({self.delta_max})")
        if self.roll_delta and self.roll_delta <= self.delta_max:
            raise ValueError(
                f"roll_delta ({self.roll_delta}) must be above delta_max ({self.delta_max}), "
                "or the strategy would roll what it just sold"
            )
        return self


class CoveredCallParams(_SellOptionParams):
    """Sell calls against coins held: never more contracts than the coins this strategy may cover."""

    coverage_pct: float = Field(
        gt=0.0, le=100.0, description="Percent of the coins held this strategy may sell calls against."
    )


class CashSecuredPutParams(_SellOptionParams):
    """Sell puts with enough collateral to buy the coins at the strike."""

    collateral_pct: float = Field(
        gt=0.0, le=100.0, description="Percent of the account equity this strategy may commit as collateral."
    )


class RiskLimits(_Strict):
    """Per-strategy limits the risk engine enforces on top of the account-wide ones."""

    max_contracts: float = Field(default=10.0, gt=0.0, description="Most contracts open at once.")
    max_notional_usd: float = Field(
        default=1_000_000.0, gt=0.0, description="Most underlying notional open at once, in USD."
    )
    max_open_positions: int = Field(default=5, ge=1, le=1000, description="Most instruments open at once.")
    max_abs_delta: float = Field(
        default=10.0, gt=0.0, description="Largest net delta of this strategy's options, in coins."
    )


PARAMS_SCHEMAS: dict[LogicKind, type[_SellOptionParams]] = {
    LogicKind.COVERED_CALL: CoveredCallParams,
    LogicKind.CASH_SECURED_PUT: CashSecuredPutParams,
}

# Option types each logic kind trades.
LOGIC_OPTION_TYPES: dict[LogicKind, frozenset[OptionType]] = {
    LogicKind.COVERED_CALL: frozenset({OptionType.CALL}),
    LogicKind.CASH_SECURED_PUT: frozenset({OptionType.PUT}),
}

_COMMON_PRESETS: dict[RiskProfile, dict[str, Any]] = {
    RiskProfile.CONSERVATIVE: {
        "dte_min": 7,
        "dte_max": 35,
        "delta_min": 0.05,
        "delta_max": 0.20,
        "min_premium_usd": 10.0,
        "min_annualized_yield_pct": 5.0,
        "min_ivrv": 1.0,
        "max_spread_pct": 15.0,
        "min_open_interest": 10.0,
        "take_profit_pct": 75.0,
        "roll_dte": 2,
        "roll_delta": 0.45,
        "roll_below_otm_pct": 2.0,
        "roll_require_credit": True,
        "max_contracts_per_trade": 1.0,
    },
    RiskProfile.MODERATE: {
        "dte_min": 5,
        "dte_max": 30,
        "delta_min": 0.15,
        "delta_max": 0.30,
        "min_premium_usd": 20.0,
        "min_annualized_yield_pct": 10.0,
        "min_ivrv": 0.9,
        "max_spread_pct": 20.0,
        "min_open_interest": 5.0,
        "take_profit_pct": 65.0,
        "roll_dte": 1,
        "roll_delta": 0.55,
        "roll_below_otm_pct": 0.0,
        "roll_require_credit": True,
        "max_contracts_per_trade": 2.0,
    },
    RiskProfile.AGGRESSIVE: {
        "dte_min": 2,
        "dte_max": 21,
        "delta_min": 0.25,
        "delta_max": 0.45,
        "min_premium_usd": 30.0,
        "min_annualized_yield_pct": 20.0,
        "min_ivrv": 0.0,
        "max_spread_pct": 25.0,
        "min_open_interest": 1.0,
        "take_profit_pct": 50.0,
        "roll_dte": 1,
        "roll_delta": 0.65,
        "roll_below_otm_pct": -2.0,
        "roll_require_credit": True,
        "max_contracts_per_trade": 5.0,
    },
}
_KIND_PRESETS: dict[LogicKind, dict[RiskProfile, dict[str, Any]]] = {
    LogicKind.COVERED_CALL: {
        RiskProfile.CONSERVATIVE: {"coverage_pct": 50.0},
        RiskProfile.MODERATE: {"coverage_pct": 75.0},
        RiskProfile.AGGRESSIVE: {"coverage_pct": 100.0},
    },
    LogicKind.CASH_SECURED_PUT: {
        RiskProfile.CONSERVATIVE: {"collateral_pct": 25.0},
        RiskProfile.MODERATE: {"collateral_pct": 40.0},
        RiskProfile.AGGRESSIVE: {"collateral_pct": 60.0},
    },
}


def preset(kind: LogicKind | str, profile: RiskProfile | str) -> dict[str, Any]:
    """The full, valid parameter set of a logic kind at a risk profile."""
    kind, profile = LogicKind(kind), RiskProfile(profile)
    values = {**_COMMON_PRESETS[profile], **_KIND_PRESETS[kind][profile]}
    return PARAMS_SCHEMAS[kind].model_validate(values).model_dump()


class ParameterError(ValueError):
    """Parameters do not fit the schema; ``errors`` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"]) or "__all__"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "Unknown field: it is not a parameter of this strategy kind."
        elif err["type"] == "missing":
            message = "This parameter is required."
        errors.setdefault(loc, []).append(message.removeprefix("Value error, "))
    return errors


def validate_params(kind: LogicKind | str, params: Any) -> _SellOptionParams:
    """Parse ``params`` for ``kind`` strictly, or raise :class:`ParameterError` per field."""
    try:
        schema = PARAMS_SCHEMAS[LogicKind(kind)]
    except ValueError as exc:
        raise ParameterError({"logic_kind": [f"Unknown logic kind {kind!r}."]}) from exc
    if not isinstance(params, dict):
        raise ParameterError({"__all__": ["Parameters must be a JSON object of name: value pairs."]})
    try:
        return schema.model_validate(params)
    except ValidationError as exc:
        raise ParameterError(_field_errors(exc)) from exc


def validate_risk_limits(limits: Any) -> RiskLimits:
    if not isinstance(limits, dict):
        raise ParameterError({"__all__": ["Risk limits must be a JSON object of name: value pairs."]})
    try:
        return RiskLimits.model_validate(limits)
    except ValidationError as exc:
        raise ParameterError(_field_errors(exc)) from exc


SellOptionParams = _SellOptionParams
"""The parameters every option-selling logic shares (public name for type hints)."""
