"""The numba-compiled "Let's Be Rational" solver behind :func:`trading.quant.implied_vol.implied_vol`."""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from trading.quant.black76 import FloatArray

Int8Array = npt.NDArray[np.int8]

# Status codes written by iv_kernel (the values of IVStatus).
OK = 0
BELOW_INTRINSIC = 1
ABOVE_UPPER_BOUND = 2
INVALID_INPUT = 3
NO_TIME_VALUE = 4

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / _SQRT_2PI
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_SQRT3 = math.sqrt(3.0)
_LOWER_MAP_COEF = 2.0 * math.pi / (3.0 * _SQRT3)
_EPS = 2.220446049250313e-16
_R_MAX = 1.0 / (_EPS * _EPS)
_R_MIN = -(1.0 - math.sqrt(_EPS))
_HOUSEHOLDER_STEPS = 2
_MAX_STEPS = 12
_BRANCH_LOWER = 0
_BRANCH_MIDDLE = 1
_BRANCH_UPPER = 2

_jit = numba.njit(cache=True, fastmath=False, error_model="numpy")


# --------------------------------------------------------------------------------------------
# normal distribution


@_jit
def _cdf(z: float) -> float:
    return 0.5 * math.erfc(-z * _INV_SQRT2)


@_jit
def _inv_cdf(p: float) -> float:
    """Inverse normal CDF for 0 < p < 1 (relative error ~1e-10): A&S 26.2.23 and a Halley step.

    Only used for initial guesses, which the Householder steps then polish.
    """
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    q = p if p < 0.5 else 1.0 - p
    t = math.sqrt(-2.0 * math.log(q))
    z = -(
        t
        - (2.515517 + t * (0.802853 + t * 0.010328)) / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)))
    )
    u = (_cdf(z) - q) * _SQRT_2PI * math.exp(0.5 * z * z)
    if math.isfinite(u):
        z = z - u / (1.0 + 0.5 * z * u)
    return z if p < 0.5 else -z


# --------------------------------------------------------------------------------------------
# normalised Black for x <= 0 (out-of-the-money call)


@_jit
def _b(x: float, s: float, e_half: float) -> float:
    """b(x, s) with e_half = exp(x/2).

    Both terms are lower-tail probabilities with full relative precision; their difference loses
    digits only when s^2 is small against |x|, where b is insensitive to them: the implied
    s still comes out to about 1e-12 relative.
    """
    if s <= 0.0:
        return 0.0
    h = x / s
    t = 0.5 * s
    return max(e_half * _cdf(h + t) - _cdf(h - t) / e_half, 0.0)


@_jit
def _b_max_minus_b(x: float, s: float, e_half: float) -> float:
    """b_max - b(x, s) as a sum of two positive terms (accurate when b is close to b_max)."""
    h = x / s
    t = 0.5 * s
    return e_half * _cdf(-h - t) + _cdf(h - t) / e_half


@_jit
def _vega(x: float, s: float) -> float:
    """db/ds = exp(-(x^2/s^2 + s^2/4)/2) / sqrt(2 pi)."""
    if s <= 0.0:
        return _INV_SQRT_2PI if x == 0.0 else 0.0
    h = x / s
    t = 0.5 * s
    return _INV_SQRT_2PI * math.exp(-0.5 * (h * h + t * t))


# --------------------------------------------------------------------------------------------
# rational cubic interpolation (Delbourgo & Gregory 1985)


@_jit
def _rational_cubic(
    xv: float, x_l: float, x_r: float, y_l: float, y_r: float, d_l: float, d_r: float, r: float
) -> float:
    h = x_r - x_l
    if abs(h) <= 0.0:
        return 0.5 * (y_l + y_r)
    t = (xv - x_l) / h
    if r >= _R_MAX:  # the limit r -> infinity is linear interpolation
        return y_r * t + y_l * (1.0 - t)
    omt = 1.0 - t
    t2 = t * t
    omt2 = omt * omt
    num = y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2 + y_l * omt2 * omt
    return num / (1.0 + (r - 3.0) * t * omt)


@_jit
def _min_control(d_l: float, d_r: float, slope: float) -> float:
    """Smallest control parameter keeping the interpolant monotone and convex/concave as the data."""
    monotone = d_l * slope >= 0.0 and d_r * slope >= 0.0
    convex = d_l <= slope <= d_r
    concave = d_l >= slope >= d_r
    r = _R_MIN
    if monotone:
        r = max(r, (d_l + d_r) / slope if slope != 0.0 else _R_MAX)
    if convex or concave:
        a = d_r - slope
        b = slope - d_l
        r = max(r, abs((d_r - d_l) / a) if a != 0.0 else _R_MAX, abs((d_r - d_l) / b) if b != 0.0 else _R_MAX)
    return r


