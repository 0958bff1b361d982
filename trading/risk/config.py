"""The risk engine's account limits and kill-switch thresholds: one typed object, safe by default."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RiskConfig(BaseModel):
    """Account-wide limits (per-strategy ones are each strategy's ``RiskLimits``).

    Ratios are fractions (0.5 = 50 %); ``*_pct`` are percents. Amounts are per coin: BTC and ETH
    are separate wallets on a coin-margined Deribit account.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # data
    max_market_age_s: float = Field(default=120.0, gt=0.0, description="Older quotes fail closed.")
    max_account_age_s: float = Field(default=300.0, gt=0.0, description="Older account data fails closed.")
    # account limits, per coin
    max_call_coverage: float = Field(
        default=1.0, gt=0.0, le=1.0, description="Short calls of all strategies <= this x the coins held."
    )
    max_initial_margin_fraction: float = Field(
        default=0.5, gt=0.0, le=1.0, description="Initial margin after the trades <= this x equity."
    )
    min_net_delta_ratio: float = Field(
        default=0.0, ge=-5.0, le=5.0, description="Account delta (coins + options) >= this x equity."
    )
    max_net_delta_ratio: float = Field(
        default=1.5, ge=-5.0, le=5.0, description="Account delta (coins + options) <= this x equity."
    )
    max_expiry_fraction: float = Field(
        default=0.6, gt=0.0, le=10.0, description="Short contracts in one expiry <= this x the coins held."
    )
    max_put_collateral_fraction: float = Field(
        default=1.0, gt=0.0, le=10.0, description="Strike value of short puts <= this x equity in USD."
    )
    # regime rules
    crisis_allows_opens: bool = Field(default=False, description="In a crisis regime only reducing passes.")
    elevated_max_abs_delta: float = Field(
        default=0.25, gt=0.0, le=1.0, description="In an elevated regime a new short's |delta| <= this."
    )
    # kill switch
    max_daily_loss_pct: float = Field(
        default=5.0,
        gt=0.0,
        le=100.0,
        description="Halt when a coin's equity is this far below the day's start.",
    )
    max_drawdown_pct: float = Field(
        default=15.0, gt=0.0, le=100.0, description="Halt when a coin's equity is this far below its peak."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_net_delta_ratio > self.max_net_delta_ratio:
            raise ValueError("min_net_delta_ratio must not exceed max_net_delta_ratio")
        return self
