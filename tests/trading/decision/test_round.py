"""One decision round (strategies, decision modes, risk) on the real 2026-02-08 chains."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr

from tests.trading.decision.openai_server import ChatServer, Reply
from tests.trading.strategies.support import (
    account,
    chain_time,
    config,
    market_from_chain,
    short,
    snapshot_from_chain,
)
from trading.decision.llm import LLMConfig, OpenAIChooser
from trading.decision.modes import NO_LLM
from trading.decision.round import RoundInputs, decide_round
from trading.risk.killswitch import EquityMarks, KillSwitchInput
from trading.risk.state import VerdictStatus
from trading.strategies.base import Action, LegIntent, StrategyContext, StrategyLogic, StrategyOutput
from trading.strategies.registry import logic_for


def _inputs(calm_chain: pd.DataFrame, **kill: Any) -> RoundInputs:
    now = chain_time(calm_chain)
    btc = market_from_chain(calm_chain, "BTC")
    strategies = (
        config("cc_conservative", profile="conservative", priority=10),
        config("cc_aggressive", profile="aggressive", priority=20),
        config("cc_llm", profile="moderate", decision_mode="llm", priority=30),
        config("cc_shadow", profile="moderate", decision_mode="shadow", priority=40),
        config("puts", "cash_secured_put", "moderate", underlyings=["BTC"], priority=50),
    )
    positions = (
        short("cc_conservative", btc, "BTC-9FEB26-74000-C", 0.5, 0.001),
        short("cc_aggressive", btc, "BTC-13FEB26-68000-C", 0.3, 0.03),
    )
    marks = {"BTC": EquityMarks(5.0, 5.0), "ETH": EquityMarks(60.0, 60.0)}
    return RoundInputs(
        now=now,
        market=snapshot_from_chain(calm_chain),
        account=account(now, BTC=5.0, ETH=60.0),
        positions=positions,
        strategies=strategies,
        kill_switch=KillSwitchInput(marks=marks, **kill),
    )


def test_a_full_round_on_rules(calm_chain: pd.DataFrame) -> None:
    result = decide_round(_inputs(calm_chain))
    assert [r.strategy for r in result.runs] == sorted(s.name for s in _inputs(calm_chain).strategies)
    assert result.faults == ()
    decisions = result.decisions()
    assert len(decisions) == len(result.proposals) == len(result.review.verdicts)
    by_action = {(p.strategy, p.action) for p, _ in decisions}
    assert ("cc_conservative", Action.ROLL) in by_action  # 0.9 days to expiry
    assert ("cc_aggressive", Action.CLOSE) in by_action  # deep in the money, no credit roll
    approved_opens = [
        p for p, v in decisions if p.action is Action.OPEN and v.status is VerdictStatus.APPROVED
    ]
    assert approved_opens and all(v.reasons for _, v in decisions)
    llm = [p for p, _ in decisions if p.strategy == "cc_llm" and p.action is Action.OPEN]
    assert llm and all(p.decision is not None and p.decision.fallback_reason == NO_LLM for p in llm)
    # the same inputs give the same round
    again = decide_round(_inputs(calm_chain))
    assert again.proposals == result.proposals and again.review == result.review


def test_a_halted_round_only_reduces(calm_chain: pd.DataFrame) -> None:
    result = decide_round(_inputs(calm_chain, manual_halt=True))
    legs = [g for v in result.review.verdicts for g in v.approved_legs]
    assert legs and all(g.intent is LegIntent.CLOSE for g in legs)
    assert any(v.status is VerdictStatus.PARTIAL for v in result.review.verdicts)  # the roll, reduced


class _Broken(StrategyLogic):
    kind = logic_for("covered_call").kind
    version = "broken"
    params_schema = logic_for("covered_call").params_schema

    def propose(self, ctx: StrategyContext) -> StrategyOutput:
        raise KeyError("premium_coin")


def test_a_broken_strategy_is_reported_and_the_rest_still_trade(calm_chain: pd.DataFrame) -> None:
    def logic(kind: str) -> StrategyLogic:
        return _Broken() if kind == "covered_call" else logic_for(kind)

    result = decide_round(_inputs(calm_chain), logic=logic)
    assert {f.strategy for f in result.faults} == {"cc_conservative", "cc_aggressive", "cc_llm", "cc_shadow"}
    assert all("KeyError: 'premium_coin'" in f.message for f in result.faults)
    assert {p.strategy for p in result.proposals} == {"puts"}


def test_llm_picks_are_still_reviewed_by_risk(calm_chain: pd.DataFrame, chat: tuple[ChatServer, str]) -> None:
    server, url = chat

    def pick_second(body: dict[str, Any]) -> str:
        table = json.loads(body["messages"][1]["content"])
        c = table["candidates"][min(1, len(table["candidates"]) - 1)]
        return json.dumps(
            {
                "action": "open",
                "instrument_name": c["instrument_name"],
                "size_contracts": c["max_size_contracts"],
                "reason": f"{table['strategy']} second",
            }
        )

    server.default = Reply(respond=pick_second)
    chooser = OpenAIChooser(LLMConfig(api_key=SecretStr("k"), base_url=url, timeout_s=2.0))
    result = decide_round(_inputs(calm_chain), chooser=chooser)
    llm = [(p, v) for p, v in result.decisions() if p.strategy == "cc_llm" and p.action is Action.OPEN]
    assert llm and all(p.decision is not None and p.decision.decided_by == "llm" for p, _ in llm)
    assert all(v.reasons for _, v in llm)
    shadow = [p for p in result.proposals if p.strategy == "cc_shadow" and p.action is Action.OPEN]
    assert shadow and all(
        p.decision is not None
        and p.decision.decided_by == "rules"
        and (p.decision.llm_choice or "").startswith("open ")
        for p in shadow
    )
    assert len(server.received) == 4  # llm and shadow, BTC and ETH


def test_strategy_names_must_be_unique(calm_chain: pd.DataFrame) -> None:
    inputs = _inputs(calm_chain)
    from dataclasses import replace

    with pytest.raises(ValueError, match="unique"):
        decide_round(replace(inputs, strategies=(*inputs.strategies, config("puts"))))


def test_inputs_and_results_travel_to_another_process(calm_chain: pd.DataFrame) -> None:
    import pickle

    inputs = _inputs(calm_chain)
    result = decide_round(inputs)
    copy = pickle.loads(pickle.dumps(inputs))  # noqa: S301 (our own bytes)
    assert decide_round(copy).proposals == result.proposals
    assert pickle.loads(pickle.dumps(result)).review == result.review  # noqa: S301
