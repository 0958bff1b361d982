"""Turning one decision round into ``Decision`` rows: every proposal, hold and fault, with its verdict."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from trading.decision.round import RoundResult
from trading.models import AgentTick, Decision, Strategy
from trading.risk.state import Verdict, VerdictStatus
from trading.strategies.base import Leg, OpenOffer, Proposal

MAX_CANDIDATES = 10


def _plain(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, datetimes ISO strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    return value


def leg_record(leg: Leg) -> dict[str, Any]:
    return _plain(
        {
            "instrument_name": leg.instrument_name,
            "currency": leg.currency,
            "option_type": leg.option_type,
            "strike_usd": leg.strike_usd,
            "expiry": leg.expiry,
            "side": leg.side,
            "intent": leg.intent,
            "size_contracts": leg.size_contracts,
            "limit_price_coin": leg.limit_price_coin,
        }
    )


def candidates_record(offers: Iterable[OpenOffer], currency: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for offer_set in offers:
        if offer_set.currency != currency:
            continue
        for offer in offer_set.offers[:MAX_CANDIDATES]:
            rows.append(
                _plain(
                    {
                        "instrument_name": offer.leg.instrument_name,
                        "size_contracts": offer.leg.size_contracts,
                        "limit_price_coin": offer.leg.limit_price_coin,
                        "score": offer.score,
                        "score_parts": dict(offer.score_parts),
                        "facts": dict(offer.facts),
                    }
                )
            )
    return rows


_VERDICTS = {
    VerdictStatus.APPROVED: Decision.Verdict.APPROVED,
    VerdictStatus.PARTIAL: Decision.Verdict.APPROVED,
    VerdictStatus.REJECTED: Decision.Verdict.REJECTED,
}


def decision_record(
    *,
    tick: AgentTick,
    strategy: Strategy,
    proposal: Proposal,
    verdict: Verdict,
    offers: tuple[OpenOffer, ...],
    now: datetime,
    extra_reasons: list[str],
    snapshot_ids: list[int],
) -> Decision:
    info = proposal.decision
    legs_to_send = verdict.approved_legs if verdict.approved else ()
    verdict_value = _VERDICTS[verdict.status] if proposal.legs else Decision.Verdict.NOT_REVIEWED
    reasons = list(verdict.reasons) + extra_reasons
    if extra_reasons and verdict_value == Decision.Verdict.APPROVED:
        verdict_value = Decision.Verdict.REJECTED
    if verdict.status is VerdictStatus.PARTIAL:
        reasons.append("only the closing leg was approved")
    return Decision.objects.create(
        tick=tick,
        strategy=strategy,
        proposal_id=proposal.proposal_id,
        created_at=now,
        action=proposal.action.value,
        currency=proposal.currency,
        legs=[leg_record(leg) for leg in proposal.legs],
        scores=_plain(dict(proposal.scores)),
        candidates=candidates_record(offers, proposal.currency),
        reason=proposal.reason,
        mode=info.mode.value if info else "",
        decided_by=info.decided_by if info else "rules",
        llm_choice=(info.llm_choice or "") if info else "",
        llm_raw=(info.llm_raw or "") if info else "",
        fallback_reason=(info.fallback_reason or "") if info else "",
        verdict=verdict_value,
        risk_reasons=reasons,
        link_id=proposal.link_id or "",
        execution=Decision.Execution.PENDING
        if verdict_value == Decision.Verdict.APPROVED and legs_to_send
        else Decision.Execution.NONE,
        snapshot_ids=snapshot_ids,
    )


def fault_record(*, tick: AgentTick, strategy: Strategy, message: str, now: datetime) -> Decision:
    """A strategy that raised or returned nonsense: recorded, isolated, the others ran."""
    return Decision.objects.create(
        tick=tick,
        strategy=strategy,
        proposal_id=f"fault-{tick.pk}-{strategy.pk}",
        created_at=now,
        action=Decision.Action.HOLD,
        reason=message,
        verdict=Decision.Verdict.ERROR,
    )


def round_offers(result: RoundResult) -> dict[str, tuple[OpenOffer, ...]]:
    return {run.strategy: run.output.offers for run in result.runs}


def summary_json(value: Any) -> Any:
    """``value`` made JSON-safe for ``AgentTick.summary``."""
    return json.loads(json.dumps(_plain(value), default=str))
