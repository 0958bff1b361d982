"""The synthetic chain model's parameters that calibration fits, per currency.

:class:`CalibrationParams` is the part of :class:`~trading.quant.synthetic.SyntheticChainConfig`
that shapes prices: the 30-day ATM level (realised vol · VRP factor, or DVOL · scale), the term
structure of ATM vol (mean-reverting variance towards a far level, quieter weekends), and the
smile (normalised ATM skew and curvature, each moving from a short-dated to a long-dated value
with DTE and scaling with the ATM vol, plus the skew's response to the trailing return). Noise,
quotes, basis and open interest are not fitted.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trading.quant.synthetic import SyntheticChainConfig

Currency = Literal["BTC", "ETH"]

_DEFAULTS = SyntheticChainConfig()


class CalibrationError(ValueError):
    """Calibration input that cannot be used; the message says what to change."""


class CalibrationParams(BaseModel):
    """Fitted (or default) surface parameters of one currency; units as in ``SyntheticChainConfig``.

    The far level of the term structure is ``long_run_vol`` if set, else the anchor's memory ·
    ``long_run_memory_ratio`` if ``long_run_memory_days`` is set, else the 180-day realised vol ·
    ``vrp_factor`` (the generator's default rule).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Currency
    vrp_factor: float = Field(default=_DEFAULTS.vrp_factor, gt=0.0, le=5.0)
    dvol_scale: float = Field(default=_DEFAULTS.dvol_scale, gt=0.0, le=5.0)
    long_run_vol: float | None = Field(default=_DEFAULTS.long_run_vol, gt=0.0, le=5.0)
    term_mean_reversion: float = Field(default=_DEFAULTS.term_mean_reversion, ge=0.0, le=500.0)
    long_run_memory_days: float | None = Field(default=_DEFAULTS.long_run_memory_days, gt=0.0)
    anchor_memory_weight: float = Field(default=_DEFAULTS.anchor_memory_weight, ge=0.0, le=1.0)
    long_run_memory_ratio: float = Field(default=_DEFAULTS.long_run_memory_ratio, gt=0.0, le=5.0)
    long_run_anchor_weight: float = Field(default=_DEFAULTS.long_run_anchor_weight, ge=0.0, le=1.0)
    weekend_variance_weight: float = Field(default=_DEFAULTS.weekend_variance_weight, gt=0.0, le=1.0)
    skew_short: float = Field(default=_DEFAULTS.skew_short, ge=-1.0, le=1.0)
    skew_long: float = Field(default=_DEFAULTS.skew_long, ge=-1.0, le=1.0)
    skew_tau_days: float = Field(default=_DEFAULTS.skew_tau_days, gt=0.0)
    skew_momentum_beta: float = Field(default=_DEFAULTS.skew_momentum_beta, ge=-5.0, le=5.0)
    curvature_short: float = Field(default=_DEFAULTS.curvature_short, gt=0.0, le=5.0)
    curvature_long: float = Field(default=_DEFAULTS.curvature_long, gt=0.0, le=5.0)
    curvature_tau_days: float = Field(default=_DEFAULTS.curvature_tau_days, gt=0.0)
    smile_vol_power: float = Field(default=_DEFAULTS.smile_vol_power, ge=-2.0, le=3.0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.anchor_memory_weight > 0.0 and self.long_run_memory_days is None:
            raise ValueError("anchor_memory_weight needs long_run_memory_days (the memory's half-life)")
        return self

    @classmethod
    def default(cls, currency: str) -> Self:
        """What the synthetic generator uses today for ``currency`` (its defaults)."""
        if currency not in ("BTC", "ETH"):
            raise CalibrationError(f"currency must be BTC or ETH, not {currency!r}")
        return cls(currency=currency)

    def chain_config(self, base: SyntheticChainConfig | None = None) -> SyntheticChainConfig:
        """``base`` (default: the generator's defaults) with these parameters applied."""
        start = base if base is not None else _DEFAULTS
        return SyntheticChainConfig.model_validate({**start.model_dump(), **self.model_dump()})
