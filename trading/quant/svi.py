"""Raw-SVI smiles per expiry: fit, arbitrage checks, interpolation across expiries, quote fit.

Total implied variance at log-moneyness k = ln(K/F) and time T (years, 365-day year):

    w(k) = a + b·(rho·(k - m) + sqrt((k - m)² + sigma²)),   IV(k) = sqrt(w(k) / T)   (decimal)

Parameters are stored as float64 rows ``(a, b, rho, m, sigma)`` in total-variance units.

All slices of a chain are fitted at once with the quasi-explicit reduction (Zeliade 2009): for a
fixed (m, sigma) the weighted least squares is linear in (a, b, b·rho) and solved exactly; (m, sigma) is
searched coarse-to-fine over a grid, vectorised over slices and candidates, so a full BTC chain
refits in a few milliseconds. The search is global in (m, sigma) (a grid over the whole
plausible range before any refinement), so a poor starting point cannot trap it. Bounds keep
every fit inside the raw-SVI domain:
b ≥ 0, |rho| < 1, sigma > 0, minimum variance a + b·sigma·sqrt(1 - rho²) ≥ 0 and Roger Lee's moment bound
b·(1 + |rho|) ≤ 2 on the wings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

N_PARAMS = 5
RHO_MAX = 0.999
SIGMA_MIN = 1e-4
SIGMA_MAX = 5.0
LEE_SLOPE_MAX = 2.0
COARSE_GRID = 15  # cold start: COARSE_GRID² candidates of (m, sigma) per slice
ZOOM_LEVELS = 9  # refinements around the best candidate, each on a 5*5 pattern
ZOOM_SHRINK = 0.5  # step factor per refinement
_ZOOM_OFFSETS = np.linspace(-2.0, 2.0, 5)
_ZOOM_M = np.repeat(_ZOOM_OFFSETS, 5)[None, :]
_ZOOM_S = np.tile(_ZOOM_OFFSETS, 5)[None, :]


def svi_total_variance(k: npt.ArrayLike, params: npt.ArrayLike) -> FloatArray:
    """Raw-SVI total variance w(k) (years·vol²); ``params[..., :]`` = (a, b, rho, m, sigma).

    Broadcasts ``k`` against the leading axes of ``params``.
    """
    p = np.asarray(params, dtype=np.float64)
    a, b, rho, m, s = (p[..., i] for i in range(N_PARAMS))
    x = np.asarray(k, dtype=np.float64) - m
    return a + b * (rho * x + np.sqrt(x * x + s * s))


def svi_implied_vol(k: npt.ArrayLike, params: npt.ArrayLike, t_years: npt.ArrayLike) -> FloatArray:
    """Implied vol (decimal) of a raw-SVI slice; NaN where total variance is negative."""
    w = svi_total_variance(k, params)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.where(w >= 0.0, w, np.nan) / np.asarray(t_years, dtype=np.float64))


def durrleman_g(k: npt.ArrayLike, params: npt.ArrayLike) -> FloatArray:
    """Durrleman's butterfly density factor g(k); the slice is free of butterfly arbitrage iff g ≥ 0."""
    p = np.asarray(params, dtype=np.float64)
    a, b, rho, m, s = (p[..., i] for i in range(N_PARAMS))
    x = np.asarray(k, dtype=np.float64) - m
    r = np.sqrt(x * x + s * s)
    w = a + b * (rho * x + r)
    w1 = b * (rho + x / r)
    w2 = b * s * s / (r * r * r)
    kk = np.asarray(k, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1.0 - kk * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2


@dataclass(frozen=True)
class SviFit:
    """Fitted raw-SVI slices of one chain, sorted by the caller's slice index.

    ``params`` (E, 5) in total-variance units (NaN for a slice without points); ``t_years`` (E,);
    ``rmse_iv`` (E,) is the unweighted RMSE of IV (decimal) over the fitted points; ``n_points``
    counts them; ``ok`` marks slices with at least 5 points (fewer under-determine the 5 parameters);
    ``k_min``/``k_max`` (E,) is the k range of the fitted points (NaN without points);
    ``objective`` (E,) is the minimised weighted sum of squares (see :func:`fit_svi`).
    """

    params: FloatArray
    t_years: FloatArray
    rmse_iv: FloatArray
    n_points: IntArray
    ok: BoolArray
    k_min: FloatArray
    k_max: FloatArray
    objective: FloatArray

    def slice_total_variance(self, k: npt.ArrayLike, slice_idx: npt.ArrayLike) -> FloatArray:
        """w(k) of slice ``slice_idx`` (broadcast with k)."""
        return svi_total_variance(k, self.params[np.asarray(slice_idx, dtype=np.int64)])

    def slice_implied_vol(self, k: npt.ArrayLike, slice_idx: npt.ArrayLike) -> FloatArray:
        """IV (decimal) of slice ``slice_idx`` at k."""
        idx = np.asarray(slice_idx, dtype=np.int64)
        return svi_implied_vol(k, self.params[idx], self.t_years[idx])

    def total_variance(self, k: npt.ArrayLike, t_years: npt.ArrayLike) -> FloatArray:
        """Surface total variance at (k, T): linear in T between slices at fixed k, flat vol outside.

        Uses only the ``ok`` slices; slices must be given in increasing T.
        """
        ok = self.ok & np.isfinite(self.params).all(axis=1)
        params, ts = self.params[ok], self.t_years[ok]
        if len(ts) == 0:
            raise ValueError("no fitted slice to interpolate")
        kk, tt = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(t_years, dtype=np.float64))
        hi = np.clip(np.searchsorted(ts, tt, side="left"), 1, max(len(ts) - 1, 1))
        lo = hi - 1 if len(ts) > 1 else np.zeros_like(hi)
        hi = np.minimum(hi, len(ts) - 1)
        w_lo = svi_total_variance(kk, params[lo])
        w_hi = svi_total_variance(kk, params[hi])
        t_lo, t_hi = ts[lo], ts[hi]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(t_hi > t_lo, (tt - t_lo) / (t_hi - t_lo), 0.0)
        inside = w_lo + frac * (w_hi - w_lo)
        before = w_lo * tt / t_lo  # flat vol: same IV as the first slice
        after = w_hi * tt / t_hi  # same IV as the last slice
        return np.where(tt < ts[0], before, np.where(tt > ts[-1], after, inside))

    def implied_vol(self, k: npt.ArrayLike, t_years: npt.ArrayLike) -> FloatArray:
        """Surface IV (decimal) at (k, T), interpolated as in :meth:`total_variance`."""
        w = self.total_variance(k, t_years)
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.where(w >= 0.0, w, np.nan) / np.asarray(t_years, dtype=np.float64))


