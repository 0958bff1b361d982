"""Types, constants and input handling shared by the Black-76 kernels."""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DAYS_PER_YEAR: float = 365.0
"""Deribit's year for option time to expiry, in days."""
SECONDS_PER_YEAR: float = DAYS_PER_YEAR * 86400.0
"""A 365-day year in seconds."""

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
INV_SQRT2 = 1.0 / math.sqrt(2.0)

Backend = Literal["numpy", "numba"]


class Black76Result(NamedTuple):
    """Price and greeks of a batch of options, each a float64 array of the broadcast shape."""

    price_usd: FloatArray
    """Option value in USD (strike currency)."""
    price_coin: FloatArray
    """Option value in coin: ``price_usd / forward``."""
    delta: FloatArray
    """Forward delta, coin per contract (not premium-adjusted)."""
    gamma: FloatArray
    """d(delta)/dF, per USD."""
    vega: FloatArray
    """USD per 1 vol point."""
    theta: FloatArray
    """USD per day, Deribit's capped theta."""
    rho: FloatArray
    """USD per 1 % rate move."""


def as_is_call(is_call: npt.ArrayLike) -> BoolArray:
    """Booleans from bools/0-1 ints or option-type strings ('call', 'put', 'C', 'P', any case)."""
    arr = np.asarray(is_call)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "iu":
        if arr.size and not np.isin(arr, (0, 1)).all():
            raise ValueError("integer is_call must be 0 or 1")
        return arr.astype(bool)
    if arr.dtype.kind in "USO":
        lowered = np.char.lower(np.char.strip(arr.astype(str)))
        calls = np.isin(lowered, ("call", "c"))
        puts = np.isin(lowered, ("put", "p"))
        if not (calls | puts).all():
            bad = arr[~(calls | puts)].ravel()[:3].tolist()
            raise ValueError(f"option type must be 'call'/'put'/'C'/'P', got {bad}")
        return calls
    raise TypeError(f"is_call must be booleans or option-type strings, got dtype {arr.dtype}")


class Batch(NamedTuple):
    """Inputs broadcast to one shape and flattened (views where possible), plus that shape."""

    f: FloatArray
    k: FloatArray
    t: FloatArray
    v: FloatArray
    call: BoolArray
    shape: tuple[int, ...]
    all_valid: bool


def _in_range(a: FloatArray, *, strictly_positive: bool) -> bool:
    if a.size == 0:
        return True
    lo, hi = a.min(), a.max()  # NaN propagates, and every comparison with NaN is False
    return bool((lo > 0 if strictly_positive else lo >= 0) and hi < np.inf)


def inputs(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> Batch:
    f0 = np.asarray(forward, dtype=np.float64)
    k0 = np.asarray(strike, dtype=np.float64)
    t0 = np.asarray(t_years, dtype=np.float64)
    v0 = np.asarray(sigma, dtype=np.float64)
    c0 = as_is_call(is_call)
    shape = np.broadcast_shapes(f0.shape, k0.shape, t0.shape, v0.shape, c0.shape)
    all_valid = (
        _in_range(f0, strictly_positive=True)
        and _in_range(k0, strictly_positive=True)
        and _in_range(t0, strictly_positive=False)
        and _in_range(v0, strictly_positive=False)
    )
    # Scalars stay stride-0 views; only inputs broadcast along several axes get copied.
    return Batch(
        np.broadcast_to(f0, shape).reshape(-1),
        np.broadcast_to(k0, shape).reshape(-1),
        np.broadcast_to(t0, shape).reshape(-1),
        np.broadcast_to(v0, shape).reshape(-1),
        np.broadcast_to(c0, shape).reshape(-1),
        shape,
        all_valid,
    )


def mask_invalid(arrays: list[FloatArray], b: Batch) -> None:
    """NaN wherever an input is out of its domain (F, K > 0; T, sigma >= 0; all finite)."""
    if b.all_valid:
        return
    ok = (b.f > 0) & (b.f < np.inf) & (b.k > 0) & (b.k < np.inf)
    ok &= (b.t >= 0) & (b.t < np.inf) & (b.v >= 0) & (b.v < np.inf)
    bad = ~ok
    for arr in arrays:
        arr[bad] = np.nan
