"""The numpy path: ufunc chains over cache-sized blocks."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from trading.quant.black76._common import (
    DAYS_PER_YEAR,
    INV_SQRT_2PI,
    Batch,
    Black76Result,
    BoolArray,
    FloatArray,
    mask_invalid,
)

# With x = ln(F/K), s = sigma sqrt(T) and a = |x| / s, the two normal probabilities
#   n_plus = N(-a + s/2),   n_minus = N(-a - s/2)
# have arguments <= s/2, so they keep full relative precision far from the money. The
# out-of-the-money time value is min(F,K) n_plus - max(F,K) n_minus for calls and puts alike, and
# N(+-d1), N(+-d2) are n_plus, n_minus or their complements depending on the sign of x.
#
# The arrays are processed in blocks small enough to stay in cache, with every temporary a
# reused scratch buffer: allocating fresh full-size temporaries costs more than the arithmetic.

_BLOCK = 8192


class _Scratch:
    """Block-sized work buffers, allocated once per call."""

    def __init__(self, count: int, size: int) -> None:
        self.buffers = [np.empty(size) for _ in range(count)]

    def take(self, n: int) -> list[FloatArray]:
        return [b[:n] for b in self.buffers]


def _block_core(
    f: FloatArray,
    k: FloatArray,
    t: FloatArray,
    v: FloatArray,
    call: BoolArray,
    price: FloatArray,
    x: FloatArray,
    s: FloatArray,
    sqrt_t: FloatArray,
    n_plus: FloatArray,
    n_minus: FloatArray,
    w: FloatArray,
) -> bool:
    """Fill price (USD), x, s, sqrt_t, n_plus, n_minus for one block; True if some s == 0."""
    np.sqrt(t, out=sqrt_t)
    np.multiply(v, sqrt_t, out=s)
    np.divide(f, k, out=x)
    np.log(x, out=x)
    a = np.abs(x, out=n_minus)
    np.divide(a, s, out=a)
    some_zero = not s.min() > 0
    if some_zero:
        # 0/0 at the money: the s -> 0 limit of |x|/s is 0 there (and +inf elsewhere).
        a[(s == 0) & (x == 0)] = 0.0
    half_s = np.multiply(s, 0.5, out=w)
    np.subtract(half_s, a, out=n_plus)
    ndtr(n_plus, out=n_plus)
    np.add(a, half_s, out=a)
    np.negative(a, out=a)
    ndtr(a, out=n_minus)
    # time value = min(F,K) n_plus - max(F,K) n_minus, >= 0 despite rounding
    np.minimum(f, k, out=price)
    np.multiply(price, n_plus, out=price)
    np.maximum(f, k, out=w)
    np.multiply(w, n_minus, out=w)
    np.subtract(price, w, out=price)
    np.maximum(price, 0.0, out=price)
    # + intrinsic value max(q (F - K), 0), q = +1 for calls and -1 for puts (exact either way)
    np.multiply(call, 2.0, out=w)
    np.subtract(w, 1.0, out=w)
    np.multiply(w, f - k, out=w)
    np.maximum(w, 0.0, out=w)
    np.add(price, w, out=price)
    return some_zero


def price_numpy(b: Batch) -> FloatArray:
    n = b.f.size
    out = np.empty(n)
    scratch = _Scratch(6, min(n, _BLOCK))
    with np.errstate(all="ignore"):
        for lo in range(0, n, _BLOCK):
            hi = min(lo + _BLOCK, n)
            sl = slice(lo, hi)
            _block_core(b.f[sl], b.k[sl], b.t[sl], b.v[sl], b.call[sl], out[sl], *scratch.take(hi - lo))
    mask_invalid([out], b)
    return out


def greeks_numpy(b: Batch) -> Black76Result:
    n = b.f.size
    out = np.empty((7, n))
    scratch = _Scratch(6, min(n, _BLOCK))
    with np.errstate(all="ignore"):
        for lo in range(0, n, _BLOCK):
            hi = min(lo + _BLOCK, n)
            sl = slice(lo, hi)
            f, k, t, v, call = b.f[sl], b.k[sl], b.t[sl], b.v[sl], b.call[sl]
            price_usd, price_coin, delta, gamma, vega, theta, rho = (row[sl] for row in out)
            x, s, sqrt_t, n_plus, n_minus, w = scratch.take(hi - lo)
            some_zero = _block_core(f, k, t, v, call, price_usd, x, s, sqrt_t, n_plus, n_minus, w)
            np.divide(price_usd, f, out=price_coin)
            # delta is N(d1) for calls and -N(-d1) for puts: on the out-of-the-money side that is
            # n_plus (call, x < 0) or -n_minus (put, x >= 0), and the in-the-money side adds
            # +-1 = call - below. rho uses N(d2) and -N(-d2) the same way.
            below = x < 0
            np.subtract(call, below, out=w, dtype=np.float64)
            np.negative(n_minus, out=delta)
            np.copyto(delta, n_plus, where=below)
            np.add(delta, w, out=delta)
            np.negative(n_plus, out=rho)
            np.copyto(rho, n_minus, where=below)
            np.add(rho, w, out=rho)
            np.multiply(rho, k, out=rho)
            np.multiply(rho, t, out=rho)
            np.multiply(rho, 0.01, out=rho)
            # pdf(d1), d1 = x/s + s/2
            pdf = np.divide(x, s, out=n_plus)
            np.multiply(s, 0.5, out=w)
            np.add(pdf, w, out=pdf)
            if some_zero:
                pdf[(s == 0) & (x == 0)] = 0.0
            np.multiply(pdf, pdf, out=pdf)
            np.multiply(pdf, -0.5, out=pdf)
            np.exp(pdf, out=pdf)
            np.multiply(pdf, INV_SQRT_2PI, out=pdf)
            np.multiply(f, s, out=gamma)
            np.divide(pdf, gamma, out=gamma)
            f_pdf = np.multiply(f, pdf, out=pdf)
            np.multiply(f_pdf, sqrt_t, out=vega)
            np.multiply(vega, 0.01, out=vega)
            # theta: -F pdf sigma / (2 sqrt T) / 365 per day, times min(1, days left), >= -value
            np.multiply(f_pdf, v, out=theta)
            np.divide(theta, sqrt_t, out=theta)
            np.multiply(t, DAYS_PER_YEAR, out=w)
            np.minimum(w, 1.0, out=w)
            np.multiply(theta, w, out=theta)
            np.multiply(theta, -0.5 / DAYS_PER_YEAR, out=theta)
            if some_zero:
                zero = s == 0
                gamma[zero] = np.where(x[zero] == 0, np.inf, 0.0)
                theta[t == 0] = 0.0
            np.negative(price_usd, out=w)
            np.maximum(theta, w, out=theta)
            np.add(theta, 0.0, out=theta)  # -0.0 -> 0.0
    outs = list(out)
    mask_invalid(outs, b)
    return Black76Result(*outs)