def _pad(slice_id: IntArray, n_slices: int, *cols: FloatArray) -> tuple[list[FloatArray], BoolArray]:
    order = np.argsort(slice_id, kind="stable")
    sid = slice_id[order]
    counts = np.bincount(sid, minlength=n_slices)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(sid)) - starts[sid]
    width = max(int(counts.max(initial=0)), 1)
    mask = np.zeros((n_slices, width), dtype=bool)
    mask[sid, pos] = True
    out = []
    for c in cols:
        m = np.zeros((n_slices, width))
        m[sid, pos] = c[order]
        out.append(m)
    return out, mask


@dataclass(frozen=True)
class _Moments:
    """Per-slice weighted moments of the data, computed once per fit; arrays (E, 1) unless noted."""

    k: FloatArray  # (E, N) log-moneyness, padded
    basis: FloatArray  # (E, N, 3): p, p·(k - k̄), p·(w - w̄) with p the normalised weights
    s1: FloatArray  # sum of squared weights
    k_bar: FloatArray
    k2_bar: FloatArray
    w_bar: FloatArray
    vxx: FloatArray
    vxw: FloatArray
    vww: FloatArray


def _moments(k: FloatArray, w: FloatArray, ww: FloatArray) -> _Moments:
    s1 = ww.sum(axis=1, keepdims=True)
    p = ww / s1
    k_bar = (p * k).sum(axis=1, keepdims=True)
    w_bar = (p * w).sum(axis=1, keepdims=True)
    kc, wc = k - k_bar, w - w_bar
    return _Moments(
        k=k,
        basis=np.stack([p, p * kc, p * wc], axis=-1),
        s1=s1,
        k_bar=k_bar,
        k2_bar=(p * k * k).sum(axis=1, keepdims=True),
        w_bar=w_bar,
        vxx=(p * kc * kc).sum(axis=1, keepdims=True),
        vxw=(p * kc * wc).sum(axis=1, keepdims=True),
        vww=(p * wc * wc).sum(axis=1, keepdims=True),
    )


