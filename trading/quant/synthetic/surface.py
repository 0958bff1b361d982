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


def ewma_log_level(times_ns: npt.ArrayLike, values: npt.ArrayLike, *, halflife_days: float) -> FloatArray:
    """Geometric time-EWMA of positive ``values`` observed at increasing ``times_ns`` (UTC ns):
    m_i = exp(a_i·ln m_{i-1} + (1 - a_i)·ln x_i), a_i = 2^(-Δt_i / half-life), m_0 = x_0.
    Uneven spacing is handled; the result has the values' units."""
    t = np.asarray(times_ns, dtype=np.int64)
    x = np.log(np.asarray(values, dtype=np.float64))
    out = np.empty_like(x)
    if x.size == 0:
        return out
    decay = np.exp2(-np.diff(t) / (halflife_days * 86_400e9))
    level = float(x[0])
    out[0] = level
    for i, a in enumerate(decay.tolist(), start=1):
        level = a * level + (1.0 - a) * float(x[i])
        out[i] = level
    return np.exp(out)


def trailing_log_memory(
    times_ns: npt.ArrayLike, values: npt.ArrayLike, query_ns: npt.ArrayLike, *, halflife_days: float
) -> FloatArray:
    """:func:`ewma_log_level` of the finite, positive ``values`` as of each query time (its value at
    the last observation at or before it; NaN before the first)."""
    t = np.asarray(times_ns, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    q = np.asarray(query_ns, dtype=np.int64)
    ok = np.isfinite(v) & (v > 0)
    if not ok.any():
        return np.full(q.shape, np.nan)
    level = ewma_log_level(t[ok], v[ok], halflife_days=halflife_days)
    pos = np.searchsorted(t[ok], q, side="right") - 1
    return np.where(pos >= 0, level[np.maximum(pos, 0)], np.nan)


def anchor_with_memory(
    anchor_vol: npt.ArrayLike, memory_vol: npt.ArrayLike, cfg: SyntheticChainConfig
) -> FloatArray:
    """The 30-day anchor pulled towards its memory: anchor^(1-w)·memory^w with
    w = ``anchor_memory_weight`` (unchanged where the memory is unknown, or w = 0)."""
    a = np.asarray(anchor_vol, dtype=np.float64)
    m = np.asarray(memory_vol, dtype=np.float64)
    g = cfg.anchor_memory_weight
    if g == 0.0:
        return a
    return np.where(np.isfinite(m), a ** (1.0 - g) * np.where(np.isfinite(m), m, 1.0) ** g, a)


def long_run_vol_level(
    base_vol: npt.ArrayLike, anchor_vol: npt.ArrayLike, cfg: SyntheticChainConfig
) -> FloatArray:
    """Long-run ATM vol (decimal): ``base_vol`` (``long_run_vol``, the anchor's memory or slow
    realised vol · VRP) moved towards the current 30-day anchor: base^(1-β)·anchor^β, with
    β = ``long_run_anchor_weight`` (0: the base alone)."""
    base = np.asarray(base_vol, dtype=np.float64)
    beta = cfg.long_run_anchor_weight
    if beta != 0.0:
        base = base ** (1.0 - beta) * np.asarray(anchor_vol, dtype=np.float64) ** beta
    return np.clip(base, cfg.iv_min, cfg.iv_max)


_NS_PER_DAY = 86_400 * 10**9
_EPOCH_MONDAY_OFFSET_DAYS = 3.0  # 1970-01-01 was a Thursday: +3 days counts from a Monday 00:00


def _variance_days(ns: npt.NDArray[np.int64], weekend_weight: float) -> FloatArray:
    """Variance-weighted days since a Monday 00:00 UTC: weekdays count (7 - 2w)/5, weekends w."""
    u = ns / _NS_PER_DAY + _EPOCH_MONDAY_OFFSET_DAYS
    weeks = np.floor(u / 7.0)
    r = u - 7.0 * weeks
    weekday = (7.0 - 2.0 * weekend_weight) / 5.0
    return 7.0 * weeks + weekday * np.minimum(r, 5.0) + weekend_weight * np.maximum(r - 5.0, 0.0)


def weekend_variance_factor(
    start_ns: npt.ArrayLike, end_ns: npt.ArrayLike, cfg: SyntheticChainConfig
) -> FloatArray:
    """sqrt(variance time / calendar time) between ``start_ns`` and ``end_ns`` (UTC ns): the ATM vol
    multiplier of an option over that span when weekends carry ``weekend_variance_weight`` of the
    average variance rate (1 everywhere when that weight is 1)."""
    a = np.asarray(start_ns, dtype=np.int64)
    b = np.asarray(end_ns, dtype=np.int64)
    w = cfg.weekend_variance_weight
    if w == 1.0:
        return np.ones(np.broadcast(a, b).shape)
    calendar = (b - a) / _NS_PER_DAY
    variance = _variance_days(b, w) - _variance_days(a, w)
    safe = calendar > 1e-9
    return np.where(safe, np.sqrt(np.maximum(variance, 0.0) / np.where(safe, calendar, 1.0)), 1.0)


def _ramp(t_days: FloatArray, short: float, long: float, tau_days: float) -> FloatArray:
    return short + (long - short) * (-np.expm1(-t_days / tau_days))


def ssvi_raw_params(
    t_years: npt.ArrayLike, atm_vol: npt.ArrayLike, skew_shift: npt.ArrayLike, cfg: SyntheticChainConfig
) -> FloatArray:
    """Raw-SVI (a, b, rho, m, sigma) of the SSVI slice matching ATM level, skew and curvature.

    Skew and curvature move from their short to their long values with DTE and, when
    ``smile_vol_power`` is not 0, scale with (smile_vol_ref / sigma_atm)^smile_vol_power; the skew
    then shifts by ``skew_shift``.
    SSVI: w(k) = θ/2·(1 + rhoφk + sqrt((φk + rho)² + 1 - rho²)) with θ = sigma_atm²·T. Its ATM derivatives
    give rhoφ = 2S/sigma_atm and φ² = 4(sigma_atm·C + 2S²)/sigma_atm², with S = skew_norm/√T and
    C = curvature_norm/T. φ is capped so that θφ(1 + |rho|) ≤ 4·0.98 and θφ²(1 + |rho|) ≤ 4·0.98
    (Gatheral-Jacquier's sufficient conditions against butterfly arbitrage).
    """
    t = np.maximum(np.asarray(t_years, dtype=np.float64), 1e-8)
    sig = np.asarray(atm_vol, dtype=np.float64)
    t_days = t * 365.0
    shift = np.asarray(skew_shift, dtype=np.float64)
    skew = _ramp(t_days, cfg.skew_short, cfg.skew_long, cfg.skew_tau_days)
    curv = _ramp(t_days, cfg.curvature_short, cfg.curvature_long, cfg.curvature_tau_days)
    if cfg.smile_vol_power != 0.0:  # lower vol, steeper normalised smile (and the reverse)
        scale = (cfg.smile_vol_ref / sig) ** cfg.smile_vol_power
        skew = skew * scale
        curv = curv * scale
    skew = np.clip(skew + shift, -1.0, 1.0)
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


def ssvi_implied_vol(
    log_moneyness: npt.ArrayLike, t_years: npt.ArrayLike, raw_params: npt.ArrayLike, cfg: SyntheticChainConfig
) -> FloatArray:
    """IV (decimal) at k = ln(K/F) of the raw-SVI slices from :func:`ssvi_raw_params` (one row each).

    w(k) = a + b·(rho·(k - m) + sqrt((k - m)² + sigma²)), IV = sqrt(w / T) within [iv_min, iv_max].
    """
    k = np.asarray(log_moneyness, dtype=np.float64)
    t = np.maximum(np.asarray(t_years, dtype=np.float64), 1e-8)
    p = np.asarray(raw_params, dtype=np.float64)
    x = k - p[..., 3]
    w = p[..., 0] + p[..., 1] * (p[..., 2] * x + np.sqrt(x * x + p[..., 4] ** 2))
    return np.clip(np.sqrt(np.maximum(w, 0.0) / t), cfg.iv_min, cfg.iv_max)


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
