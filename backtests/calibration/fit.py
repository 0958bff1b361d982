"""Fitting the synthetic model's parameters to real marks: bounded, deterministic least squares.

Residuals are IV errors (model - mark, decimal) of the options the report compares (see
:mod:`backtests.calibration.report`), each weighted by √w with w = ½/n + ½·vega/Σvega: half the
weight spread evenly over options (the plain vol-point error), half by vega (the at-the-money
price error). A soft-L1 loss (scale one vol point) keeps a few wild wing marks from steering the
fit. Snapshots whose anchor is the fallback vol (no realised vol yet, no DVOL) are left out, and
above :data:`MAX_FIT_OPTIONS` options every k-th is used. ``scipy.optimize.least_squares``
(trust-region reflective) starts from fixed values, so the same input gives the same parameters.

The fitted model always takes its far level (the long-run ATM vol) from the anchor's memory,
with the half-life of ``initial.long_run_memory_days`` or else :data:`FIT_MEMORY_DAYS` (not
fitted: a few months of snapshots cannot pin it down); ``initial`` gives the starting values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import least_squares

from backtests.calibration.history import IndexHistory
from backtests.calibration.model import Rows, prepare_rows, surface
from backtests.calibration.params import CalibrationError, CalibrationParams
from backtests.calibration.report import market_arrays, report_from_table, table_from_rows

FloatArray = npt.NDArray[np.float64]

BOUNDS: dict[str, tuple[float, float]] = {
    "vrp_factor": (0.3, 3.0),
    "dvol_scale": (0.5, 1.5),
    "anchor_memory_weight": (0.0, 0.9),
    "long_run_memory_ratio": (0.5, 2.0),
    "long_run_anchor_weight": (0.0, 1.0),
    "term_mean_reversion": (0.0, 60.0),
    "weekend_variance_weight": (0.1, 1.0),
    "skew_short": (-0.6, 0.4),
    "skew_long": (-0.6, 0.4),
    "skew_tau_days": (1.0, 365.0),
    "skew_momentum_beta": (-3.0, 3.0),
    "curvature_short": (0.02, 2.0),
    "curvature_long": (0.02, 2.0),
    "curvature_tau_days": (1.0, 365.0),
    "smile_vol_power": (-1.0, 2.5),
}
"""Parameters the fit may move and their bounds (units of :class:`CalibrationParams`)."""

FIT_MEMORY_DAYS = 90.0
"""Half-life of the anchor's memory (the far level) when the fit starts from the defaults."""
MAX_FIT_OPTIONS = 8_000
"""Above this many usable options the fit takes every k-th (in snapshot, expiry, strike order)."""
MIN_FIT_OPTIONS = 50
_LOSS_SCALE = 0.01  # one vol point


@dataclass(frozen=True)
class FitResult:
    """The fitted parameters, the report on the training snapshots and the solver's outcome.

    ``n_samples`` counts the options in the least squares, ``iterations`` the solver's function
    evaluations (Jacobians excluded).
    """

    params: CalibrationParams
    train_report: dict[str, Any]
    n_samples: int
    iterations: int
    converged: bool
    message: str


@dataclass(frozen=True)
class _Problem:
    rows: Rows
    market_iv: FloatArray
    sqrt_w: FloatArray
    names: tuple[str, ...]
    base: CalibrationParams


def _params(problem: _Problem, x: FloatArray) -> CalibrationParams:
    return problem.base.model_copy(update={n: float(v) for n, v in zip(problem.names, x, strict=True)})


def _residuals(x: FloatArray, problem: _Problem) -> FloatArray:
    iv = surface(problem.rows, _params(problem, x).chain_config()).iv
    return problem.sqrt_w * (iv - problem.market_iv)


def _free(sources: set[str]) -> tuple[str, ...]:
    """The parameters the data can move: each scale only if some snapshot's anchor uses it; the
    pull of the anchor towards its memory (which smooths noisy realised vol) only if some anchor
    is realised vol."""
    skip = set()
    if "realised_vol" not in sources:
        skip.update({"vrp_factor", "anchor_memory_weight"})
    if "dvol" not in sources:
        skip.add("dvol_scale")
    return tuple(name for name in BOUNDS if name not in skip)


def _start(base: CalibrationParams, name: str) -> float:
    lo, hi = BOUNDS[name]
    return float(np.clip(getattr(base, name), lo + 1e-6 * (hi - lo), hi - 1e-6 * (hi - lo)))


def fit_params(
    frames: Iterable[pd.DataFrame],
    *,
    history: IndexHistory,
    initial: CalibrationParams | None = None,
    currency: str,
) -> FitResult:
    """Fit :data:`BOUNDS`' parameters of ``currency`` to the marks of ``frames`` (snapshot frames;
    other currencies' frames are skipped), knowing ``history``, starting from ``initial``
    (default: the generator's defaults). Raises :class:`CalibrationError` when too few options
    can be compared."""
    start = initial if initial is not None else CalibrationParams.default(currency)
    memory_days = start.long_run_memory_days or FIT_MEMORY_DAYS
    base = start.model_copy(update={"long_run_vol": None, "long_run_memory_days": memory_days})
    if base.currency != currency:
        raise CalibrationError(f"the starting parameters are for {base.currency}, the fit is for {currency}")
    frames_l = [f for f in frames if len(f) and str(f["currency"].iloc[0]) == currency]
    if not frames_l:
        raise CalibrationError(f"no {currency} snapshots to fit on")
    cfg = base.chain_config()
    rows = prepare_rows(frames_l, history=history, cfg=cfg)
    market = market_arrays(frames_l, rows)
    snapshot_source = surface(rows, cfg).anchor_source
    usable = (market["code"] == 0) & (snapshot_source[rows.snap] != "fallback")
    n_usable = int(usable.sum())
    if n_usable < MIN_FIT_OPTIONS:
        raise CalibrationError(
            f"only {n_usable} {currency} options can be compared (after the report's exclusions and the "
            "realised-vol warm-up): give more snapshots, or a history that starts earlier"
        )
    stride = -(-n_usable // MAX_FIT_OPTIONS)
    keep = usable.copy()
    if stride > 1:
        keep[np.flatnonzero(usable)[np.arange(n_usable) % stride != 0]] = False
    vega = market["vega"][keep]
    n = int(keep.sum())
    w = 0.5 / n + 0.5 * vega / vega.sum()
    names = _free(set(snapshot_source[rows.snap[keep]].tolist()))
    problem = _Problem(rows.subset(keep), market["mark_iv"][keep], np.sqrt(w), names, base)
    x0 = np.array([_start(base, name) for name in names])
    sol = least_squares(
        _residuals,
        x0,
        bounds=(np.array([BOUNDS[k][0] for k in names]), np.array([BOUNDS[k][1] for k in names])),
        args=(problem,),
        loss="soft_l1",
        f_scale=_LOSS_SCALE * float(np.sqrt(w.mean())),
        x_scale="jac",
        ftol=1e-6,
        xtol=1e-6,
        gtol=1e-6,
        max_nfev=100,
    )
    params = CalibrationParams.model_validate(_params(problem, sol.x).model_dump())
    fitted_cfg = params.chain_config()
    table = table_from_rows(frames_l, rows, surface(rows, fitted_cfg), market)
    return FitResult(
        params=params,
        train_report=report_from_table(table, currency=currency, n_snapshots=len(frames_l)),
        n_samples=n,
        iterations=int(sol.nfev),
        converged=bool(sol.status > 0),
        message=str(sol.message),
    )
