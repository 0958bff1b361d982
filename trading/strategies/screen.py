"""Candidate screening shared by the option-selling logics: the filters of a parameter set, vectorised.

A candidate is acceptable when its option type matches, DTE lies in ``[dte_min, dte_max]`` (and is
positive), ``|delta|`` lies in ``[delta_min, delta_max]``, it has a bid, the premium at the bid is
at least ``min_premium_usd``, the annual yield after fees at least ``min_annualized_yield_pct``,
IV/RV at least ``min_ivrv`` (unknown IV/RV fails when that filter is on), the spread at most
``max_spread_pct`` of the mid (no ask fails) and open interest at least ``min_open_interest``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trading.decision.rules import net_yield_annual, rank, score_candidates
from trading.strategies.market import CurrencyMarket
from trading.strategies.params import SellOptionParams

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Screened:
    """Rows (of the market's candidate table) that passed, best first, with their scores."""

    rows: IntArray
    score: FloatArray
    parts: dict[str, FloatArray]
    net_yield: FloatArray
    """Annual yield after fees of each passed row, decimal."""
    considered: int
    """How many rows of the option type were looked at."""


def acceptable_mask(market: CurrencyMarket, params: SellOptionParams, *, is_call: bool) -> BoolArray:
    """Rows of ``market`` that pass every filter of ``params`` for calls (or puts)."""
    a = market.arrays
    dte = a["dte_days"]
    abs_delta = np.abs(a["delta"])
    bid = a["premium_coin"]
    with np.errstate(invalid="ignore", divide="ignore"):
        net_yield = net_yield_annual(a["yield_annual"], bid)
        mask = (
            (a.is_call == is_call)
            & (dte > 0.0)
            & (dte >= params.dte_min)
            & (dte <= params.dte_max)
            & (abs_delta >= params.delta_min)
            & (abs_delta <= params.delta_max)
            & (bid > 0.0)
            & (a["premium_usd"] >= params.min_premium_usd)
            & (100.0 * net_yield >= params.min_annualized_yield_pct)
            & (100.0 * a["spread_rel"] <= params.max_spread_pct)
            & (a["open_interest"] >= params.min_open_interest)
        )
        if params.min_ivrv > 0.0:
            mask &= a["ivrv"] >= params.min_ivrv
    return np.asarray(mask, dtype=np.bool_)


def screen(
    market: CurrencyMarket, params: SellOptionParams, *, is_call: bool, extra: BoolArray | None = None
) -> Screened:
    """Filter, score and rank ``market``'s candidates; ``extra`` narrows the rows further."""
    a = market.arrays
    mask = acceptable_mask(market, params, is_call=is_call)
    if extra is not None:
        mask &= extra
    rows = np.flatnonzero(mask)
    bid = a["premium_coin"][rows]
    net_yield = net_yield_annual(a["yield_annual"][rows], bid)
    scores = score_candidates(
        net_yield=net_yield,
        ivrv=a["ivrv"][rows],
        spread_rel=a["spread_rel"][rows],
        abs_delta=np.abs(a["delta"][rows]),
        params=params,
    )
    order = rank(scores.score, a.names[rows])
    return Screened(
        rows=rows[order],
        score=scores.score[order],
        parts={k: v[order] for k, v in scores.parts.items()},
        net_yield=net_yield[order],
        considered=int(np.count_nonzero(a.is_call == is_call)),
    )
