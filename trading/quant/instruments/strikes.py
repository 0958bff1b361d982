"""Deribit-like strike grids per expiry."""

from __future__ import annotations

import math

import numpy as np

from trading.quant.black76 import DAYS_PER_YEAR, FloatArray
from trading.quant.instruments.schedule import ExpiryKind

# ATM strike spacing as a fraction of the forward, by days to expiry (upper limits), and the
# listed range in log-moneyness (below, above the forward) by expiry series; fitted to the
# medians of the 2025-26 snapshots (see strike_grid). Other coins use ETH's values.
_STEP_FRACTIONS: dict[str, tuple[tuple[float, float], ...]] = {
    "BTC": ((4.5, 0.0065), (22.5, 0.013), (95.0, 0.02), (math.inf, 0.026)),
    "ETH": ((4.5, 0.0095), (22.5, 0.019), (95.0, 0.028), (math.inf, 0.042)),
}
_WIDTHS: dict[str, dict[str, tuple[float, float]]] = {
    "BTC": {"daily": (0.13, 0.12), "weekly": (0.23, 0.22), "monthly": (0.62, 0.6), "quarterly": (1.0, 1.4)},
    "ETH": {"daily": (0.16, 0.15), "weekly": (0.3, 0.28), "monthly": (0.68, 0.9), "quarterly": (1.0, 1.8)},
}
_SQRT2, _SQRT5, _SQRT12_5, _SQRT50 = math.sqrt(2.0), math.sqrt(5.0), math.sqrt(12.5), math.sqrt(50.0)


def nice_step(raw: float) -> float:
    """The nearest (in log) of 1, 2, 2.5, 5 times a power of ten."""
    if not (math.isfinite(raw) and raw > 0):
        raise ValueError(f"step must be positive, got {raw!r}")
    exp10 = math.floor(math.log10(raw))
    r = raw / 10.0**exp10
    # Geometric midpoints between 1, 2, 2.5, 5 and 10.
    mantissa = (
        1.0 if r < _SQRT2 else 2.0 if r < _SQRT5 else 2.5 if r < _SQRT12_5 else 5.0 if r < _SQRT50 else 10.0
    )
    return float(round(mantissa * 10.0**exp10, 12))


def atm_strike_step(underlying: str, forward: float, t_years: float) -> float:
    """Deribit-like spacing of strikes near the money, in USD (ETH's table for other coins)."""
    table = _STEP_FRACTIONS.get(underlying, _STEP_FRACTIONS["ETH"])
    days = t_years * DAYS_PER_YEAR
    fraction = next(f for limit, f in table if days <= limit)
    return nice_step(forward * fraction)


def _kind_from_days(days: float) -> ExpiryKind:
    if days <= 4.5:
        return "daily"
    if days <= 22.5:
        return "weekly"
    return "monthly" if days <= 95.0 else "quarterly"


def strike_grid(
    underlying: str,
    forward: float,
    t_years: float,
    *,
    kind: ExpiryKind | None = None,
    max_strikes: int = 80,
) -> FloatArray:
    """A Deribit-like set of listed strikes (USD, sorted) for one expiry.

    ``kind`` is the expiry's series (:func:`expiry_kind`); without it, it is guessed from the
    time to expiry. The strikes span ``[F exp(-w_lo), F exp(w_hi)]`` with widths per series
    and underlying. The spacing is :func:`atm_strike_step` in the quarter of that span nearest
    the money, then 2x, 5x and 10x that in the following quarters, every strike a multiple of
    its local spacing. At most ``max_strikes`` strikes are kept, dropping the farthest first.

    Compared with the real chains in ``svcj_deribit_snapshots_2025_2026/daily_0915utc`` (5,610
    chains: 236 days x BTC/ETH x ~12 expiries; BTC forward 59k-101k, ETH 1.5k-3.5k): the ATM
    spacing equals Deribit's in about 80 % of BTC and 60 % of ETH chains (BTC 500 for dailies,
    1000 for weeklies, 1000-2000 for monthlies, 2000-5000 beyond; ETH 20-25, 50, 50-100,
    100-200) and is within a factor 2 in 98 %. Per series the median range of moneyness and
    strike count match the real ones: dailies 0.88-1.12 with ~20 strikes, weeklies 0.8-1.25
    with ~18, monthlies 0.55-1.9 (BTC) / 0.55-2.3 (ETH) with 35-45, quarterlies 0.43-3.9 (BTC)
    / 0.45-5.8 (ETH) with ~50; the count is within a factor 2 of Deribit's in 95 % of chains.
    Real grids also keep strikes listed when the forward was elsewhere, so they are less
    symmetric around today's forward than these.
    """
    if not (math.isfinite(forward) and forward > 0):
        raise ValueError(f"forward must be positive, got {forward!r}")
    if not (math.isfinite(t_years) and t_years >= 0):
        raise ValueError(f"t_years must be >= 0, got {t_years!r}")
    if max_strikes < 1:
        raise ValueError("max_strikes must be >= 1")
    series = kind if kind is not None else _kind_from_days(t_years * DAYS_PER_YEAR)
    if series not in ("daily", "weekly", "monthly", "quarterly"):
        raise ValueError(f"kind must be daily/weekly/monthly/quarterly, got {series!r}")
    w_lo, w_hi = _WIDTHS.get(underlying, _WIDTHS["ETH"])[series]
    step = atm_strike_step(underlying, forward, t_years)
    lo_bound = forward * math.exp(-w_lo)
    hi_bound = forward * math.exp(w_hi)

    def local_step(k: float) -> float:
        m = math.log(k / forward)
        band = abs(m) / (w_hi if m > 0 else w_lo)  # 0 at the money, 1 at the edge
        return step * (1.0 if band <= 0.25 else 2.0 if band <= 0.5 else 5.0 if band <= 0.75 else 10.0)

    atm = max(round(forward / step) * step, step)
    strikes = [atm]
    k = atm
    while True:
        st = local_step(k)
        k = (math.floor(k / st + 1e-9) + 1) * st
        if k > hi_bound:
            break
        strikes.append(k)
    k = atm
    while True:
        st = local_step(k)
        k = (math.ceil(k / st - 1e-9) - 1) * st
        if k < lo_bound or k <= 0:
            break
        strikes.append(k)
    grid: FloatArray = np.unique(np.round(np.asarray(strikes, dtype=np.float64), 10)).astype(np.float64)
    if grid.size > max_strikes:
        order = np.argsort(np.abs(np.log(grid / forward)), kind="stable")
        grid = np.sort(grid[order[:max_strikes]])
    return grid
