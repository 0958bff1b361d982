"""Runs strategies in isolation: a strategy that raises or returns nonsense is reported, not trusted.

:func:`run_strategy` calls ``propose`` on an isolated copy of the market, catches every exception
and checks the output (:func:`output_problems`). Either failure drops that strategy's whole output
for the tick and yields a :class:`StrategyFault` naming it; other strategies are unaffected.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace

from trading.strategies.base import (
    LEG_SHAPES,
    Action,
    Leg,
    LegIntent,
    OpenOffer,
    Proposal,
    Side,
    StrategyContext,
    StrategyLogic,
    StrategyOutput,
)
from trading.strategies.contracts import AMOUNT_STEP, is_on_tick, is_step_multiple

MAX_PROPOSALS = 200
MAX_REASON_CHARS = 2000


@dataclass(frozen=True, slots=True)
class StrategyFault:
    strategy: str
    kind: str
    """``raised`` or ``invalid_output``."""
    message: str


@dataclass(frozen=True, slots=True)
class StrategyRun:
    strategy: str
    output: StrategyOutput
    """Empty when the strategy faulted."""
    fault: StrategyFault | None
    elapsed_ms: float


def leg_problems(leg: object, ctx: StrategyContext, where: str) -> list[str]:
    if not isinstance(leg, Leg):
        return [f"{where}: not a Leg ({type(leg).__name__})"]
    out: list[str] = []
    step = AMOUNT_STEP.get(leg.currency)
    if step is None:
        return [f"{where}: unknown currency {leg.currency!r}"]
    if not is_step_multiple(leg.size_contracts, step):
        out.append(f"{where}: size {leg.size_contracts!r} is not a positive multiple of {step:g}")
    if not is_on_tick(leg.limit_price_coin):
        out.append(f"{where}: price {leg.limit_price_coin!r} is not a positive tick-rounded price")
    quote = ctx.market.quote(leg.currency, leg.instrument_name)
    if quote is None:
        out.append(f"{where}: {leg.instrument_name!r} is not in the {leg.currency} market")
    elif (quote.option_type, quote.strike_usd, quote.expiry) != (leg.option_type, leg.strike_usd, leg.expiry):
        out.append(f"{where}: type, strike or expiry do not match {leg.instrument_name}")
    return out


def proposal_problems(p: object, ctx: StrategyContext, where: str) -> list[str]:
    if not isinstance(p, Proposal):
        return [f"{where}: not a Proposal ({type(p).__name__})"]
    out: list[str] = []
    if p.strategy != ctx.config.name:
        out.append(f"{where}: claims to be from {p.strategy!r}")
    if p.at != ctx.now:
        out.append(f"{where}: dated {p.at.isoformat()}, not this tick")
    if not isinstance(p.reason, str) or not p.reason.strip() or len(p.reason) > MAX_REASON_CHARS:
        out.append(f"{where}: needs a readable reason of at most {MAX_REASON_CHARS} characters")
    if any(not isinstance(v, float | int) or isinstance(v, bool) for v in p.scores.values()):
        out.append(f"{where}: scores must be numbers")
    shape = LEG_SHAPES.get(p.action)
    if shape is None or len(p.legs) != len(shape):
        return [*out, f"{where}: a {p.action} needs {len(shape or ())} legs, got {len(p.legs)}"]
    for i, (leg, (side, intent)) in enumerate(zip(p.legs, shape, strict=True)):
        out += leg_problems(leg, ctx, f"{where} leg {i}")
        if isinstance(leg, Leg):
            if (leg.side, leg.intent) != (side, intent):
                out.append(f"{where} leg {i}: a {p.action} leg {i} must {side} to {intent}")
            if leg.currency != p.currency:
                out.append(f"{where} leg {i}: currency {leg.currency} differs from the proposal's")
    if p.action is Action.ROLL and (not p.link_id or p.legs[0].size_contracts != p.legs[1].size_contracts):
        out.append(f"{where}: a roll needs a link id and equal sizes on both legs")
    held = {x.instrument_name: -x.size_contracts for x in ctx.positions if x.is_short}
    for leg in p.legs:
        closing = isinstance(leg, Leg) and leg.intent is LegIntent.CLOSE
        if closing and leg.size_contracts > held.get(leg.instrument_name, 0.0) + 1e-9:
            out.append(f"{where}: closes {leg.size_contracts:g} {leg.instrument_name}, holds less short")
    return out


def offer_problems(o: object, ctx: StrategyContext, where: str) -> list[str]:
    if not isinstance(o, OpenOffer):
        return [f"{where}: not an OpenOffer ({type(o).__name__})"]
    out: list[str] = []
    if o.strategy != ctx.config.name or o.at != ctx.now:
        out.append(f"{where}: not this strategy's offer for this tick")
    if not o.offers:
        out.append(f"{where}: no candidates")
    for i, offer in enumerate(o.offers):
        out += leg_problems(offer.leg, ctx, f"{where} candidate {i}")
        if (offer.leg.side, offer.leg.intent) != (
            Side.SELL,
            LegIntent.OPEN,
        ) or offer.leg.currency != o.currency:
            out.append(f"{where} candidate {i}: must sell to open in {o.currency}")
        if not math.isfinite(offer.score):
            out.append(f"{where} candidate {i}: score is not finite")
    return out


def output_problems(output: object, ctx: StrategyContext) -> list[str]:
    """Everything wrong with a strategy's output; empty when it is sound."""
    if not isinstance(output, StrategyOutput):
        return [f"propose returned {type(output).__name__}, not StrategyOutput"]
    if not isinstance(output.proposals, tuple) or not isinstance(output.offers, tuple):
        return ["proposals and offers must be tuples"]
    if len(output.proposals) + len(output.offers) > MAX_PROPOSALS:
        return [f"more than {MAX_PROPOSALS} proposals and offers"]
    problems: list[str] = []
    for i, p in enumerate(output.proposals):
        problems += proposal_problems(p, ctx, f"proposal {i}")
    for i, o in enumerate(output.offers):
        problems += offer_problems(o, ctx, f"offer {i}")
    return problems


def run_strategy(logic: StrategyLogic, ctx: StrategyContext) -> StrategyRun:
    """Call ``logic.propose`` safely; never raises (except for ``BaseException`` like KeyboardInterrupt)."""
    name = ctx.config.name
    isolated = replace(ctx, market=ctx.market.isolated())
    started = time.perf_counter()  # timing for the report only; it never feeds a decision
    try:
        output = logic.propose(isolated)
    except Exception as exc:
        elapsed = 1000.0 * (time.perf_counter() - started)
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
        fault = StrategyFault(name, "raised", f"{type(exc).__name__}: {exc}{where}")
        return StrategyRun(name, StrategyOutput(), fault, elapsed)
    elapsed = 1000.0 * (time.perf_counter() - started)
    try:
        problems = output_problems(output, ctx)
    except Exception as exc:  # nonsense odd enough to break the checks is still nonsense
        problems = [f"output could not be checked: {type(exc).__name__}: {exc}"]
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return StrategyRun(name, StrategyOutput(), StrategyFault(name, "invalid_output", shown), elapsed)
    assert isinstance(output, StrategyOutput)
    return StrategyRun(name, output, None, elapsed)


def run_strategies(pairs: Sequence[tuple[StrategyLogic, StrategyContext]]) -> tuple[StrategyRun, ...]:
    """Run each strategy in isolation, in the order given (the results do not depend on it)."""
    return tuple(run_strategy(logic, ctx) for logic, ctx in pairs)
