"""The synthetic IV surface, forward and quotes: pure functions of arrays, one row per option.

ATM level: a 30-day anchor from trailing realised vol * the VRP factor (or DVOL), a
mean-reverting variance term structure, and an SSVI slice per expiry matched to the ATM level,
normalised skew and curvature of :class:`SyntheticChainConfig`; quotes come from a spread model in
IV and coin, rounded outwards to Deribit's ticks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trading.quant.synthetic.config import SyntheticChainConfig

FloatArray = npt.NDArray[np.float64]

TICK_SMALL = 0.0001  # coin, prices below TICK_STEP_ABOVE
TICK_LARGE = 0.0005  # coin, prices at or above TICK_STEP_ABOVE
TICK_STEP_ABOVE = 0.005  # coin (Deribit tick_size_steps for BTC and ETH options)
_TICKS_PER_COIN = 10_000  # integer ticks of 0.0001 avoid float drift when rounding


def round_to_tick(price_coin: npt.ArrayLike, *, direction: str) -> FloatArray:
    """Round coin prices to Deribit's option ticks: ``direction`` 'down' (bids) or 'up' (asks).

    Ticks are 0.0001 below 0.005 and 0.0005 from 0.005 up; NaN stays NaN.
    """
    p = np.asarray(price_coin, dtype=np.float64)
    units = p * _TICKS_PER_COIN  # in 0.0001 steps
    if direction == "down":
        small = np.floor(units + 1e-9)
        large = 5.0 * np.floor(units / 5.0 + 1e-9)
    elif direction == "up":
        small = np.ceil(units - 1e-9)
        large = 5.0 * np.ceil(units / 5.0 - 1e-9)
    else:
        raise ValueError("direction must be 'down' or 'up'")
    # rounding up below 0.005 never passes 0.005; rounding down at or above it never goes below
    out = np.where(p >= TICK_STEP_ABOVE, large, small)
    return out / _TICKS_PER_COIN


def tick_size(price_coin: npt.ArrayLike) -> FloatArray:
    """Deribit's tick at a price (coin)."""
    p = np.asarray(price_coin, dtype=np.float64)
    return np.where(p >= TICK_STEP_ABOVE, TICK_LARGE, TICK_SMALL)


def term_structure_atm_vol(
    t_years: npt.ArrayLike,
    *,
    anchor_vol: npt.ArrayLike,
    long_run_vol: npt.ArrayLike,
    cfg: SyntheticChainConfig,
) -> FloatArray:
    """ATM vol (decimal) at T from a mean-reverting variance: average variance over [0, T].

    v̄(T) = v_L + (v_0 - v_L)·(1 - e^{-κT})/(κT), with v_0 chosen so that v̄(T_ref) = anchor²;
    κ = 0 gives a flat term structure. Inverted when the anchor is above the long-run level.
    """
    t = np.maximum(np.asarray(t_years, dtype=np.float64), 1e-8)
    a2 = np.asarray(anchor_vol, dtype=np.float64) ** 2
    v_l = np.asarray(long_run_vol, dtype=np.float64) ** 2
    kappa = cfg.term_mean_reversion
    t_ref = cfg.term_ref_days / 365.0

    def g(x: FloatArray) -> FloatArray:
        return np.where(x > 1e-8, -np.expm1(-x) / np.maximum(x, 1e-300), 1.0 - 0.5 * x)

    v0 = v_l + (a2 - v_l) / g(np.asarray(kappa * t_ref))
    v0 = np.maximum(v0, 0.01 * np.minimum(a2, v_l))  # keep the instantaneous variance positive
    vbar = v_l + (v0 - v_l) * g(kappa * t)
    return np.clip(np.sqrt(vbar), cfg.iv_min, cfg.iv_max)


def _ramp(t_days: FloatArray, short: float, long: float, tau_days: float) -> FloatArray:
    return short + (long - short) * (-np.expm1(-t_days / tau_days))


def ssvi_raw_params(
    t_years: npt.ArrayLike, atm_vol: npt.ArrayLike, skew_shift: npt.ArrayLike, cfg: SyntheticChainConfig
) -> FloatArray:
    """Raw-SVI (a, b, rho, m, sigma) of the SSVI slice matching ATM level, skew and curvature.

    SSVI: w(k) = θ/2·(1 + rhoφk + sqrt((φk + rho)² + 1 - rho²)) with θ = sigma_atm²·T. Its ATM derivatives
    give rhoφ = 2S/sigma_atm and φ² = 4(sigma_atm·C + 2S²)/sigma_atm², with S = skew_norm/√T and
    C = curvature_norm/T. φ is capped so that θφ(1 + |rho|) ≤ 4·0.98 and θφ²(1 + |rho|) ≤ 4·0.98
    (Gatheral-Jacquier's sufficient conditions against butterfly arbitrage).
    """
    t = np.maximum(np.asarray(t_years, dtype=np.float64), 1e-8)
    sig = np.asarray(atm_vol, dtype=np.float64)
    t_days = t * 365.0
    shift = np.asarray(skew_shift, dtype=np.float64)
    skew = np.clip(_ramp(t_days, cfg.skew_short, cfg.skew_long, cfg.skew_tau_days) + shift, -1.0, 1.0)
    curv = _ramp(t_days, cfg.curvature_short, cfg.curvature_long, cfg.curvature_tau_days)
    s_atm = skew / np.sqrt(t)
    c_atm = curv / t
    theta = sig * sig * t
    phi = 2.0 * np.sqrt(np.maximum(sig * c_atm + 2.0 * s_atm * s_atm, 1e-12)) / sig
    rho = np.clip(2.0 * s_atm / (sig * phi), -0.95, 0.95)
    lim = 4.0 * 0.98 / (1.0 + np.abs(rho))
    phi = np.minimum(phi, np.minimum(lim / theta, np.sqrt(lim / theta)))
    root = np.sqrt(1.0 - rho * rho)
    return np.stack(
        [0.5 * theta * (1.0 - rho * rho), 0.5 * theta * phi, rho, -rho / phi, root / phi], axis=-1
    )


def half_spread_coin(
    *,
    t_years: FloatArray,
    z: FloatArray,
    vega_usd: FloatArray,
    forward: FloatArray,
    delta: FloatArray,
    cfg: SyntheticChainConfig,
) -> FloatArray:
    """Half the bid-ask spread in coin before tick rounding.

    spread = spread_iv * vega in coin per unit IV + spread_delta_coin * (|Δ| - 0.5)+, where
    spread_iv = spread_iv_atm · (1 + spread_dte_coef·sqrt(term_ref_days / DTE)) · (1 + spread_wing_coef·z²);
    the spread is at least ``min_spread_ticks`` ticks at the mark (applied by the caller).
    """
    dte = np.maximum(t_years * 365.0, cfg.spread_dte_floor_days)
    spread_iv = (
        cfg.spread_iv_atm
        * (1.0 + cfg.spread_dte_coef * np.sqrt(cfg.term_ref_days / dte))
        * (1.0 + cfg.spread_wing_coef * z * z)
    )
    vega_coin_per_unit_iv = vega_usd * 100.0 / forward
    spread = spread_iv * vega_coin_per_unit_iv + cfg.spread_delta_coin * np.maximum(np.abs(delta) - 0.5, 0.0)
    return 0.5 * spread
