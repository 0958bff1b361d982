"""Parameters of the synthetic market: one frozen, validated model per generator.

Every field has a unit and a meaning a calibration can fit; defaults are BTC-like, read off the
real 2025-26 Deribit snapshots in ``deribit_data`` (ATM IV about 0.8-1.2 * realised vol,
normalised ATM skew about -0.1 and curvature about 0.25, IV spreads of 0.7 vol points for
long-dated at-the-money options up to 3-5 points for dailies).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class UnderlyingConfig(BaseModel):
    """Index path model: GBM with a mean-reverting log-volatility and Gaussian log-price jumps.

    d ln S = (mu - sigma²/2 - λ·κ_J) dt + sigma dW + J dN,
    d ln sigma = θ (ln vol_long - ln sigma) dt + ξ dZ,
    corr(dW, dZ) = spot_vol_corr, N Poisson(jump_intensity), J ~ N(jump_mean, jump_std²).
    Rates are per year (365 days).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    spot0: float = Field(default=60_000.0, gt=0.0, description="index level at the first bar open, USD")
    drift: float = Field(
        default=0.0, ge=-2.0, le=2.0, description="mu: expected log growth + sigma²/2, per year"
    )
    vol0: float | None = Field(default=None, gt=0.0, description="initial vol (decimal); None = vol_long")
    vol_long: float = Field(
        default=0.50, gt=0.0, le=5.0, description="long-run level of sigma, decimal per √year"
    )
    vol_mean_reversion: float = Field(default=12.0, ge=0.0, description="θ, per year (12 ≈ 3-week half-life)")
    vol_of_vol: float = Field(default=1.2, ge=0.0, le=10.0, description="ξ, of ln sigma, per √year")
    spot_vol_corr: float = Field(default=-0.3, ge=-1.0, le=1.0, description="correlation of dW and dZ")
    jump_intensity: float = Field(default=8.0, ge=0.0, description="λ, expected jumps per year")
    jump_mean: float = Field(default=-0.01, description="mean log jump size")
    jump_std: float = Field(default=0.04, ge=0.0, description="std of the log jump size")
    substeps: int = Field(
        default=16, ge=1, le=1000, description="simulation steps per bar (sets high/low detail)"
    )