@_jit
def _control_left(
    x_l: float, x_r: float, y_l: float, y_r: float, d_l: float, d_r: float, second_l: float
) -> float:
    """Control parameter matching the second derivative at the left end, shape-preserving."""
    h = x_r - x_l
    slope = (y_r - y_l) / h
    den = slope - d_l
    r = (0.5 * h * second_l + d_r - d_l) / den if den != 0.0 else _R_MAX
    r_min = _min_control(d_l, d_r, slope)
    return min(max(r, r_min), _R_MAX) if math.isfinite(r) else max(r_min, _R_MAX)


@_jit
def _control_right(
    x_l: float, x_r: float, y_l: float, y_r: float, d_l: float, d_r: float, second_r: float
) -> float:
    """Control parameter matching the second derivative at the right end, shape-preserving."""
    h = x_r - x_l
    slope = (y_r - y_l) / h
    den = d_r - slope
    r = (0.5 * h * second_r + d_r - d_l) / den if den != 0.0 else _R_MAX
    r_min = _min_control(d_l, d_r, slope)
    return min(max(r, r_min), _R_MAX) if math.isfinite(r) else max(r_min, _R_MAX)


# --------------------------------------------------------------------------------------------
# the lower and upper maps, with their first two derivatives with respect to b


@_jit
def _lower_map(x: float, s: float) -> tuple[float, float, float]:
    """f = 2 pi |x| / (3 sqrt 3) N(-z)^3 with z = |x| / (sqrt 3 s), and df/db, d2f/db2.

    f ~ b as s -> 0 (df/db -> 1), so interpolating f(b) is nearly linear near 0.
    """
    ax = -x
    z = ax / (_SQRT3 * s)
    y = z * z
    p = _cdf(-z)
    pdf = _INV_SQRT_2PI * math.exp(-0.5 * y)
    f = _LOWER_MAP_COEF * ax * p * p * p
    fp = 2.0 * math.pi * y * p * p * math.exp(y + 0.125 * s * s)
    bracket = (2.0 * p * pdf * z - 2.0 * p * p - 2.0 * y * p * p) / s + 0.25 * p * p * s
    fpp = (2.0 * math.pi) ** 1.5 * y * math.exp(2.5 * y + 0.25 * s * s) * bracket
    return f, fp, fpp


@_jit
def _inverse_lower_map(x: float, f: float) -> float:
    """s with lower map value f."""
    p = (f / (_LOWER_MAP_COEF * -x)) ** (1.0 / 3.0)
    return -x / (_SQRT3 * -_inv_cdf(p))


@_jit
def _upper_map(x: float, s: float) -> tuple[float, float, float]:
    """f = N(-s/2), and df/db, d2f/db2; inverted by s = -2 N^-1(f)."""
    f = _cdf(-0.5 * s)
    w = x * x / (s * s)
    fp = -0.5 * math.exp(0.5 * w)
    fpp = _SQRT_2PI * 0.5 * w / s * math.exp(w + 0.125 * s * s)
    return f, fp, fpp


# --------------------------------------------------------------------------------------------
# the solver


@_jit
def _householder_step(x: float, s: float, e_half: float, branch: int, g_target: float) -> float:
    """One third-order Householder step on the branch's objective; returns the new s.

    ``g_target`` is the objective's constant part: 1/ln(beta) (lower), ln(b_max - beta) (upper)
    or beta (middle).
    """
    h = x / s
    t = 0.5 * s
    vega = _INV_SQRT_2PI * math.exp(-0.5 * (h * h + t * t))
    r2 = x * x / (s * s * s) - 0.25 * s  # b'' / b'
    r3 = r2 * r2 - 3.0 * (x * x) / (s * s * s * s) - 0.25  # b''' / b'
    if branch == _BRANCH_LOWER:
        b = _b(x, s, e_half)
        if not b > 0.0 or vega <= 0.0:
            return np.nan
        ln_b = math.log(b)
        q = vega / b
        g = 1.0 / ln_b - g_target
        g1 = -q / (ln_b * ln_b)
        h2 = r2 - q * (1.0 + 2.0 / ln_b)
        h3 = r3 - r2 * r2 - (q * r2 - q * q) * (1.0 + 2.0 / ln_b) + 2.0 * q * q / (ln_b * ln_b) + h2 * h2
    elif branch == _BRANCH_UPPER:
        d = _b_max_minus_b(x, s, e_half)
        if not d > 0.0:
            return np.nan
        p = vega / d
        g = g_target - math.log(d)
        g1 = p
        h2 = r2 + p
        h3 = r3 - r2 * r2 + p * r2 + p * p + h2 * h2
    else:
        if vega <= 0.0:
            return np.nan
        g = _b(x, s, e_half) - g_target
        g1 = vega
        h2 = r2
        h3 = r3
    nu = -g / g1
    return s + nu * (1.0 + 0.5 * nu * h2) / (1.0 + nu * (h2 + nu * h3 / 6.0))