def _reduced_solve(m: FloatArray, s: FloatArray, d: _Moments) -> tuple[FloatArray, FloatArray]:
    """Best feasible (a, b, rho) for each candidate (m, sigma), and its weighted cost.

    For fixed (m, sigma) the slice is linear in (a, b, b·rho) (the quasi-explicit reduction), so each
    candidate is a weighted least squares, solved in closed form after centring out ``a``.
    Infeasible solutions are pushed onto the bounds: |rho| ≤ RHO_MAX with b re-solved, then
    Lee's bound on b, then a ≥ the zero-minimum-variance level; the cost is exact for the result.
    Shapes: m, s (E, C). Returns params (E, C, 5) and cost (E, C).
    """
    x = d.k[:, None, :] - m[:, :, None]
    r = np.sqrt(x * x + (s * s)[:, :, None])
    mom = np.matmul(r, d.basis)  # weighted sums of r, r·(k - k̄), r·(w - w̄)
    r_bar, vrx, vrw = mom[..., 0], mom[..., 1], mom[..., 2]
    ex2 = d.k2_bar - 2.0 * m * d.k_bar + m * m  # E[(k - m)²], so E[r²] needs no second pass
    vrr = np.maximum(ex2 + s * s - r_bar * r_bar, 0.0)
    vxx, vxw = d.vxx, d.vxw
    det = vrr * vxx - vrx * vrx
    with np.errstate(divide="ignore", invalid="ignore"):
        good = det > 1e-14 * vrr * vxx
        c1 = np.where(good, (vrw * vxx - vrx * vxw) / det, 0.0)
        c2 = np.where(good, (vxw * vrr - vrx * vrw) / det, 0.0)
        rho_free = np.where(c1 > 0.0, c2 / c1, np.nan)
        ok = np.abs(rho_free) <= RHO_MAX
        rho = np.where(ok, rho_free, np.where(c1 > 0.0, np.sign(c2) * RHO_MAX, 0.0))
        # with rho fixed the slice is linear in b along g = rho·x + r
        vgg = rho * rho * vxx + 2.0 * rho * vrx + vrr
        vgw = rho * vxw + vrw
        b = np.where(ok, c1, np.where(vgg > 0.0, vgw / vgg, 0.0))
    b = np.clip(b, 0.0, LEE_SLOPE_MAX / (1.0 + np.abs(rho)))
    a_opt = d.w_bar - b * (rho * (d.k_bar - m) + r_bar)
    a = np.maximum(a_opt, -b * s * np.sqrt(1.0 - rho * rho))
    cost = d.s1 * (d.vww - 2.0 * b * vgw + b * b * vgg + (a - a_opt) ** 2)
    return np.stack([a, b, rho, m, s], axis=-1), cost


def _take(d: _Moments, idx: IntArray) -> _Moments:
    return _Moments(*(getattr(d, f)[idx] for f in _Moments.__dataclass_fields__))


