"""A strategy that raises or returns nonsense is isolated and reported; the others still run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

import pandas as pd
import pytest

from tests.trading.strategies.support import (
    account,
    chain_time,
    config,
    context,
    market_from_chain,
    short,
    snapshot_from_chain,
)
from trading.strategies.base import (
    INTERFACE_VERSION,
    Action,
    Proposal,
    StrategyContext,
    StrategyLogic,
    StrategyOutput,
)
from trading.strategies.covered_call import CoveredCall
from trading.strategies.params import CoveredCallParams, LogicKind
from trading.strategies.registry import STRATEGY_LOGIC, UnknownLogicError, logic_for
from trading.strategies.runner import run_strategies, run_strategy


class Scripted(StrategyLogic):
    """A strategy whose output is produced by a function of the real covered-call output."""

    kind: ClassVar[LogicKind] = LogicKind.COVERED_CALL
    version: ClassVar[str] = "test"
    params_schema: ClassVar[type[CoveredCallParams]] = CoveredCallParams

    def __init__(self, mangle: Callable[[StrategyOutput, StrategyContext], Any]) -> None:
        self.mangle = mangle

    def propose(self, ctx: StrategyContext) -> StrategyOutput:
        return self.mangle(CoveredCall().propose(ctx), ctx)  # type: ignore[no-any-return]


def _boom(out: StrategyOutput, ctx: StrategyContext) -> Any:
    raise ZeroDivisionError("division by zero in my scoring")


def _first_offer_leg(out: StrategyOutput, **change: Any) -> StrategyOutput:
    s = out.offers[0]
    o = s.offers[0]
    bad = replace(s, offers=(replace(o, leg=replace(o.leg, **change)), *s.offers[1:]))
    return StrategyOutput(out.proposals, (bad, *out.offers[1:]))


def _close_unheld(out: StrategyOutput, ctx: StrategyContext) -> StrategyOutput:
    from trading.strategies.base import LegIntent, Side

    leg = replace(out.offers[0].offers[0].leg, side=Side.BUY, intent=LegIntent.CLOSE)
    p = Proposal(ctx.config.name, ctx.now, Action.CLOSE, leg.currency, (leg,), "close what I never sold")
    return StrategyOutput((*out.proposals, p), out.offers)


def _plus_hold(out: StrategyOutput, ctx: StrategyContext, **change: Any) -> StrategyOutput:
    hold = Proposal(ctx.config.name, ctx.now, Action.HOLD, "BTC", (), "nothing to do")
    return StrategyOutput((*out.proposals, replace(hold, **change)), out.offers)


NONSENSE: dict[str, tuple[Callable[[StrategyOutput, StrategyContext], Any], str]] = {
    "raises": (_boom, "ZeroDivisionError: division by zero in my scoring"),
    "returns None": (lambda out, ctx: None, "not StrategyOutput"),
    "returns a list": (lambda out, ctx: list(out.proposals), "not StrategyOutput"),
    "size off the step": (
        lambda out, ctx: _first_offer_leg(out, size_contracts=0.15),
        "not a positive multiple",
    ),
    "negative size": (lambda out, ctx: _first_offer_leg(out, size_contracts=-1.0), "not a positive multiple"),
    "price off the tick": (lambda out, ctx: _first_offer_leg(out, limit_price_coin=0.00733), "tick-rounded"),
    "NaN price": (lambda out, ctx: _first_offer_leg(out, limit_price_coin=float("nan")), "tick-rounded"),
    "unknown instrument": (
        lambda out, ctx: _first_offer_leg(out, instrument_name="BTC-1JAN30-1-C"),
        "not in the BTC market",
    ),
    "wrong strike": (lambda out, ctx: _first_offer_leg(out, strike_usd=1.0), "do not match"),
    "closes what it does not hold": (_close_unheld, "holds less short"),
    "speaks for another strategy": (
        lambda out, ctx: _plus_hold(out, ctx, strategy="other"),
        "claims to be from 'other'",
    ),
    "no reason": (lambda out, ctx: _plus_hold(out, ctx, reason=" "), "readable reason"),
    "dated another tick": (
        lambda out, ctx: _plus_hold(out, ctx, at=ctx.now.replace(year=2020)),
        "not this tick",
    ),
    "offers for another strategy": (
        lambda out, ctx: StrategyOutput(out.proposals, tuple(replace(o, strategy="x") for o in out.offers)),
        "not this strategy's offer",
    ),
    "roll without legs": (
        lambda out, ctx: StrategyOutput(
            (Proposal(ctx.config.name, ctx.now, Action.ROLL, "BTC", (), "roll"),), out.offers
        ),
        "a roll needs 2 legs",
    ),
}


@pytest.mark.parametrize("case", list(NONSENSE))
def test_nonsense_is_isolated_and_reported(calm_chain: pd.DataFrame, case: str) -> None:
    mangle, message = NONSENSE[case]
    snap = snapshot_from_chain(calm_chain)
    acct = account(chain_time(calm_chain), BTC=2.0, ETH=30.0)
    bad_ctx = context(config("bad"), snap, acct)
    good_ctx = context(config("good"), snap, acct)
    bad, good = run_strategies([(Scripted(mangle), bad_ctx), (CoveredCall(), good_ctx)])
    assert bad.fault is not None and message in bad.fault.message, bad.fault
    assert bad.output == StrategyOutput()
    assert good.fault is None and good.output.offers


def test_a_strategy_cannot_change_what_the_next_one_sees(calm_chain: pd.DataFrame) -> None:
    snap = snapshot_from_chain(calm_chain)
    acct = account(chain_time(calm_chain), BTC=2.0, ETH=30.0)

    def vandal(out: StrategyOutput, ctx: StrategyContext) -> StrategyOutput:
        ctx.market.markets["BTC"].candidates.loc[:, "premium_coin"] = 99.0
        ctx.market.markets["BTC"].chain.pop("delta")
        with pytest.raises(ValueError, match="read-only"):
            ctx.market.markets["BTC"].arrays["premium_coin"][:] = 99.0
        return out

    before = run_strategy(CoveredCall(), context(config("good"), snap, acct)).output
    assert run_strategy(Scripted(vandal), context(config("bad"), snap, acct)).fault is None
    after = run_strategy(CoveredCall(), context(config("good"), snap, acct)).output
    assert after == before and "delta" in snap.markets["BTC"].chain.columns
    assert (snap.markets["BTC"].candidates["premium_coin"] != 99.0).all()


def test_real_management_output_passes_the_checks(calm_chain: pd.DataFrame) -> None:
    market = market_from_chain(calm_chain, "BTC")
    held = short("cc", market, "BTC-9FEB26-74000-C", 0.5, 0.001)
    ctx = context(
        config("cc"), snapshot_from_chain(calm_chain), account(chain_time(calm_chain), BTC=2.0), held
    )
    run = run_strategy(CoveredCall(), ctx)
    assert run.fault is None and any(p.action is Action.ROLL for p in run.output.proposals)


def test_registry_is_stable_and_versioned() -> None:
    assert {k.value: v.__name__ for k, v in STRATEGY_LOGIC.items()} == {
        "covered_call": "CoveredCall",
        "cash_secured_put": "CashSecuredPut",
    }
    for kind, cls in STRATEGY_LOGIC.items():
        logic = logic_for(kind.value)
        assert isinstance(logic, cls) and logic.interface_version == INTERFACE_VERSION and logic.version
    with pytest.raises(UnknownLogicError):
        logic_for("martingale")
