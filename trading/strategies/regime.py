"""Market regime: normal, elevated or crisis, from DVOL (level and change) and the index's drawdown.

Pure: the caller passes the numbers. The thresholds below are the documented defaults; each rule is
checked on its own and the worst level wins.

=================  =========================  ==========================
input              elevated when              crisis when
=================  =========================  ==========================
DVOL level, BTC    >= 60 vol points           >= 80 vol points
DVOL level, ETH    >= 80 vol points           >= 100 vol points
DVOL rise          >= 20 % over the lookback  >= 40 % over the lookback
index drawdown     >= 10 % below its high     >= 20 % below its high
=================  =========================  ==========================

``dvol_before`` is DVOL one lookback earlier (24 hours in the agent) and ``index_high_usd`` the
index's high over a window (30 days in the agent). Missing inputs fail closed: without DVOL or
the index the regime is *crisis*; without the history (``dvol_before`` or ``index_high_usd``) it
is at least *elevated*. On the real stress week of 2026-02 (``deribit_data``), BTC's 30-day ATM
IV went from 46 to 81 in two days while the index fell 19 % from its high: crisis by both rules.

When the exchange's DVOL is not at hand (backtests on recorded chains), :func:`dvol_proxy` gives
the 30-day at-the-money implied vol of a chain, which tracks DVOL within a few vol points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Self

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Regime(StrEnum):
    NORMAL = "normal"
    ELEVATED = "elevated"
    CRISIS = "crisis"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_TOL = 1e-9  # thresholds are inclusive; float noise (1 - 63000/70000) must not slip below them
_SEVERITY = {Regime.NORMAL: 0, Regime.ELEVATED: 1, Regime.CRISIS: 2}


class RegimeThresholds(BaseModel):
    """Thresholds of one underlying. DVOL in vol points (45.0 = 45 %), changes in percent."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    dvol_elevated: float = Field(gt=0.0, description="DVOL level from which the regime is elevated.")
    dvol_crisis: float = Field(gt=0.0, description="DVOL level from which the regime is crisis.")
    dvol_rise_elevated_pct: float = Field(default=20.0, gt=0.0)
    dvol_rise_crisis_pct: float = Field(default=40.0, gt=0.0)
    drawdown_elevated_pct: float = Field(default=10.0, gt=0.0, lt=100.0)
    drawdown_crisis_pct: float = Field(default=20.0, gt=0.0, lt=100.0)

    @model_validator(mode="after")
    def _crisis_above_elevated(self) -> Self:
        pairs = (
            ("dvol", self.dvol_elevated, self.dvol_crisis),
            ("dvol_rise", self.dvol_rise_elevated_pct, self.dvol_rise_crisis_pct),
            ("drawdown", self.drawdown_elevated_pct, self.drawdown_crisis_pct),
        )
        for name, elevated, crisis in pairs:
            if crisis < elevated:
                raise ValueError(
                    f"{name}: the crisis threshold ({crisis}) is below the elevated one ({elevated})"
                )
        return self


DEFAULT_THRESHOLDS: Mapping[str, RegimeThresholds] = MappingProxyType(
    {
        "BTC": RegimeThresholds(dvol_elevated=60.0, dvol_crisis=80.0),
        "ETH": RegimeThresholds(dvol_elevated=80.0, dvol_crisis=100.0),
    }
)


@dataclass(frozen=True, slots=True)
class RegimeInputs:
    """What the regime is judged on; ``None`` means the number is not known."""

    currency: str
    dvol: float | None
    """DVOL now, vol points."""
    dvol_before: float | None
    """DVOL one lookback ago, vol points."""
    index_price_usd: float | None
    index_high_usd: float | None
    """The index's high over the drawdown window, USD."""


@dataclass(frozen=True, slots=True)
class RegimeAssessment:
    """The regime of one underlying, with the numbers and a readable reason per rule that fired."""

    currency: str
    regime: Regime
    reasons: tuple[str, ...]
    dvol: float | None
    dvol_change_pct: float | None
    drawdown_pct: float | None
    complete: bool
    """False when an input was missing (the regime then fails closed)."""

    def describe(self) -> str:
        return f"{self.currency} {self.regime.value}: " + ("; ".join(self.reasons) or "all calm")