class SyntheticChainConfig(BaseModel):
    """The synthetic option chain: ATM level, term structure, smile, forward, quotes, open interest.

    Terms: z = k / (sigma_atm·√T) is moneyness in standard deviations (k = ln(K/F)); "normalised
    skew" is ∂sigma/∂k·√T and "normalised curvature" ∂²sigma/∂k²·T at the money, which stay roughly
    constant across expiries on Deribit; each interpolates from its short to its long value as
    1 - exp(-DTE / tau_days). Optional refinements, all off by default: a far level that
    remembers the anchor (``long_run_memory_days``), an anchor pulled towards that memory, a far
    level that follows the anchor in part, quieter weekends, and a smile that steepens as the
    ATM vol falls (``smile_vol_power``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Literal["BTC", "ETH"] = "BTC"

    # ATM level at the reference tenor
    vrp_factor: float = Field(
        default=1.1, gt=0.0, le=5.0, description="30-day ATM IV / trailing realised vol"
    )
    rv_window_days: float = Field(default=30.0, gt=0.0, description="trailing realised-vol window, days")
    rv_min_returns: int = Field(default=24, ge=2, description="returns needed before realised vol is used")
    fallback_vol: float = Field(default=0.5, gt=0.0, le=5.0, description="30-day ATM IV before that, decimal")
    dvol_scale: float = Field(
        default=1.0, gt=0.0, le=5.0, description="30-day ATM IV = DVOL/100 * this, if DVOL given"
    )
    iv_noise: float = Field(default=0.05, ge=0.0, le=1.0, description="stationary std of ln(ATM IV / anchor)")
    iv_noise_halflife_hours: float = Field(
        default=24.0, gt=0.0, description="half-life of that deviation, hours"
    )

    # term structure: mean-reverting variance (average variance to T)
    term_ref_days: float = Field(default=30.0, gt=0.0, description="tenor the anchor applies to, days")
    long_run_vol: float | None = Field(
        default=None,
        gt=0.0,
        le=5.0,
        description="ATM vol far out; None = the anchor's memory if set, else slow RV * vrp",
    )
    long_run_rv_days: float = Field(
        default=180.0, gt=0.0, description="window of that slow realised vol, days"
    )
    term_mean_reversion: float = Field(
        default=4.0, ge=0.0, le=500.0, description="κ of the variance, per year"
    )
    long_run_memory_days: float | None = Field(
        default=None,
        gt=0.0,
        description="half-life of the anchor's memory (a time-EWMA of ln anchor, noise-free), days; "
        "None = no memory",
    )
    anchor_memory_weight: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="w: the 30-day anchor becomes anchor^(1-w) * memory^w (smooths a noisy realised "
        "vol); needs long_run_memory_days",
    )
    long_run_memory_ratio: float = Field(
        default=1.0, gt=0.0, le=5.0, description="far ATM vol / the anchor's memory (with a memory)"
    )
    long_run_anchor_weight: float = Field(
        default=0.0, ge=0.0, le=1.0, description="b: the far ATM vol is (that level)^(1-b) * anchor^b"
    )
    weekend_variance_weight: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="variance rate on Saturday and Sunday (UTC) relative to a week's average; "
        "weekdays get (7 - 2 * this)/5, so a whole week is unchanged; 1 = no weekend effect",
    )

    # smile (SSVI slices matched to ATM level, skew and curvature)
    skew_short: float = Field(default=-0.08, ge=-1.0, le=1.0, description="normalised ATM skew at DTE → 0")
    skew_long: float = Field(default=-0.10, ge=-1.0, le=1.0, description="normalised ATM skew for long DTE")
    skew_tau_days: float = Field(default=30.0, gt=0.0, description="days over which skew moves short → long")
    skew_momentum_beta: float = Field(
        default=0.3, ge=-5.0, le=5.0, description="skew change per unit trailing log return"
    )
    skew_momentum_days: float = Field(default=7.0, gt=0.0, description="trailing return window, days")
    curvature_short: float = Field(
        default=0.28, gt=0.0, le=5.0, description="normalised ATM curvature at DTE → 0"
    )
    curvature_long: float = Field(
        default=0.22, gt=0.0, le=5.0, description="normalised ATM curvature for long DTE"
    )
    curvature_tau_days: float = Field(default=60.0, gt=0.0, description="days over which curvature moves")
    smile_vol_power: float = Field(
        default=0.0, ge=-2.0, le=3.0, description="skew and curvature * (smile_vol_ref / ATM vol)^this"
    )
    smile_vol_ref: float = Field(default=0.5, gt=0.0, le=5.0, description="ATM vol at which that factor is 1")
    iv_min: float = Field(default=0.05, gt=0.0, description="floor on any IV, decimal")
    iv_max: float = Field(default=5.0, gt=0.0, description="cap on any IV, decimal")

    # forward: F = index · exp(basis · T)
    basis_annual: float = Field(
        default=0.05, ge=-1.0, le=1.0, description="mean annualised basis (contango > 0)"
    )
    basis_noise: float = Field(
        default=0.03, ge=0.0, le=1.0, description="stationary std of the basis deviation"
    )
    basis_halflife_hours: float = Field(
        default=72.0, gt=0.0, description="half-life of that deviation, hours"
    )

    # quotes (coin prices, Deribit ticks)
    spread_iv_atm: float = Field(
        default=0.007, gt=0.0, le=1.0, description="bid-ask in IV, long-dated ATM, decimal"
    )
    spread_dte_coef: float = Field(default=0.6, ge=0.0, description="widening * sqrt(term_ref_days / DTE)")
    spread_dte_floor_days: float = Field(default=0.1, gt=0.0, description="DTE floor in that term, days")
    spread_wing_coef: float = Field(default=0.15, ge=0.0, description="widening * z²")
    spread_delta_coin: float = Field(
        default=0.02, ge=0.0, description="extra spread per unit of (|delta| - 0.5)+, coin"
    )
    min_spread_ticks: int = Field(default=1, ge=1, le=100, description="narrowest spread, ticks")

    # open-interest proxy, contracts
    oi_atm_contracts: float = Field(default=1000.0, ge=0.0, description="typical open interest at the money")
    oi_width: float = Field(default=1.5, gt=0.0, description="width in z of the open-interest bell")
    oi_noise: float = Field(default=0.5, ge=0.0, le=5.0, description="lognormal noise of open interest")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.iv_min >= self.iv_max:
            raise ValueError("iv_min must be below iv_max")
        if self.anchor_memory_weight > 0.0 and self.long_run_memory_days is None:
            raise ValueError("anchor_memory_weight needs long_run_memory_days (the memory's half-life)")
        return self
