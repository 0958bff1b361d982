"""The risk engine: :func:`review` takes the state and every proposal of a tick, returns verdicts.

Order and priority (documented, total, so the input order never matters):

1. cancels, 2. closes, 3. rolls, 4. opens, 5. holds; within a tier by the strategy's
``priority`` (lower first), then the proposal's score (higher first), then strategy name, then
proposal id.

Rules (reasons are given for every refusal):

* Kill switch (:mod:`trading.risk.killswitch`): while halted, only closes and cancels pass (a roll
  is reduced to its close leg).
* Facts (:func:`~trading.risk.checks.leg_fact_problems`): quoted instrument, limit on the tick
  grid and inside the bid/ask band, whole amount steps, closes only what the strategy holds short;
  opens only sell, only in the strategy's underlyings and option types, only while enabled.
* Data: quotes older than ``max_market_age_s`` or account data older than ``max_account_age_s``,
  or missing, fail closed; a held position without a quote blocks opens in its coin.
* Regime: crisis blocks opens; elevated caps a new short's ``|delta|``.
* Per-strategy limits (``RiskLimits``: contracts and delta per coin, notional in USD and open
  positions across coins) and account limits (``RiskConfig``, per coin), judged on the books after
  the trade.

Strict priority: every proposal that passes the facts claims its room in the books *before* its
limits are judged, whether or not it is then approved. A lower-priority proposal therefore never
takes room a higher-priority one was refused for, and tightening any limit can only turn
approvals into refusals, never the reverse. A roll's open leg is judged with its own close leg
netted out (the executor opens only after the close filled); for everyone else a close frees no
room in the same tick, because it might not fill.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from trading.risk.book import (
    CoinBook,
    Contribution,
    StrategyBook,
    add_position,
    apply_close_delta,
    apply_open,
    copy_coin,
    copy_strategy,
    net_roll_close,
)
from trading.risk.checks import (
    account_problems,
    freshness_problems,
    leg_fact_problems,
    open_limit_problems,
    open_permission_problems,
    regime_problems,
)
from trading.risk.config import RiskConfig
from trading.risk.killswitch import KillSwitchStatus, evaluate_kill_switch
from trading.risk.state import RiskReview, RiskState, Verdict, VerdictStatus
from trading.strategies.base import LEG_SHAPES, Action, Leg, LegIntent, Proposal

TIER: dict[Action, int] = {Action.CANCEL: 0, Action.CLOSE: 1, Action.ROLL: 2, Action.OPEN: 3, Action.HOLD: 4}


def priority_key(p: Proposal, state: RiskState) -> tuple[int, int, float, str, str]:
    cfg = state.strategies.get(p.strategy)
    priority = cfg.priority if cfg is not None else 1_000_000
    score = p.score if p.score == p.score else 0.0  # NaN scores rank as 0
    return (TIER.get(p.action, 9), priority, -score, p.strategy, p.proposal_id)


@dataclass
class _Books:
    coins: defaultdict[str, CoinBook]
    strategies: defaultdict[str, StrategyBook]
    holdings: dict[tuple[str, str], float]
    """(strategy, instrument) -> short contracts not yet claimed by a close in this review."""
    unpriced: dict[str, list[str]]
    """coin -> held instruments without a quote (exposure unknown: opens there fail closed)."""


def _initial_books(state: RiskState) -> _Books:
    books = _Books(defaultdict(CoinBook), defaultdict(StrategyBook), {}, defaultdict(list))
    for pos in state.positions:
        if pos.size_contracts == 0.0:
            continue
        quote = state.market.quote(pos.currency, pos.instrument_name)
        if quote is None and pos.expiry > state.now:
            books.unpriced[pos.currency].append(pos.instrument_name)
        strat = books.strategies[pos.strategy] if pos.strategy else None
        add_position(books.coins[pos.currency], strat, pos, quote)
        if pos.is_short:
            key = (pos.strategy, pos.instrument_name)
            books.holdings[key] = books.holdings.get(key, 0.0) - pos.size_contracts
    return books


def _verdict(
    p: Proposal, rank: int, status: VerdictStatus, legs: tuple[Leg, ...], reasons: list[str]
) -> Verdict:
    return Verdict(p.proposal_id, p.strategy, p.action, status, legs, tuple(reasons), rank)


class _Reviewer:
    def __init__(self, state: RiskState, config: RiskConfig, halt: KillSwitchStatus) -> None:
        self.state, self.config, self.halt = state, config, halt
        self.books = _initial_books(state)

    def review(self, p: Proposal, rank: int) -> Verdict:
        st = self.state
        if p.action is Action.HOLD:
            return _verdict(p, rank, VerdictStatus.APPROVED, (), ["hold: nothing to execute"])
        if p.action is Action.CANCEL:
            if p.cancel_label and not p.legs:
                return _verdict(p, rank, VerdictStatus.APPROVED, (), ["cancel always passes"])
            return _verdict(p, rank, VerdictStatus.REJECTED, (), ["a cancel needs a label and no legs"])
        shape = LEG_SHAPES.get(p.action, ())
        if len(p.legs) != len(shape) or any(
            (g.side, g.intent) != s or g.currency != p.currency for g, s in zip(p.legs, shape, strict=False)
        ):
            return _verdict(p, rank, VerdictStatus.REJECTED, (), [f"malformed {p.action}: legs do not fit"])
        cfg = st.strategies.get(p.strategy)
        if cfg is None:
            return _verdict(
                p, rank, VerdictStatus.REJECTED, (), [f"unknown strategy {p.strategy!r} (fail closed)"]
            )
        close_leg, open_leg = p.leg(LegIntent.CLOSE), p.leg(LegIntent.OPEN)
        coin = self.books.coins[p.currency]
        strat = self.books.strategies[p.strategy]

        close_c = None
        if close_leg is not None:
            quote, problems = leg_fact_problems(close_leg, st.market, st.now)
            key = (p.strategy, close_leg.instrument_name)
            held = self.books.holdings.get(key, 0.0)
            if close_leg.size_contracts > held + 1e-9:
                problems.append(
                    f"closes {close_leg.size_contracts:g} {close_leg.instrument_name} but "
                    f"{p.strategy} holds {held:g} short not already being closed"
                )
            if problems or quote is None:
                return _verdict(p, rank, VerdictStatus.REJECTED, (), problems)
            self.books.holdings[key] = held - close_leg.size_contracts
            close_c = Contribution(p.currency, close_leg, quote, p.strategy)
            apply_close_delta(coin, strat, close_c)

        open_c = None
        open_problems: list[str] = []
        if open_leg is not None:
            quote, open_problems = leg_fact_problems(open_leg, st.market, st.now)
            open_problems += open_permission_problems(open_leg, cfg)
            if not open_problems and quote is not None:
                open_c = Contribution(p.currency, open_leg, quote, p.strategy)
                apply_open(coin, strat, open_c)  # claims its room before any limit is judged

        # from here on the rules depend on limits and data age
        if close_leg is not None:
            stale = freshness_problems(p.currency, st.market, st.now, self.config)
            if stale:
                return _verdict(p, rank, VerdictStatus.REJECTED, (), stale)
            if open_leg is None:
                return _verdict(p, rank, VerdictStatus.APPROVED, (close_leg,), ["reduces risk: passes"])
        if open_c is not None:
            open_problems = self._open_limits(p, open_c, close_c, coin, strat)
        if not open_problems:
            return _verdict(p, rank, VerdictStatus.APPROVED, p.legs, ["all checks passed"])
        if close_leg is not None:
            reasons = [
                f"open leg refused, roll reduced to closing {close_leg.instrument_name}: "
                + "; ".join(open_problems)
            ]
            return _verdict(p, rank, VerdictStatus.PARTIAL, (close_leg,), reasons)
        return _verdict(p, rank, VerdictStatus.REJECTED, (), open_problems)

    def _open_limits(
        self, p: Proposal, c: Contribution, close_c: Contribution | None, coin: CoinBook, strat: StrategyBook
    ) -> list[str]:
        st, config = self.state, self.config
        if self.halt.halted:
            return ["kill switch: " + "; ".join(self.halt.reasons) + " (only closing and cancelling pass)"]
        problems = freshness_problems(p.currency, st.market, st.now, config)
        problems += account_problems(p.currency, st.account, st.now, config)
        if self.books.unpriced.get(p.currency):
            problems.append(
                f"held {', '.join(sorted(self.books.unpriced[p.currency]))} without a quote: "
                f"{p.currency} exposure unknown (fail closed)"
            )
        if problems:
            return problems
        problems += regime_problems(c.quote, st.market, config)
        if close_c is not None:  # judge the roll with its own close netted out
            coin, strat = copy_coin(coin), copy_strategy(strat)
            net_roll_close(coin, strat, close_c)
        cfg = st.strategies[p.strategy]
        assert st.account is not None
        market = st.market.get(p.currency)
        assert market is not None
        problems += open_limit_problems(
            c.leg,
            coin=coin,
            strat=strat,
            account=st.account,
            cfg=cfg,
            config=config,
            index_usd=market.index_price_usd,
        )
        return problems


def review(state: RiskState, proposals: Sequence[Proposal], config: RiskConfig | None = None) -> RiskReview:
    """Verdicts for ``proposals`` (one each, in the given order) and the kill switch's status. Pure."""
    config = config if config is not None else RiskConfig()
    halt = evaluate_kill_switch(state.kill_switch, state.account, config)
    reviewer = _Reviewer(state, config, halt)
    order = sorted(range(len(proposals)), key=lambda i: priority_key(proposals[i], state))
    verdicts: list[Verdict | None] = [None] * len(proposals)
    seen: set[str] = set()
    for rank, i in enumerate(order):
        p = proposals[i]
        if p.proposal_id in seen:
            verdicts[i] = _verdict(p, rank, VerdictStatus.REJECTED, (), ["duplicate of an earlier proposal"])
            continue
        seen.add(p.proposal_id)
        verdicts[i] = reviewer.review(p, rank)
    done = tuple(v for v in verdicts if v is not None)
    return RiskReview(verdicts=done, kill_switch=halt, order=tuple(proposals[i].proposal_id for i in order))
