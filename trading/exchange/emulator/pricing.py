"""Black-76 on the forward in Deribit's units (DERIBIT.md §3.4-3.5), vectorised.

The emulator's own small pricer: ``trading/quant/black76.py`` is the project's library, and
:func:`quant_pricer_available` tells whether it is importable; the emulator only needs these
few formulas, verified against real Deribit tickers in the tests. Implied vols are solved with
the project's vectorised solver (:func:`trading.quant.implied_vol.implied_vol`).

Units: forward ``f`` and strike ``k`` in USD, ``t_years`` on a 365-day year, ``sigma`` as a
decimal (0.5 = 50%). Prices returned in coin (USD price / forward).
"""

from __future__ import annotations

import importlib.util

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from trading.quant.implied_vol import implied_vol

__all__ = ["greeks", "implied_vol_coin", "price_coin", "quant_pricer_available"]

MS_PER_YEAR = 365.0 * 86_400_000.0
_SQRT_2PI = np.sqrt(2.0 * np.pi)

F64 = NDArray[np.float64]


def quant_pricer_available() -> bool:
    return importlib.util.find_spec("trading.quant.black76") is not None


def _d1d2(f: F64, k: F64, t: F64, sigma: F64) -> tuple[F64, F64, F64]:
    t = np.maximum(t, 1e-9)
    sigma = np.maximum(sigma, 1e-6)
    vol_t = sigma * np.sqrt(t)
    d1 = (np.log(f / k) + 0.5 * vol_t * vol_t) / vol_t
    return d1, d1 - vol_t, vol_t


def price_coin(f: ArrayLike, k: ArrayLike, t_years: ArrayLike, sigma: ArrayLike, is_call: ArrayLike) -> F64:
    """Option price in coin per 1-coin contract: Black-76(F, K, T, sigma, r=0) / F."""
    f_, k_, t_, s_ = (np.asarray(x, dtype=np.float64) for x in (f, k, t_years, sigma))
    call = np.asarray(is_call, dtype=bool)
    d1, d2, _ = _d1d2(f_, k_, t_, s_)
    call_usd = f_ * ndtr(d1) - k_ * ndtr(d2)
    put_usd = k_ * ndtr(-d2) - f_ * ndtr(-d1)
    usd = np.where(call, call_usd, put_usd)
    expired = t_ <= 0
    intrinsic = np.where(call, np.maximum(f_ - k_, 0.0), np.maximum(k_ - f_, 0.0))
    return np.asarray(np.where(expired, intrinsic, np.maximum(usd, 0.0)) / f_, dtype=np.float64)


def greeks(
    f: ArrayLike, k: ArrayLike, t_years: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> dict[str, F64]:
    """Deribit greeks: delta (coin), gamma (per USD), vega (USD per vol point), theta (USD per
    day, floored at minus the option's USD value), rho (USD per 1%)."""
    f_, k_, t_, s_ = (np.asarray(x, dtype=np.float64) for x in (f, k, t_years, sigma))
    call = np.asarray(is_call, dtype=bool)
    d1, d2, vol_t = _d1d2(f_, k_, t_, s_)
    pdf = np.exp(-0.5 * d1 * d1) / _SQRT_2PI
    t_safe = np.maximum(t_, 1e-9)
    delta = np.where(call, ndtr(d1), ndtr(d1) - 1.0)
    gamma = pdf / (f_ * vol_t)
    vega = f_ * pdf * np.sqrt(t_safe) / 100.0
    theta = -f_ * pdf * s_ / (2.0 * np.sqrt(t_safe)) / 365.0
    value_usd = price_coin(f_, k_, t_, s_, call) * f_
    theta = np.maximum(theta, -value_usd)
    rho = np.where(call, k_ * t_safe * ndtr(d2), -k_ * t_safe * ndtr(-d2)) / 100.0
    return {"delta": delta, "gamma": gamma, "vega": vega, "theta": theta, "rho": rho}


_IV_LOW, _IV_HIGH = 1e-4, 10.0


def implied_vol_coin(
    price: ArrayLike, f: ArrayLike, k: ArrayLike, t_years: ArrayLike, is_call: ArrayLike
) -> F64:
    """IV (decimal) that reproduces ``price`` (coin), 1-d; NaN where no IV in [0.01%, 1000%]
    fits (a ticker shows 0 there)."""
    p, f_, k_, t_ = (np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (price, f, k, t_years))
    call = np.atleast_1d(np.asarray(is_call, dtype=bool))
    p, f_, k_, t_, call = np.broadcast_arrays(p, f_, k_, t_, call)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = price_coin(f_, k_, t_, np.full(p.shape, _IV_LOW), call)
        upper = price_coin(f_, k_, t_, np.full(p.shape, _IV_HIGH), call)
        bad = (p <= lower + 1e-12) | (p >= upper - 1e-12) | (t_ <= 0) | ~np.isfinite(p)
        iv = np.array(implied_vol(p, f_, k_, t_, call, unit="coin").iv, dtype=np.float64)
    missed = ~bad & ~np.isfinite(iv)
    if missed.any():  # inside the range but where the fast solver gives up: bisect those
        iv[missed] = _bisect_iv(p[missed], f_[missed], k_[missed], t_[missed], call[missed])
    return np.asarray(np.where(bad, np.nan, np.clip(iv, _IV_LOW, _IV_HIGH)), dtype=np.float64)


def _bisect_iv(p: F64, f_: F64, k_: F64, t_: F64, call: NDArray[np.bool_]) -> F64:
    """The IV in [0.01%, 1000%] reproducing ``p`` by bisection (slow; a fallback)."""
    lo = np.full(p.shape, _IV_LOW)
    hi = np.full(p.shape, _IV_HIGH)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        too_high = price_coin(f_, k_, t_, mid, call) > p
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return np.asarray(0.5 * (lo + hi), dtype=np.float64)
