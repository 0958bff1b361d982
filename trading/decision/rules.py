"""The ``rules`` decision mode: deterministic scoring of the candidate table.

For each candidate that passed a strategy's filters (all arrays float64, one entry per candidate)::

    net_yield_annual = yield_annual x (1 - fee / bid)          # after Deribit's option fee
    ivrv_edge        = clip(IV/RV, 0.5, 2.0)                   # 1.0 when RV is unknown
    liquidity        = 1 - 0.5 x spread_pct / max_spread_pct   # 0.5 … 1
    delta_fit        = 1 - 0.5 x |Δ| distance from the middle of the delta band / half the band  # 0.5 … 1
    score            = net_yield_annual x ivrv_edge x liquidity x delta_fit

The score is an annual yield (decimal) adjusted for edge, liquidity and fit; higher is better.
Ties are broken by instrument name, so the ranking never depends on row order. Rules pick the
best-ranked offer at its largest allowed size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from trading.strategies.base import Action, DecisionInfo, Offer, OpenOffer, Proposal
from trading.strategies.contracts import FEE_CAP_OF_PREMIUM, FEE_PER_CONTRACT_COIN
from trading.strategies.params import DecisionMode, SellOptionParams

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

SCORE_PARTS: tuple[str, ...] = ("net_yield_annual", "ivrv_edge", "liquidity", "delta_fit")


@dataclass(frozen=True, slots=True)
class Scores:
    score: FloatArray
    parts: dict[str, FloatArray]


def net_yield_annual(yield_annual: FloatArray, premium_coin: FloatArray) -> FloatArray:
    """Annual yield after the option fee, ``min(0.0003, 12.5 % of the price)`` per contract."""
    with np.errstate(divide="ignore", invalid="ignore"):
        fee_share = np.minimum(FEE_PER_CONTRACT_COIN / premium_coin, FEE_CAP_OF_PREMIUM)
    return yield_annual * (1.0 - fee_share)


def score_candidates(
    *,
    net_yield: FloatArray,
    ivrv: FloatArray,
    spread_rel: FloatArray,
    abs_delta: FloatArray,
    params: SellOptionParams,
) -> Scores:
    """Score filtered candidates (see the module docstring); every input has one entry per candidate."""
    edge = np.where(np.isfinite(ivrv), np.clip(ivrv, 0.5, 2.0), 1.0)
    liquidity = 1.0 - 0.5 * np.clip(100.0 * spread_rel / params.max_spread_pct, 0.0, 1.0)
    mid = 0.5 * (params.delta_min + params.delta_max)
    half = 0.5 * (params.delta_max - params.delta_min)
    if half > 0.0:
        fit = 1.0 - 0.5 * np.clip(np.abs(abs_delta - mid) / half, 0.0, 1.0)
    else:
        fit = np.ones_like(abs_delta)
    score = net_yield * edge * liquidity * fit
    return Scores(
        score=score,
        parts={"net_yield_annual": net_yield, "ivrv_edge": edge, "liquidity": liquidity, "delta_fit": fit},
    )


def rank(score: FloatArray, names: npt.NDArray[np.str_]) -> IntArray:
    """Indices from best to worst: score descending, then instrument name ascending."""
    return np.lexsort((names, -score))


def describe_offer(offer: Offer, size_contracts: float | None = None) -> str:
    size = offer.leg.size_contracts if size_contracts is None else size_contracts
    return f"open {offer.leg.instrument_name} x {size:g}"


def open_proposal(
    offer_set: OpenOffer, chosen: Offer, size_contracts: float, why: str, decision: DecisionInfo
) -> Proposal:
    """The open proposal for ``chosen`` at ``size_contracts`` (at most the offer's size)."""
    leg = replace(chosen.leg, size_contracts=size_contracts)
    scores = {"score": chosen.score, **chosen.score_parts}
    return Proposal(
        strategy=offer_set.strategy,
        at=offer_set.at,
        action=Action.OPEN,
        currency=offer_set.currency,
        legs=(leg,),
        reason=why,
        scores=scores,
        decision=decision,
    )


def hold_proposal(offer_set: OpenOffer, why: str, decision: DecisionInfo) -> Proposal:
    return Proposal(
        strategy=offer_set.strategy,
        at=offer_set.at,
        action=Action.HOLD,
        currency=offer_set.currency,
        legs=(),
        reason=why,
        decision=decision,
    )


def rules_reason(offer_set: OpenOffer) -> str:
    best = offer_set.offers[0]
    f = best.facts
    return (
        f"{offer_set.reason}; best of {len(offer_set.offers)} by score {best.score:.3f}: "
        f"{best.leg.instrument_name} ({f.get('dte_days', float('nan')):.1f} days, delta "
        f"{f.get('delta', float('nan')):.2f}, premium {f.get('premium_usd', float('nan')):.0f} USD, "
        f"net yield {f.get('net_yield_pct', float('nan')):.1f}%/yr)"
    )


def rules_decide(
    offer_set: OpenOffer,
    mode: DecisionMode = DecisionMode.RULES,
    fallback_reason: str | None = None,
    llm_choice: str | None = None,
    llm_raw: str | None = None,
) -> Proposal:
    """Rules' decision on an offer set: the best-ranked offer at its largest allowed size."""
    best = offer_set.offers[0]
    info = DecisionInfo(
        mode=mode,
        decided_by="rules",
        rules_choice=describe_offer(best),
        llm_choice=llm_choice,
        fallback_reason=fallback_reason,
        llm_raw=llm_raw,
    )
    return open_proposal(offer_set, best, best.leg.size_contracts, rules_reason(offer_set), info)
