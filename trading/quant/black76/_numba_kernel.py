"""The numba path: the same mathematics in one compiled pass per option."""

from __future__ import annotations

import math

import numba
import numpy as np

from trading.quant.black76._common import DAYS_PER_YEAR, INV_SQRT2, INV_SQRT_2PI, Batch, BoolArray, FloatArray


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _ndtr_scalar(z: float) -> float:
    return 0.5 * math.erfc(-z * INV_SQRT2)


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _greeks_kernel(
    f: FloatArray,
    k: FloatArray,
    t: FloatArray,
    v: FloatArray,
    call: BoolArray,
    want_greeks: bool,
    out: FloatArray,
) -> None:
    n = f.shape[0]
    nan = np.nan
    for i in range(n):
        fi = f[i]
        ki = k[i]
        ti = t[i]
        vi = v[i]
        if not (
            fi > 0
            and ki > 0
            and ti >= 0
            and vi >= 0
            and fi < np.inf
            and ki < np.inf
            and ti < np.inf
            and vi < np.inf
        ):
            for j in range(out.shape[0]):
                out[j, i] = nan
            continue
        sqrt_t = math.sqrt(ti)
        s = vi * sqrt_t
        x = math.log(fi / ki)
        if s > 0:
            a = -abs(x) / s
        elif x == 0:
            a = 0.0
        else:
            a = -np.inf
        n_plus = _ndtr_scalar(a + 0.5 * s)
        n_minus = _ndtr_scalar(a - 0.5 * s)
        tv = min(fi, ki) * n_plus - max(fi, ki) * n_minus
        if tv < 0:
            tv = 0.0
        intrinsic = max(fi - ki, 0.0) if call[i] else max(ki - fi, 0.0)
        price = intrinsic + tv
        out[0, i] = price
        out[1, i] = price / fi
        if not want_greeks:
            continue
        if x < 0:
            n_d1 = n_plus
            n_md1 = 1.0 - n_plus
            n_d2 = n_minus
            n_md2 = 1.0 - n_minus
        else:
            n_d1 = 1.0 - n_minus
            n_md1 = n_minus
            n_d2 = 1.0 - n_plus
            n_md2 = n_plus
        if s > 0:
            d1 = x / s + 0.5 * s
        elif x == 0:
            d1 = 0.0
        else:
            d1 = np.inf
        pdf = math.exp(-0.5 * d1 * d1) * INV_SQRT_2PI
        if call[i]:
            out[2, i] = n_d1
            out[6, i] = ki * ti * n_d2 * 0.01
        else:
            out[2, i] = -n_md1
            out[6, i] = -ki * ti * n_md2 * 0.01
        if s > 0:
            out[3, i] = pdf / (fi * s)
        else:
            out[3, i] = np.inf if x == 0 else 0.0
        out[4, i] = fi * pdf * sqrt_t * 0.01
        if ti > 0:
            th = -fi * pdf * vi / (2.0 * sqrt_t) / DAYS_PER_YEAR * min(ti * DAYS_PER_YEAR, 1.0)
            out[5, i] = max(th, -price) + 0.0
        else:
            out[5, i] = 0.0


def run_kernel(b: Batch, want_greeks: bool) -> FloatArray:
    """Rows price_usd, price_coin (and with greeks: delta, gamma, vega, theta, rho) per option."""
    f, k, t, v, c = (_kernel_arg(a) for a in (b.f, b.k, b.t, b.v, b.call))
    out = np.empty((7 if want_greeks else 2, f.size), dtype=np.float64)
    _greeks_kernel(f, k, t, v, c, want_greeks, out)
    return out


def _kernel_arg(a: np.ndarray) -> np.ndarray:
    """Flat, C-contiguous, read-only: one numba signature whatever the caller passes."""
    flat = np.ascontiguousarray(a).reshape(-1).view()
    flat.flags.writeable = False
    return flat