@_jit
def _implied_s(beta: float, x: float) -> float:
    """s = sigma sqrt(T) with b(x, s) = beta, for x <= 0 and 0 < beta < exp(x/2)."""
    e_half = math.exp(0.5 * x)
    b_max = e_half
    s_c = math.sqrt(-2.0 * x)
    b_c = _b(x, s_c, e_half)
    v_c = _vega(x, s_c)
    # The root lies in [lo, hi]: b is increasing, and each branch covers one interval of s.
    if beta < b_c:
        s_l = s_c - b_c / v_c
        b_l = _b(x, s_l, e_half)
        if beta < b_l:
            branch = _BRANCH_LOWER
            lo, hi = 0.0, s_l
            f_l, fp_l, fpp_l = _lower_map(x, s_l)
            r = _control_right(0.0, b_l, 0.0, f_l, 1.0, fp_l, fpp_l)
            f = _rational_cubic(beta, 0.0, b_l, 0.0, f_l, 1.0, fp_l, r)
            if not (0.0 < f < f_l):
                u = beta / b_l
                f = (f_l * u + b_l * (1.0 - u)) * u
            s = _inverse_lower_map(x, f)
        else:
            branch = _BRANCH_MIDDLE
            lo, hi = s_l, s_c
            v_l = _vega(x, s_l)
            r = _control_right(b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0)
            s = _rational_cubic(beta, b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r)
    else:
        s_u = s_c + (b_max - b_c) / v_c
        b_u = _b(x, s_u, e_half)
        if beta <= b_u:
            branch = _BRANCH_MIDDLE
            lo, hi = s_c, s_u
            v_u = _vega(x, s_u)
            r = _control_left(b_c, b_u, s_c, s_u, 1.0 / v_c, 1.0 / v_u, 0.0)
            s = _rational_cubic(beta, b_c, b_u, s_c, s_u, 1.0 / v_c, 1.0 / v_u, r)
        else:
            branch = _BRANCH_UPPER
            lo, hi = s_u, np.inf
            f_u, fp_u, fpp_u = _upper_map(x, s_u)
            r = _control_left(b_u, b_max, f_u, 0.0, fp_u, -0.5, fpp_u)
            f = _rational_cubic(beta, b_u, b_max, f_u, 0.0, fp_u, -0.5, r)
            if not (0.0 < f < f_u):
                f = f_u * (b_max - beta) / (b_max - b_u)
            s = -2.0 * _inv_cdf(f)
    if not (s > 0.0 and lo <= s <= hi):
        s = 0.5 * (lo + hi) if hi < np.inf else 2.0 * lo
    # The part of each objective that does not depend on s.
    if branch == _BRANCH_LOWER:
        g_target = 1.0 / math.log(beta)
    elif branch == _BRANCH_UPPER:
        g_target = math.log(b_max - beta)
    else:
        g_target = beta
    # Two Householder steps reach the attainable precision from these guesses; a step that left
    # the bracket was replaced by bisection and earns one more step.
    steps = 0
    budget = _HOUSEHOLDER_STEPS
    while steps < budget:
        steps += 1
        s_new = _householder_step(x, s, e_half, branch, g_target)
        if s_new != s_new:  # NaN: b underflowed; keep the last value
            break
        if not (s_new > 0.0 and lo <= s_new <= hi):
            if s_new < lo or s_new <= 0.0:
                s_new = 0.5 * (s + lo)
            else:
                s_new = 0.5 * (s + hi) if hi < np.inf else 2.0 * s
            budget = min(budget + 1, _MAX_STEPS)
        s = s_new
    return s


@_jit
def iv_kernel(
    price_usd: FloatArray,
    forward: FloatArray,
    strike: FloatArray,
    t_years: FloatArray,
    call: npt.NDArray[np.bool_],
    iv: FloatArray,
    status: Int8Array,
) -> None:
    for i in range(price_usd.shape[0]):
        p = price_usd[i]
        f = forward[i]
        k = strike[i]
        t = t_years[i]
        iv[i] = np.nan
        if not (
            f > 0.0 and k > 0.0 and t > 0.0 and f < np.inf and k < np.inf and t < np.inf and math.isfinite(p)
        ):
            status[i] = INVALID_INPUT
            continue
        intrinsic = max(f - k, 0.0) if call[i] else max(k - f, 0.0)
        tv = p - intrinsic
        tol = 4.0 * _EPS * (abs(p) + intrinsic) if intrinsic > 0.0 else 0.0
        if tv < -tol or p < 0.0:
            status[i] = BELOW_INTRINSIC
            continue
        if tv <= tol:
            status[i] = NO_TIME_VALUE
            continue
        if tv >= min(f, k):
            status[i] = ABOVE_UPPER_BOUND
            continue
        x = -abs(math.log(f / k))
        beta = tv / math.sqrt(f) / math.sqrt(k)
        if beta >= math.exp(0.5 * x):
            status[i] = ABOVE_UPPER_BOUND
            continue
        s = _implied_s(beta, x)
        iv[i] = s / math.sqrt(t)
        status[i] = OK