def _known(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0.0


def assess_regime(inputs: RegimeInputs, thresholds: RegimeThresholds | None = None) -> RegimeAssessment:
    """Classify ``inputs``; ``thresholds`` default to :data:`DEFAULT_THRESHOLDS` of the currency."""
    th = thresholds if thresholds is not None else DEFAULT_THRESHOLDS.get(inputs.currency)
    if th is None:
        return RegimeAssessment(
            inputs.currency,
            Regime.CRISIS,
            (f"no regime thresholds for {inputs.currency}",),
            None,
            None,
            None,
            complete=False,
        )
    level = Regime.NORMAL
    reasons: list[str] = []
    complete = True

    def raise_to(new: Regime, why: str) -> None:
        nonlocal level
        reasons.append(why)
        if new.severity > level.severity:
            level = new

    dvol = inputs.dvol if _known(inputs.dvol) else None
    change_pct: float | None = None
    drawdown_pct: float | None = None
    if dvol is None:
        complete = False
        raise_to(Regime.CRISIS, "DVOL missing: fail closed")
    else:
        if dvol >= th.dvol_crisis - _TOL:
            raise_to(Regime.CRISIS, f"DVOL {dvol:.1f} >= {th.dvol_crisis:g}")
        elif dvol >= th.dvol_elevated - _TOL:
            raise_to(Regime.ELEVATED, f"DVOL {dvol:.1f} >= {th.dvol_elevated:g}")
        if _known(inputs.dvol_before):
            assert inputs.dvol_before is not None
            change_pct = 100.0 * (dvol / inputs.dvol_before - 1.0)
            if change_pct >= th.dvol_rise_crisis_pct - _TOL:
                raise_to(Regime.CRISIS, f"DVOL up {change_pct:.0f}% >= {th.dvol_rise_crisis_pct:g}%")
            elif change_pct >= th.dvol_rise_elevated_pct - _TOL:
                raise_to(Regime.ELEVATED, f"DVOL up {change_pct:.0f}% >= {th.dvol_rise_elevated_pct:g}%")
        else:
            complete = False
            raise_to(Regime.ELEVATED, "no earlier DVOL: change rule not applicable, at least elevated")
    if not _known(inputs.index_price_usd):
        complete = False
        raise_to(Regime.CRISIS, "index price missing: fail closed")
    elif _known(inputs.index_high_usd):
        assert inputs.index_price_usd is not None and inputs.index_high_usd is not None
        high = max(inputs.index_high_usd, inputs.index_price_usd)
        drawdown_pct = 100.0 * (1.0 - inputs.index_price_usd / high)
        if drawdown_pct >= th.drawdown_crisis_pct - _TOL:
            raise_to(
                Regime.CRISIS, f"index {drawdown_pct:.1f}% below its high >= {th.drawdown_crisis_pct:g}%"
            )
        elif drawdown_pct >= th.drawdown_elevated_pct - _TOL:
            raise_to(
                Regime.ELEVATED, f"index {drawdown_pct:.1f}% below its high >= {th.drawdown_elevated_pct:g}%"
            )
    else:
        complete = False
        raise_to(Regime.ELEVATED, "no index high: drawdown rule not applicable, at least elevated")
    return RegimeAssessment(
        inputs.currency, level, tuple(reasons), dvol, change_pct, drawdown_pct, complete=complete
    )


def dvol_proxy(chain: pd.DataFrame, *, target_days: float = 30.0, min_days: float = 1.0) -> float | None:
    """A DVOL-like number from a chain: the ``target_days`` at-the-money implied vol, vol points.

    Per expiry (more than ``min_days`` away) the mark IV of the strike nearest the forward
    (calls and puts averaged); total variance ``iv² T`` is interpolated linearly in T, flat vol
    outside the listed expiries. ``None`` for an empty chain. Columns used: ``t_years, strike,
    forward, mark_iv`` (see ``trading.quant.candidates.CHAIN_COLUMNS``).
    """
    t = chain["t_years"].to_numpy(dtype=np.float64)
    iv = chain["mark_iv"].to_numpy(dtype=np.float64)
    dist = np.abs(
        np.log(chain["strike"].to_numpy(dtype=np.float64) / chain["forward"].to_numpy(dtype=np.float64))
    )
    ok = np.isfinite(t) & np.isfinite(iv) & np.isfinite(dist) & (iv > 0.0) & (t * 365.0 > min_days)
    if not ok.any():
        return None
    t, iv, dist = t[ok], iv[ok], dist[ok]
    order = np.lexsort((dist, t))
    t, iv, dist = t[order], iv[order], dist[order]
    expiries, first = np.unique(t, return_index=True)
    # average every row tied with the nearest strike of its expiry (the call and the put)
    nearest = dist[first]
    group = np.searchsorted(expiries, t)
    tied = np.abs(dist - nearest[group]) < 1e-12
    atm_iv = np.bincount(group[tied], weights=iv[tied]) / np.bincount(group[tied])
    target = target_days / 365.0
    if target <= expiries[0]:
        vol = atm_iv[0]
    elif target >= expiries[-1]:
        vol = atm_iv[-1]
    else:
        w = np.interp(target, expiries, atm_iv**2 * expiries)
        vol = math.sqrt(w / target)
    return float(100.0 * vol)
