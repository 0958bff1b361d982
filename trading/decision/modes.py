"""Decision modes turn a strategy's open offers into proposals.

* ``rules``: the best-ranked offer at its largest allowed size (:mod:`trading.decision.rules`).
* ``llm``: the chooser picks one offer (or holds) with a size and a reason; a missing chooser
  (no API key), a failed call or a rejected reply (:func:`~trading.decision.llm.parse.parse_choice`)
  falls back to rules, and :class:`~trading.strategies.base.DecisionInfo` records why.
* ``shadow``: rules decide; the LLM's choice (or its rejection) is recorded beside it.

Management proposals (close, roll, hold) are always rules' and pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from trading.decision.llm.client import Chooser, ChooserReply
from trading.decision.llm.parse import ChoiceRejected, ParsedChoice, parse_choice
from trading.decision.rules import describe_offer, hold_proposal, open_proposal, rules_decide
from trading.strategies.base import DecisionInfo, OpenOffer, Proposal, StrategyOutput
from trading.strategies.params import DecisionMode

NO_LLM = "LLM not configured (no API key): decided by rules"


def safe_choose(chooser: Chooser, offer_set: OpenOffer) -> ChooserReply:
    """Ask ``chooser``; an exception becomes a reply with an error (the rules then decide)."""
    try:
        return chooser.choose(offer_set)
    except Exception as exc:
        return ChooserReply(None, f"chooser failed: {type(exc).__name__}")


def judge_reply(
    offer_set: OpenOffer, reply: ChooserReply, *, max_reason_chars: int = 600
) -> ParsedChoice | ChoiceRejected:
    if reply.error is not None:
        return ChoiceRejected(reply.error)
    return parse_choice(offer_set, reply.text, max_reason_chars=max_reason_chars)


def decide_offer(
    offer_set: OpenOffer, *, mode: DecisionMode, reply: ChooserReply | None, max_reason_chars: int = 600
) -> Proposal:
    """The proposal for one offer set, given the LLM's reply (``None``: the LLM was not asked)."""
    if mode is DecisionMode.RULES:
        return rules_decide(offer_set)
    if reply is None:
        return rules_decide(offer_set, mode, fallback_reason=NO_LLM)
    outcome = judge_reply(offer_set, reply, max_reason_chars=max_reason_chars)
    if mode is DecisionMode.SHADOW:
        return rules_decide(offer_set, mode, llm_choice=outcome.describe(), llm_raw=reply.text)
    if isinstance(outcome, ChoiceRejected):
        return rules_decide(
            offer_set,
            mode,
            fallback_reason=f"LLM reply rejected ({outcome.reason}): decided by rules",
            llm_choice=outcome.describe(),
            llm_raw=reply.text,
        )
    info = DecisionInfo(
        mode=mode,
        decided_by="llm",
        rules_choice=describe_offer(offer_set.offers[0]),
        llm_choice=outcome.describe(),
        llm_raw=reply.text,
    )
    if outcome.offer is None:
        return hold_proposal(offer_set, f"LLM holds: {outcome.reason}", info)
    return open_proposal(offer_set, outcome.offer, outcome.size_contracts, f"LLM: {outcome.reason}", info)


@dataclass(frozen=True, slots=True)
class ModedOutput:
    """One strategy's output and the decision mode it runs in."""

    output: StrategyOutput
    mode: DecisionMode


def apply_decision_modes(
    items: Sequence[ModedOutput],
    *,
    chooser: Chooser | None,
    max_workers: int = 4,
    max_reason_chars: int = 600,
) -> tuple[tuple[Proposal, ...], ...]:
    """Every strategy's final proposals, in the order of ``items``.

    LLM calls (modes ``llm`` and ``shadow``, when a chooser is given) run up to ``max_workers`` at
    a time; the result does not depend on which reply comes first.
    """
    asks = [
        o
        for item in items
        if item.mode is not DecisionMode.RULES and chooser is not None
        for o in item.output.offers
    ]
    replies: dict[int, ChooserReply] = {}
    if asks and chooser is not None:
        if len(asks) == 1 or max_workers == 1:
            replies = {id(o): safe_choose(chooser, o) for o in asks}
        else:
            with ThreadPoolExecutor(max_workers=min(max_workers, len(asks))) as pool:
                done = list(pool.map(lambda o: safe_choose(chooser, o), asks))
            replies = {id(o): r for o, r in zip(asks, done, strict=True)}
    out = []
    for item in items:
        decided = [
            decide_offer(o, mode=item.mode, reply=replies.get(id(o)), max_reason_chars=max_reason_chars)
            for o in item.output.offers
        ]
        out.append((*item.output.proposals, *decided))
    return tuple(out)
