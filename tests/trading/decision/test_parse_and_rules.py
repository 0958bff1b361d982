"""Pure parts of the decision layer: the reply judge and the rules' scoring and ranking."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.strategies.support import account, config, context, market_from_chain, synthetic_chain
from trading.decision.llm.parse import ChoiceRejected, ParsedChoice, hostile_reason, parse_choice
from trading.decision.rules import rank, rules_decide, score_candidates
from trading.strategies.base import OpenOffer
from trading.strategies.contracts import is_step_multiple
from trading.strategies.covered_call import CoveredCall
from trading.strategies.market import MarketSnapshot

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _offer_set() -> OpenOffer:
    snap = MarketSnapshot({"BTC": market_from_chain(synthetic_chain("BTC"), "BTC", observed_at=NOW)})
    ctx = context(config("cc", profile="aggressive", underlyings=["BTC"]), snap, account(NOW, BTC=3.0))
    (offer_set,) = CoveredCall().propose(ctx).offers
    return offer_set


OFFERS = _offer_set()
NAMES = [o.leg.instrument_name for o in OFFERS.offers]

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
replies = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["open", "hold", "sell", ""]),
        "instrument_name": st.sampled_from([*NAMES, "BTC-1JAN30-1-C", None]),
        "size_contracts": st.one_of(st.none(), st.floats(-5, 20), st.sampled_from([0.1, 0.5, 1.0, 3.0])),
        "reason": st.text(max_size=80),
    },
    optional={"extra": json_values},
)


@settings(max_examples=300, deadline=None)
@given(reply=st.one_of(replies.map(json.dumps), st.text(max_size=200), json_values.map(json.dumps)))
def test_any_reply_is_either_a_valid_choice_or_rejected_with_a_reason(reply: str) -> None:
    out = parse_choice(OFFERS, reply)
    if isinstance(out, ChoiceRejected):
        assert out.reason
        return
    assert isinstance(out, ParsedChoice) and out.reason.strip() and hostile_reason(out.reason) is None
    if out.action == "hold":
        assert out.offer is None
    else:
        assert out.offer is not None and out.offer.leg.instrument_name in NAMES
        assert 0 < out.size_contracts <= out.offer.leg.size_contracts
        assert is_step_multiple(out.size_contracts, OFFERS.size_step_contracts)


def test_a_valid_reply_is_accepted() -> None:
    text = json.dumps(
        {"action": "open", "instrument_name": NAMES[1], "size_contracts": 0.3, "reason": "fine"}
    )
    out = parse_choice(OFFERS, text)
    assert isinstance(out, ParsedChoice) and out.offer is OFFERS.offers[1] and out.size_contracts == 0.3


def test_plain_trading_language_is_not_mistaken_for_instructions() -> None:
    for reason in (
        "Delta 0.3 is within the band and the spread is tight.",
        "Higher premium, but the strike is only 3% away; the risk of assignment rises.",
        "Hold: IV is below realised vol, so selling now is not paid well.",
    ):
        assert hostile_reason(reason) is None, reason


def test_rules_score_rewards_yield_edge_liquidity_and_fit() -> None:
    params = config().params  # moderate: delta 0.15-0.30, spread <= 20 %
    base: dict[str, Any] = {
        "net_yield": np.array([0.2, 0.2, 0.2, 0.2, 0.4]),
        "ivrv": np.array([1.0, 1.5, 1.0, 1.0, np.nan]),
        "spread_rel": np.array([0.05, 0.05, 0.15, 0.05, 0.05]),
        "abs_delta": np.array([0.225, 0.225, 0.225, 0.15, 0.225]),
    }
    s = score_candidates(params=params, **base)
    assert s.score[1] > s.score[0] > s.score[2]  # IV/RV edge helps, a wide spread hurts
    assert s.score[3] < s.score[0]  # the middle of the delta band fits best
    assert s.parts["ivrv_edge"][4] == 1.0 and s.score[4] > s.score[0]  # unknown RV: neutral
    assert s.score[0] == pytest.approx(0.2 * 1.0 * (1 - 0.5 * 5 / 20) * 1.0)


@given(st.permutations(list(range(len(OFFERS.offers)))))
def test_ranking_does_not_depend_on_row_order_and_ties_go_by_name(order: list[int]) -> None:
    names = np.array(["B", "A", "C", "D", "E", "F", "G", "H"][: len(order)])
    score = np.array([1.0, 1.0, 0.5, 2.0, 0.1, 0.1, 3.0, 0.0][: len(order)])
    ranked = names[rank(score, names)]
    perm = np.array(order)
    assert list(names[perm][rank(score[perm], names[perm])]) == list(ranked)
    assert list(ranked[:2]) == ["G", "D"] and list(ranked).index("A") < list(ranked).index("B")


def test_rules_decide_the_best_offer_at_its_largest_size() -> None:
    p = rules_decide(OFFERS)
    assert p.legs == (OFFERS.offers[0].leg,) and p.decision is not None and p.decision.decided_by == "rules"
    assert p.scores["score"] == OFFERS.offers[0].score and "best of" in p.reason