def _zoom(
    d: _Moments, best: FloatArray, dm: FloatArray, dls: FloatArray, m_lo: FloatArray, m_hi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Shrinking 5*5 pattern search in (m, log sigma) around ``best``; returns params and their cost."""
    rows = np.arange(len(best))
    ls_lo, ls_hi = np.log(SIGMA_MIN), np.log(SIGMA_MAX)
    cost = np.full(len(best), np.inf)
    for _ in range(ZOOM_LEVELS):
        mm = np.clip(best[:, 3:4] + dm[:, None] * _ZOOM_M, m_lo, m_hi)
        ls = np.clip(np.log(best[:, 4:5]) + dls[:, None] * _ZOOM_S, ls_lo, ls_hi)
        params, costs = _reduced_solve(mm, np.exp(ls), d)
        pick = np.argmin(costs, axis=1)
        best, cost = params[rows, pick], costs[rows, pick]
        dm, dls = dm * ZOOM_SHRINK, dls * ZOOM_SHRINK
    return best, cost


def _grid_search(d: _Moments, k_lo: FloatArray, k_hi: FloatArray, centre: FloatArray | None) -> FloatArray:
    """Global search over (m, log sigma) with the exact inner solve; returns params (E, 5).

    ``k_lo``/``k_hi`` (E,) is the data's k range; m is searched within one range beyond it and sigma
    within [0.004, 2] ranges: a coarse grid, then a shrinking pattern around the best point. With
    a warm ``centre`` a second, finer refinement runs from the previous (m, sigma) and the better of
    the two wins, so a warm start is never worse than a cold one and the fit stays in the same
    basin from tick to tick when that basin is still the best.
    """
    span = np.maximum(k_hi - k_lo, 1e-3)
    m_lo, m_hi = (k_lo - span)[:, None], (k_hi + span)[:, None]
    rows = np.arange(len(span))
    n = COARSE_GRID
    u_m = np.linspace(-0.3, 1.3, n)
    u_s = np.linspace(np.log(0.004), np.log(2.0), n)
    mm = np.repeat(k_lo[:, None] + span[:, None] * u_m[None, :], n, axis=1)
    ls = np.tile(np.log(span)[:, None] + u_s[None, :], (1, n))
    params, cost = _reduced_solve(
        np.clip(mm, m_lo, m_hi), np.exp(np.clip(ls, np.log(SIGMA_MIN), np.log(SIGMA_MAX))), d
    )
    best = params[rows, np.argmin(cost, axis=1)]
    dm = span * (u_m[1] - u_m[0])
    dls = np.full(len(span), u_s[1] - u_s[0])
    if centre is None:
        return _zoom(d, best, dm, dls, m_lo, m_hi)[0]
    start = centre.copy()
    start[:, 3] = np.clip(start[:, 3], m_lo[:, 0], m_hi[:, 0])
    start[:, 4] = np.clip(start[:, 4], SIGMA_MIN, SIGMA_MAX)
    both = np.concatenate([rows, rows])
    out, out_cost = _zoom(
        _take(d, both),
        np.concatenate([best, start]),
        np.concatenate([dm, 0.05 * span]),
        np.concatenate([dls, np.full(len(span), 0.25)]),
        m_lo[both],
        m_hi[both],
    )
    warm_wins = out_cost[len(span) :] < out_cost[: len(span)]
    return np.where(warm_wins[:, None], out[len(span) :], out[: len(span)])


def fit_svi(
    *,
    slice_id: npt.ArrayLike,
    k: npt.ArrayLike,
    iv: npt.ArrayLike,
    t_years: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    initial: npt.ArrayLike | None = None,
) -> SviFit:
    """Fit one raw-SVI slice per expiry to IVs, all slices at once.

    ``slice_id`` (int, 0..E-1), ``k`` = ln(K/F), ``iv`` (decimal) and ``weights`` are per point;
    ``t_years`` (E,) per slice, increasing. The objective is Σ (weight·(IV_svi - IV))², with the
    IV error linearised in total variance (ΔIV ≈ Δw / (2·IV·T)). Points with zero weight or a
    non-finite IV are ignored.

    Method: for fixed (m, sigma) the objective is a weighted linear least squares in (a, b, b·rho), solved
    exactly (with the bounds); (m, sigma) is found by a 15*15 grid over the data's k range and
    sigma ∈ [0.004, 2]·range, then refined by a shrinking 5*5 pattern. ``initial`` (E, 5), e.g. the
    previous tick's ``params`` for the same expiries, adds a second refinement from the previous
    (m, sigma); the better result is kept, so a warm fit is never worse than a cold one and stays in
    the previous basin while that is still the best. Rows with NaN start cold only.
    """
    sid = np.asarray(slice_id, dtype=np.int64)
    kk = np.asarray(k, dtype=np.float64)
    vol = np.asarray(iv, dtype=np.float64)
    ts = np.atleast_1d(np.asarray(t_years, dtype=np.float64))
    wt = np.ones_like(kk) if weights is None else np.asarray(weights, dtype=np.float64)
    n_slices = len(ts)
    if not (sid.shape == kk.shape == vol.shape == wt.shape):
        raise ValueError("slice_id, k, iv and weights must have the same shape")
    if sid.size and (sid.min() < 0 or sid.max() >= n_slices):
        raise ValueError("slice_id out of range of t_years")
    if np.any(ts <= 0.0):
        raise ValueError("t_years must be positive")
    good = np.isfinite(kk) & np.isfinite(vol) & (vol > 0.0) & np.isfinite(wt) & (wt > 0.0)
    sid, kk, vol, wt = sid[good], kk[good], vol[good], wt[good]
    t_pt = ts[sid]
    (k2, w2, c2), mask = _pad(sid, n_slices, kk, vol * vol * t_pt, wt / (2.0 * vol * t_pt))
    n_points = mask.sum(axis=1).astype(np.int64)
    empty = n_points == 0
    k2[empty, 0], w2[empty, 0], c2[empty, 0] = 0.0, 1e-4, 1.0  # keeps empty slices harmless
    present = mask | empty[:, None]
    k_lo = np.where(present, k2, np.inf).min(axis=1)
    k_hi = np.where(present, k2, -np.inf).max(axis=1)
    ww = c2 * c2
    warm = np.zeros(n_slices, dtype=bool)
    params = np.empty((n_slices, N_PARAMS))
    if initial is not None:
        init = np.asarray(initial, dtype=np.float64).reshape(n_slices, N_PARAMS)
        warm = np.isfinite(init).all(axis=1) & (init[:, 4] > 0.0)
        if warm.any():
            d = _moments(k2[warm], w2[warm], ww[warm])
            params[warm] = _grid_search(d, k_lo[warm], k_hi[warm], init[warm])
    if (~warm).any():
        cold = ~warm
        params[cold] = _grid_search(_moments(k2[cold], w2[cold], ww[cold]), k_lo[cold], k_hi[cold], None)
    ok = n_points >= N_PARAMS
    params[empty] = np.nan
    model_iv = svi_implied_vol(k2, params[:, None, :], ts[:, None])
    err = np.where(mask, model_iv - np.sqrt(w2 / ts[:, None]), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt((err * err).sum(axis=1) / n_points)
    resid = np.where(mask, c2 * (svi_total_variance(k2, params[:, None, :]) - w2), 0.0)
    return SviFit(
        params=params,
        t_years=ts,
        rmse_iv=rmse,
        n_points=n_points,
        ok=ok,
        k_min=np.where(empty, np.nan, k_lo),
        k_max=np.where(empty, np.nan, k_hi),
        objective=np.where(empty, np.nan, (resid * resid).sum(axis=1)),
    )


def _grid(k_lo: FloatArray, k_hi: FloatArray, n: int) -> FloatArray:
    u = np.linspace(0.0, 1.0, n)
    return k_lo[:, None] + (k_hi - k_lo)[:, None] * u[None, :]


def butterfly_violations(
    fit: SviFit, *, k_grid: npt.ArrayLike | None = None, n_grid: int = 201
) -> FloatArray:
    """Minimum of Durrleman's g(k) per slice (E,); a negative value is butterfly arbitrage.

    The default grid spans each slice's own fitted k range (where the market quotes), ``n_grid``
    points; pass ``k_grid`` (1-D, shared by all slices) to check elsewhere, e.g. the wings.
    NaN for slices without parameters.
    """
    if k_grid is None:
        grid = _grid(np.nan_to_num(fit.k_min), np.nan_to_num(fit.k_max), n_grid)
    else:
        grid = np.broadcast_to(np.asarray(k_grid, dtype=np.float64), (len(fit.params), np.size(k_grid)))
    g = durrleman_g(grid, fit.params[:, None, :])
    return np.where(
        np.isfinite(fit.params).all(axis=1), np.nanmin(np.where(np.isfinite(g), g, np.inf), axis=1), np.nan
    )


def calendar_violations(fit: SviFit, *, k_grid: npt.ArrayLike | None = None, n_grid: int = 201) -> FloatArray:
    """Per adjacent pair of slices (E-1,): min over k of w_{i+1}(k) - w_i(k); negative is calendar arbitrage.

    Slices must be in increasing T. The default grid is the overlap of the two slices' fitted k
    ranges (NaN where they do not overlap or a slice has no parameters); ``k_grid`` overrides it.
    """
    p_lo, p_hi = fit.params[:-1], fit.params[1:]
    if k_grid is None:
        lo = np.maximum(fit.k_min[:-1], fit.k_min[1:])
        hi = np.minimum(fit.k_max[:-1], fit.k_max[1:])
        valid = np.isfinite(lo) & np.isfinite(hi) & (hi >= lo)
        grid = _grid(np.where(valid, lo, 0.0), np.where(valid, hi, 0.0), n_grid)
    else:
        grid = np.broadcast_to(np.asarray(k_grid, dtype=np.float64), (len(p_lo), np.size(k_grid)))
        valid = np.ones(len(p_lo), dtype=bool)
    diff = svi_total_variance(grid, p_hi[:, None, :]) - svi_total_variance(grid, p_lo[:, None, :])
    valid &= np.isfinite(p_lo).all(axis=1) & np.isfinite(p_hi).all(axis=1)
    return np.where(valid, diff.min(axis=1), np.nan)


@dataclass(frozen=True)
class QuoteFit:
    """Where model IVs sit inside the bid/ask IV band of strikes with both quotes.

    ``position`` is (model - mid)/(half spread): -1 at the bid IV, +1 at the ask IV, NaN without a
    two-sided quote. ``inside_fraction`` is the share of those strikes with -1 ≤ position ≤ 1 (NaN
    when none); ``mean_position`` averages the positions clipped to ±5, so that one stale quote
    cannot dominate (> 0: the model leans to the ask side).
    """

    n_two_sided: int
    inside_fraction: float
    mean_position: float
    position: FloatArray


def quote_fit(
    model_iv: npt.ArrayLike, bid_iv: npt.ArrayLike, ask_iv: npt.ArrayLike, *, tol_iv: float = 0.0
) -> QuoteFit:
    """Score model IVs against bid/ask IVs (decimals); ``tol_iv`` widens the band on both sides."""
    m = np.asarray(model_iv, dtype=np.float64)
    b = np.asarray(bid_iv, dtype=np.float64)
    a = np.asarray(ask_iv, dtype=np.float64)
    two = np.isfinite(b) & np.isfinite(a) & np.isfinite(m) & (a >= b)
    mid = 0.5 * (a + b)
    half = 0.5 * (a - b) + tol_iv
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(two, (m - mid) / half, np.nan)
        pos = np.where(two & (half == 0.0), np.where(m == mid, 0.0, np.sign(m - mid) * np.inf), pos)
    n = int(two.sum())
    inside = float(np.mean(np.abs(pos[two]) <= 1.0 + 1e-9)) if n else float("nan")  # edge counts as inside
    mean_pos = float(np.mean(np.clip(pos[two], -5.0, 5.0))) if n else float("nan")
    return QuoteFit(n_two_sided=n, inside_fraction=inside, mean_position=mean_pos, position=pos)


@dataclass(frozen=True)
class SmilePoints:
    """Fit inputs taken from a chain: one point per strike and expiry (the out-of-the-money option).

    ``rows`` index the chain rows used; ``slice_id`` 0..E-1 follows ``expiry_codes`` in increasing
    T; ``iv`` is the mid of bid and ask IV (decimal), ``weight`` = 1 / max(ask_iv - bid_iv,
    ``min_spread_iv``); ``t_years`` (E,) per slice.
    """

    rows: IntArray
    slice_id: IntArray
    k: FloatArray
    iv: FloatArray
    weight: FloatArray
    bid_iv: FloatArray
    ask_iv: FloatArray
    t_years: FloatArray


def smile_points(
    *,
    expiry_code: npt.ArrayLike,
    t_years: npt.ArrayLike,
    strike: npt.ArrayLike,
    forward: npt.ArrayLike,
    is_call: npt.ArrayLike,
    bid_iv: npt.ArrayLike,
    ask_iv: npt.ArrayLike,
    min_spread_iv: float = 0.005,
) -> SmilePoints:
    """Select what to fit from a chain (all arrays per option row).

    Keeps the out-of-the-money option of each strike (calls at K ≥ F, puts below) with both a bid
    and an ask IV; its target is the mid IV, weighted by the inverse IV spread (floored at
    ``min_spread_iv`` so a one-tick spread cannot dominate). Deribit's own mark IV is not used:
    it sits outside the quotes for a few percent of strikes. One-sided strikes are left out: their
    IV is unidentified (a 0.0001-coin ask spans tens of vol points in the wings).
    ``expiry_code`` must number expiries 0..E-1 in increasing T.
    """
    code = np.asarray(expiry_code, dtype=np.int64)
    t = np.asarray(t_years, dtype=np.float64)
    k_usd = np.asarray(strike, dtype=np.float64)
    f = np.asarray(forward, dtype=np.float64)
    call = np.asarray(is_call, dtype=bool)
    bid = np.asarray(bid_iv, dtype=np.float64)
    ask = np.asarray(ask_iv, dtype=np.float64)
    n_slices = int(code.max()) + 1 if code.size else 0
    t_slice = np.full(n_slices, np.nan)
    t_slice[code] = t
    otm = np.where(call, k_usd >= f, k_usd < f)
    two = np.isfinite(bid) & np.isfinite(ask) & (ask >= bid) & (bid > 0.0)
    rows = np.flatnonzero(otm & two & (t > 0.0))
    spread = ask[rows] - bid[rows]
    return SmilePoints(
        rows=rows,
        slice_id=code[rows],
        k=np.log(k_usd[rows] / f[rows]),
        iv=0.5 * (bid[rows] + ask[rows]),
        weight=1.0 / np.maximum(spread, min_spread_iv),
        bid_iv=bid[rows],
        ask_iv=ask[rows],
        t_years=t_slice,
    )


def fit_smile_points(points: SmilePoints, *, initial: npt.ArrayLike | None = None) -> SviFit:
    """:func:`fit_svi` on the output of :func:`smile_points`; expired slices (T ≤ 0) get NaN parameters."""
    live = np.isfinite(points.t_years) & (points.t_years > 0.0)
    t = np.where(live, points.t_years, 1.0)  # expired slices have no points; T is a placeholder
    fit = fit_svi(
        slice_id=points.slice_id, k=points.k, iv=points.iv, t_years=t, weights=points.weight, initial=initial
    )
    return replace(fit, t_years=points.t_years.copy(), ok=fit.ok & live)
