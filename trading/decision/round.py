"""One decision round: every strategy (isolated), its decision mode, then the risk engine.

This is the call the agent's tick and the backtester share. It is pure apart from the injected
``chooser`` (the LLM's network call): the same inputs and the same replies give the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from trading.decision.llm.client import Chooser
from trading.decision.modes import ModedOutput, apply_decision_modes
from trading.risk.config import RiskConfig
from trading.risk.engine import review
from trading.risk.killswitch import KillSwitchInput
from trading.risk.state import RiskReview, RiskState, Verdict
from trading.strategies.base import (
    AccountView,
    OptionPosition,
    Proposal,
    StrategyConfig,
    StrategyContext,
    StrategyLogic,
    StrategyOutput,
)
from trading.strategies.market import MarketSnapshot
from trading.strategies.registry import logic_for
from trading.strategies.runner import StrategyFault, StrategyRun, run_strategy


@dataclass(frozen=True)
class RoundInputs:
    now: datetime
    market: MarketSnapshot
    account: AccountView | None
    positions: tuple[OptionPosition, ...]
    """Every position (all strategies, and unowned ones with ``strategy == ""``)."""
    strategies: tuple[StrategyConfig, ...]
    kill_switch: KillSwitchInput = field(default_factory=KillSwitchInput)


@dataclass(frozen=True)
class RoundResult:
    runs: tuple[StrategyRun, ...]
    """One per strategy, sorted by name; faults are reported here."""
    proposals: tuple[Proposal, ...]
    """Every final proposal (holds included), strategies in name order."""
    review: RiskReview

    @property
    def faults(self) -> tuple[StrategyFault, ...]:
        return tuple(r.fault for r in self.runs if r.fault is not None)

    def decisions(self) -> tuple[tuple[Proposal, Verdict], ...]:
        """Each proposal with its verdict, in proposal order."""
        return tuple(zip(self.proposals, self.review.verdicts, strict=True))


def decide_round(
    inputs: RoundInputs,
    *,
    chooser: Chooser | None = None,
    risk_config: RiskConfig | None = None,
    max_workers: int = 4,
    max_reason_chars: int = 600,
    logic: Callable[[str], StrategyLogic] = logic_for,
) -> RoundResult:
    """Run every strategy, apply its decision mode, and review all proposals together."""
    names = [c.name for c in inputs.strategies]
    if len(set(names)) != len(names):
        raise ValueError(f"strategy names must be unique, got {sorted(names)}")
    account = inputs.account if inputs.account is not None else AccountView(inputs.now, {})
    runs: list[StrategyRun] = []
    for cfg in sorted(inputs.strategies, key=lambda c: c.name):
        own = tuple(p for p in inputs.positions if p.strategy == cfg.name)
        ctx = StrategyContext(
            now=inputs.now, config=cfg, market=inputs.market, positions=own, account=account
        )
        try:
            strategy = logic(cfg.kind)
        except Exception as exc:
            fault = StrategyFault(cfg.name, "raised", f"no logic for {cfg.kind!r}: {exc}")
            runs.append(StrategyRun(cfg.name, StrategyOutput(), fault, 0.0))
            continue
        runs.append(run_strategy(strategy, ctx))
    modes = {c.name: c.decision_mode for c in inputs.strategies}
    decided = apply_decision_modes(
        [ModedOutput(r.output, modes[r.strategy]) for r in runs],
        chooser=chooser,
        max_workers=max_workers,
        max_reason_chars=max_reason_chars,
    )
    proposals = tuple(p for group in decided for p in group)
    state = RiskState(
        now=inputs.now,
        market=inputs.market,
        account=inputs.account,
        positions=inputs.positions,
        strategies={c.name: c for c in inputs.strategies},
        kill_switch=inputs.kill_switch,
    )
    return RoundResult(runs=tuple(runs), proposals=proposals, review=review(state, proposals, risk_config))
