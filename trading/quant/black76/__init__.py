"""Black-76 on the forward, in Deribit's conventions.

Deribit marks its BTC and ETH options with Black-76 on the forward of the option's expiry, with
r = 0 and a 365-day year (``T = (expiry - now) / 365 days``); the coin price is the USD price
divided by the forward. Greeks are in Deribit's units:

* ``delta``: N(d1) for calls, N(d1) - 1 for puts, on the forward, per 1 coin of underlying.
  This is the plain Black-Scholes delta that Deribit's ``delta`` field reports, not
  premium-adjusted; :func:`net_delta` gives the premium-adjusted ``delta - price_coin`` that
  Deribit's account-level ``delta_total`` adds up.
* ``gamma``: phi(d1) / (F sigma sqrt(T)), per USD.
* ``vega``: F phi(d1) sqrt(T) / 100, USD per 1 vol point.
* ``theta``: USD per day. The Black-76 rate -F phi(d1) sigma / (2 sqrt(T)) / 365 is scaled by
  ``min(1, days to expiry)`` and floored at minus the option's USD value. The floor is documented
  by Deribit ("minimum of 1-day theta and lifetime theta"); the scaling below one day is not, but
  the 2020 and 2021 tickers show it: on the 506 options there expiring within a day the median
  relative error is 1e-3 and 90 % are within 0.6 %, where the unscaled rate would be off by the
  factor 1 / T_days.
* ``rho``: K T N(d2) / 100 for calls, -K T N(-d2) / 100 for puts, USD per 1 %.

All pricing functions take ``forward`` and ``strike`` in USD, ``t_years`` in years (365-day),
``sigma`` as a decimal (0.55 = 55 %) and ``is_call`` (bools, or 'call'/'put'/'C'/'P' strings);
inputs broadcast like numpy ufuncs and the result is always a float64 ndarray (0-d for scalars).

Limits and invalid input:

* ``t_years == 0`` or ``sigma == 0``: the price is the intrinsic value max(+-(F - K), 0); delta
  is 1/0 (calls) or 0/-1 (puts) away from the strike and +-0.5 at F == K; gamma is 0 away from
  the strike and +inf at F == K; vega is F phi(d1) sqrt(T) / 100 (non-zero only at the strike
  with T > 0); theta is 0.
* Deep out of the money the price underflows smoothly to 0, never negative and never NaN: the
  time value is computed on the out-of-the-money side and intrinsic value is added.
* ``forward <= 0``, ``strike <= 0``, ``t_years < 0``, ``sigma < 0``, or any NaN/inf input gives
  NaN in every output (no exception, no warning).

Accuracy against 40-digit references: prices to 1e-15 F absolute, and to about 1e-12 relative
for prices above 1e-12 F; below that the out-of-the-money time value (a difference of two tail
probabilities) loses relative digits, never its sign. Both backends agree to rounding; the
numpy one (ufuncs over cache-sized blocks) is the default and the faster one for prices.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trading.quant.black76._common import (
    DAYS_PER_YEAR,
    SECONDS_PER_YEAR,
    Backend,
    Black76Result,
    BoolArray,
    FloatArray,
    as_is_call,
    inputs,
)
from trading.quant.black76._numba_kernel import run_kernel
from trading.quant.black76._numpy_kernel import greeks_numpy, price_numpy
from trading.quant.black76.years import year_fraction, years_to_days

__all__ = [
    "DAYS_PER_YEAR",
    "SECONDS_PER_YEAR",
    "Backend",
    "Black76Result",
    "BoolArray",
    "FloatArray",
    "as_is_call",
    "delta",
    "gamma",
    "net_delta",
    "price",
    "price_and_greeks",
    "price_coin",
    "rho",
    "theta",
    "vega",
    "year_fraction",
    "years_to_days",
]


def _check_backend(backend: str) -> None:
    if backend not in ("numpy", "numba"):
        raise ValueError(f"backend must be 'numpy' or 'numba', got {backend!r}")


# --------------------------------------------------------------------------------------------
# public API


def price(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    *,
    backend: Backend = "numpy",
) -> FloatArray:
    """Black-76 option value in USD (strike currency), r = 0.

    ``backend="numba"`` runs the compiled one-pass kernel instead of the numpy ufunc chain; the
    two agree to rounding.
    """
    _check_backend(backend)
    b = inputs(forward, strike, t_years, sigma, is_call)
    if backend == "numba":
        return run_kernel(b, False)[0].reshape(b.shape)
    return price_numpy(b).reshape(b.shape)


def price_coin(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    *,
    backend: Backend = "numpy",
) -> FloatArray:
    """Option value in coin per 1-coin contract (Deribit's quote): USD value / forward."""
    f = np.asarray(forward, dtype=np.float64)
    usd = price(f, strike, t_years, sigma, is_call, backend=backend)
    with np.errstate(all="ignore"):
        return np.asarray(usd / f, dtype=np.float64)


def price_and_greeks(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    *,
    backend: Backend = "numpy",
) -> Black76Result:
    """Price (USD and coin) and all greeks in Deribit's units, in one pass."""
    _check_backend(backend)
    b = inputs(forward, strike, t_years, sigma, is_call)
    if backend == "numba":
        out = run_kernel(b, True)
        return Black76Result(*(out[j].reshape(b.shape) for j in range(7)))
    return Black76Result(*(a.reshape(b.shape) for a in greeks_numpy(b)))


def delta(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Forward delta: N(d1) for calls, N(d1) - 1 for puts (coin per contract)."""
    return price_and_greeks(forward, strike, t_years, sigma, is_call).delta


def gamma(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
) -> FloatArray:
    """Gamma phi(d1) / (F sigma sqrt(T)), per USD (same for calls and puts)."""
    return price_and_greeks(forward, strike, t_years, sigma, True).gamma


def vega(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
) -> FloatArray:
    """Vega F phi(d1) sqrt(T) / 100, USD per vol point (same for calls and puts)."""
    return price_and_greeks(forward, strike, t_years, sigma, True).vega


def theta(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Deribit's theta, USD per day (see the module docstring for the cap)."""
    return price_and_greeks(forward, strike, t_years, sigma, is_call).theta


def rho(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Rho as Deribit reports it: +-K T N(+-d2) / 100, USD per 1 %."""
    return price_and_greeks(forward, strike, t_years, sigma, is_call).rho


def net_delta(delta: npt.ArrayLike, price_coin: npt.ArrayLike) -> FloatArray:
    """Premium-adjusted delta, coin per contract: ``delta - price_coin``.

    This is F times the derivative of the coin price with respect to F, the exposure of an
    inverse option measured in coin; Deribit's account ``delta_total`` sums it over positions
    ("net transaction delta").
    """
    return np.asarray(np.subtract(delta, price_coin), dtype=np.float64)
