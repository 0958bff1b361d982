"""Random ticks for the risk engine's property tests: full synthetic BTC and ETH chains, an account,
strategies with limits, positions and proposals (mostly sensible, some malformed), and risk configs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.trading.strategies.support import config, market_from_chain, regime_of, synthetic_chain
from trading.risk.config import RiskConfig
from trading.risk.killswitch import EquityMarks, KillSwitchInput
from trading.risk.state import RiskState
from trading.strategies.base import (
    AccountView,
    Action,
    CurrencyAccount,
    Leg,
    LegIntent,
    OptionPosition,
    Proposal,
    Side,
    StrategyConfig,
)
from trading.strategies.contracts import AMOUNT_STEP, round_price
from trading.strategies.market import CurrencyMarket, MarketSnapshot, Quote
from trading.strategies.regime import Regime

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
MARKETS = {
    "BTC": market_from_chain(synthetic_chain("BTC"), "BTC", observed_at=NOW),
    "ETH": market_from_chain(synthetic_chain("ETH", spot=2_000.0), "ETH", observed_at=NOW),
}


def _tradable(m: CurrencyMarket) -> list[str]:
    c = m.chain
    ok = c["bid_price_coin"].notna() & c["ask_price_coin"].notna() & (c["t_years"] > 1 / 365)
    return sorted(c.loc[ok, "instrument_name"].astype(str))[::3]


TRADABLE = {c: _tradable(m) for c, m in MARKETS.items()}
BY_TYPE = {
    (c, kind): [n for n in names if n.endswith("-" + kind[0].upper())]
    for c, names in TRADABLE.items()
    for kind in ("call", "put")
}
NAMES = ("a", "b", "c")
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(SETTINGS, max_examples=200)


def quote_of(currency: str, name: str) -> Quote:
    q = MARKETS[currency].quote(name)
    assert q is not None
    return q


def _leg(currency: str, name: str, side: Side, size: float, price: float) -> Leg:
    q = quote_of(currency, name)
    intent = LegIntent.OPEN if side is Side.SELL else LegIntent.CLOSE
    return Leg(name, currency, q.option_type, q.strike_usd, q.expiry, side, intent, size, price)


@dataclass(frozen=True)
class World:
    state: RiskState
    proposals: tuple[Proposal, ...]


@st.composite
def strategy_configs(draw: st.DrawFn, name: str, busy: bool = False) -> StrategyConfig:
    kind = draw(st.sampled_from(["covered_call", "cash_secured_put"]))
    underlyings = draw(st.sampled_from([["BTC"], ["ETH"], ["BTC", "ETH"], ["BTC", "ETH"]]))
    limits = {
        "max_contracts": draw(st.floats(0.5, 40.0)),
        "max_notional_usd": draw(st.floats(5_000.0, 3_000_000.0)),
        "max_open_positions": draw(st.integers(1, 8)),
        "max_abs_delta": draw(st.floats(0.1, 20.0)),
    }
    enabled = busy or draw(st.sampled_from([True] * 9 + [False]))
    priority = draw(st.integers(0, 2))
    return config(name, kind, underlyings=underlyings, limits=limits, priority=priority, enabled=enabled)


@st.composite
def prices(draw: st.DrawFn, q: Quote, side: Side, busy: bool = False) -> float:
    bid, ask = q.bid_coin or 0.0, q.ask_coin or 0.0
    choice = "near" if busy else draw(st.sampled_from(["near"] * 6 + ["mid", "off_tick", "outside"]))
    near = bid if side is Side.SELL else ask
    if choice == "near":
        return near
    if choice == "mid":
        return round_price((bid + ask) / 2, "down")
    if choice == "off_tick":
        return near + 0.00003
    return round_price(ask * 1.5 + 0.001, "up") if side is Side.SELL else round_price(bid * 0.5, "down")


def _mostly(draw: st.DrawFn, usual: Any, *rare: Any) -> Any:
    return draw(st.sampled_from([usual] * 6 + list(rare)))


@st.composite
def accounts(draw: st.DrawFn, busy: bool = False) -> tuple[AccountView, dict[str, EquityMarks]]:
    currencies = {}
    marks = {}
    for cur, scale in (("BTC", 1.0), ("ETH", 30.0)):
        balance = draw(st.sampled_from([0.5, 1.0, 2.0] if busy else [0.0, 0.5, 2.0, 5.0, 10.0, 10.0])) * scale
        equity = balance * draw(st.floats(0.9, 1.1))
        im = equity * _mostly(draw, 0.0, 0.1, 0.45)
        currencies[cur] = CurrencyAccount(cur, balance, equity, im, 0.0)
        marks[cur] = EquityMarks(equity * draw(st.floats(1.0, 1.03)), equity * draw(st.floats(1.0, 1.06)))
    age = 0 if busy else _mostly(draw, 0, 150, 400)
    return AccountView(NOW - timedelta(seconds=age), currencies), marks


@st.composite
def worlds(draw: st.DrawFn, halted: bool | None = None, busy: bool = False) -> World:
    """A random tick; ``busy`` ones have fresh data, calm markets and more opens, so limits bind."""
    strategies = tuple(
        draw(strategy_configs(n, busy)) for n in NAMES[: draw(st.integers(2 if busy else 1, 3))]
    )
    names = [s.name for s in strategies]
    account, marks = draw(accounts(busy))
    market = MarketSnapshot(
        {
            c: m.with_meta(
                regime=regime_of(
                    c, Regime.NORMAL if busy else _mostly(draw, Regime.NORMAL, Regime.ELEVATED, Regime.CRISIS)
                ),
                observed_at=NOW - timedelta(seconds=0 if busy else _mostly(draw, 0, 30, 150)),
            )
            for c, m in MARKETS.items()
        }
    )

    positions: list[OptionPosition] = []
    for _ in range(draw(st.integers(0, 3))):
        cur = draw(st.sampled_from(["BTC", "ETH"]))
        name = draw(st.sampled_from(TRADABLE[cur]))
        q = quote_of(cur, name)
        size = draw(st.integers(1, 8)) * AMOUNT_STEP[cur]
        owner = draw(st.sampled_from([*names, ""]))
        positions.append(OptionPosition(owner, name, cur, q.option_type, q.strike_usd, q.expiry, -size, 0.01))

    proposals: list[Proposal] = []
    for i in range(draw(st.integers(3 if busy else 0, 9))):
        kinds = (
            ["open"] * 6 + ["close", "roll"] if busy else ["open"] * 4 + ["close", "roll", "hold", "cancel"]
        )
        kind = draw(st.sampled_from(kinds))
        strategy = draw(st.sampled_from([*names, "stranger"] if i == 0 and not busy else names))
        cur = draw(st.sampled_from(["BTC", "ETH"]))
        if kind in ("close", "roll") and positions:
            pos = draw(st.sampled_from(positions))
            cur, step = pos.currency, AMOUNT_STEP[pos.currency]
            q = quote_of(cur, pos.instrument_name)
            size = draw(st.sampled_from([-pos.size_contracts, step, 2 * step]))
            close = _leg(cur, pos.instrument_name, Side.BUY, size, draw(prices(q, Side.BUY)))
            owner = draw(st.sampled_from([pos.strategy or strategy, strategy]))
            if kind == "close":
                proposals.append(Proposal(owner, NOW, Action.CLOSE, cur, (close,), "close"))
                continue
            new = draw(st.sampled_from(TRADABLE[cur]))
            opened = _leg(cur, new, Side.SELL, size, draw(prices(quote_of(cur, new), Side.SELL)))
            proposals.append(Proposal(owner, NOW, Action.ROLL, cur, (close, opened), "roll", link_id=f"r{i}"))
        elif kind in ("open", "close", "roll"):
            cfg = next((x for x in strategies if x.name == strategy), strategies[0])
            if busy or _mostly(draw, True, False):  # mostly what the strategy may trade
                cur = draw(st.sampled_from(sorted(cfg.underlyings)))
                name = draw(st.sampled_from(BY_TYPE[cur, next(iter(cfg.option_types))]))
            else:
                name = draw(st.sampled_from(TRADABLE[cur]))
            step = AMOUNT_STEP[cur]
            size = step * (
                draw(st.integers(1, 8)) if busy else _mostly(draw, 1, draw(st.integers(1, 30)), 1.5)
            )
            leg = _leg(cur, name, Side.SELL, size, draw(prices(quote_of(cur, name), Side.SELL, busy)))
            score = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
            proposals.append(
                Proposal(strategy, NOW, Action.OPEN, cur, (leg,), "open", scores={"score": score})
            )
        elif kind == "hold":
            proposals.append(Proposal(strategy, NOW, Action.HOLD, cur, (), "hold"))
        else:
            proposals.append(Proposal(strategy, NOW, Action.CANCEL, cur, (), "cancel", cancel_label=f"l{i}"))

    is_halted = (not busy and _mostly(draw, False, True)) if halted is None else halted
    kill = KillSwitchInput(manual_halt=is_halted, marks=marks)
    state = RiskState(NOW, market, account, tuple(positions), {s.name: s for s in strategies}, kill)
    return World(state, tuple(proposals))


@st.composite
def risk_configs(draw: st.DrawFn) -> RiskConfig:
    lo = _mostly(draw, 0.0, -0.5, 0.5, 0.95)
    return RiskConfig(
        max_market_age_s=draw(st.sampled_from([60.0, 120.0, 200.0])),
        max_account_age_s=draw(st.sampled_from([100.0, 300.0, 500.0])),
        max_call_coverage=draw(st.floats(0.3, 1.0)),
        max_initial_margin_fraction=draw(st.floats(0.2, 1.0)),
        min_net_delta_ratio=lo,
        max_net_delta_ratio=draw(st.floats(max(lo, 1.0), 2.5)),
        max_expiry_fraction=draw(st.floats(0.3, 2.0)),
        max_put_collateral_fraction=draw(st.floats(0.3, 2.0)),
        crisis_allows_opens=draw(st.booleans()),
        elevated_max_abs_delta=draw(st.floats(0.1, 0.6)),
        max_daily_loss_pct=draw(st.floats(4.0, 10.0)),
        max_drawdown_pct=draw(st.floats(8.0, 20.0)),
    )


_ACCOUNT_KNOBS = (
    "max_market_age_s",
    "max_account_age_s",
    "max_call_coverage",
    "max_initial_margin_fraction",
    "min_net_delta_ratio",
    "max_net_delta_ratio",
    "max_expiry_fraction",
    "max_put_collateral_fraction",
    "crisis_allows_opens",
    "elevated_max_abs_delta",
    "max_daily_loss_pct",
    "max_drawdown_pct",
)
_STRATEGY_KNOBS = ("max_contracts", "max_notional_usd", "max_open_positions", "max_abs_delta")


def _tighten(knob: str, value: Any, factor: float) -> Any:
    if knob == "crisis_allows_opens":
        return False
    if knob == "min_net_delta_ratio":
        return value + (1.0 - factor)
    if knob == "max_open_positions":
        return max(1, int(value * factor))
    return value * factor


@st.composite
def tightened(
    draw: st.DrawFn, cfg: RiskConfig, strategies: dict[str, StrategyConfig]
) -> tuple[RiskConfig, dict[str, StrategyConfig]]:
    """Some limits made stricter: one knob (most often, the sharpest test) or many at once."""
    knobs = [("account", k) for k in _ACCOUNT_KNOBS] + [(n, k) for n in strategies for k in _STRATEGY_KNOBS]
    one = draw(st.booleans())
    chosen = [draw(st.sampled_from(knobs))] if one else knobs
    acct: dict[str, Any] = {}
    per: dict[str, dict[str, Any]] = {}
    for owner, knob in chosen:
        factor = draw(st.sampled_from([0.5, 0.1] if one else [1.0, 1.0, 0.9, 0.5, 0.1]))
        if owner == "account":
            acct[knob] = _tighten(knob, getattr(cfg, knob), factor)
        else:
            per.setdefault(owner, {})[knob] = _tighten(knob, getattr(strategies[owner].limits, knob), factor)
    if acct.get("min_net_delta_ratio", cfg.min_net_delta_ratio) > acct.get(
        "max_net_delta_ratio", cfg.max_net_delta_ratio
    ):
        acct["max_net_delta_ratio"] = acct["min_net_delta_ratio"] = acct.get(
            "max_net_delta_ratio", cfg.max_net_delta_ratio
        )
    new_strategies = {
        n: replace(s, limits=s.limits.model_copy(update=per.get(n, {}))) for n, s in strategies.items()
    }
    return cfg.model_copy(update=acct), new_strategies
