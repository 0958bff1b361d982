"""The strategy interface (version :data:`INTERFACE_VERSION`): read-only context in, proposals out.

A strategy is a stateless :class:`StrategyLogic` whose :meth:`~StrategyLogic.propose` gets a
:class:`StrategyContext` (time, market, its own positions, the account, its validated parameters)
and returns a :class:`StrategyOutput`:

* ``proposals``: management decisions already taken by rules (close, roll, hold), each with legs,
  scores and a reason a person can read;
* ``offers``: for each underlying where it would open a position, the ranked candidates it finds
  acceptable (:class:`OpenOffer`). The decision mode (``trading.decision``) turns an offer into an
  open proposal, by rules (the best-ranked candidate) or by an LLM's pick among them.

Units: amounts in contracts (1 contract = 1 coin), prices in coin per contract, strikes in USD.
A roll is one proposal with two legs, close (buy) then open (sell), sharing a ``link_id``; the
executor sends the open leg only once the close leg has filled.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from trading.strategies.market import MarketSnapshot
from trading.strategies.params import (
    DecisionMode,
    LogicKind,
    RiskLimits,
    SellOptionParams,
    validate_params,
    validate_risk_limits,
)

INTERFACE_VERSION = 1
"""Bumped whenever the context or the output of :class:`StrategyLogic` changes shape."""


class Action(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    ROLL = "roll"
    HOLD = "hold"
    CANCEL = "cancel"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class LegIntent(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    """Reduce-only."""


LEG_SHAPES: dict[Action, tuple[tuple[Side, LegIntent], ...]] = {
    Action.OPEN: ((Side.SELL, LegIntent.OPEN),),
    Action.CLOSE: ((Side.BUY, LegIntent.CLOSE),),
    Action.ROLL: ((Side.BUY, LegIntent.CLOSE), (Side.SELL, LegIntent.OPEN)),
    Action.HOLD: (),
    Action.CANCEL: (),
}
"""Legs each action must have, in order: this agent only sells options and buys them back."""


@dataclass(frozen=True, slots=True)
class Leg:
    """One order: instrument, side and intent, size in contracts and a limit price in coin."""

    instrument_name: str
    currency: str
    option_type: str
    strike_usd: float
    expiry: datetime
    side: Side
    intent: LegIntent
    size_contracts: float
    limit_price_coin: float

    @property
    def reduce_only(self) -> bool:
        return self.intent is LegIntent.CLOSE

    def describe(self) -> str:
        return f"{self.side.value} {self.size_contracts:g} {self.instrument_name} @ {self.limit_price_coin:g}"


@dataclass(frozen=True, slots=True)
class DecisionInfo:
    """How an open decision was taken: by rules or by the LLM, and why a fallback happened."""

    mode: DecisionMode
    decided_by: str
    """``rules`` or ``llm``."""
    rules_choice: str
    """What rules picked, e.g. ``open BTC-27MAR26-90000-C x 0.5`` or ``hold``."""
    llm_choice: str | None = None
    """What the LLM picked (or ``rejected: …``); ``None`` when it was not asked."""
    fallback_reason: str | None = None
    llm_raw: str | None = None
    """The LLM's raw reply text, for the record."""


def _digest(*parts: object) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a strategy wants done, with legs, scores and a readable reason.

    ``proposal_id`` is derived from the content (strategy, time, action, legs; the reason of a
    proposal without legs), so the same inputs give the same id in a backtest and live.
    """

    strategy: str
    at: datetime
    action: Action
    currency: str
    legs: tuple[Leg, ...]
    reason: str
    scores: Mapping[str, float] = field(default_factory=dict)
    link_id: str | None = None
    cancel_label: str | None = None
    decision: DecisionInfo | None = None
    proposal_id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        legs = ";".join(
            f"{g.instrument_name},{g.side.value},{g.intent.value},{g.size_contracts!r},{g.limit_price_coin!r}"
            for g in self.legs
        )
        pid = _digest(
            self.strategy,
            self.at.isoformat(),
            self.action.value,
            self.currency,
            legs,
            self.link_id,
            self.cancel_label,
            "" if self.legs else self.reason,  # holds of one tick differ only by what they say
        )
        object.__setattr__(self, "proposal_id", pid)

    @property
    def score(self) -> float:
        return float(self.scores.get("score", 0.0))

    def leg(self, intent: LegIntent) -> Leg | None:
        return next((g for g in self.legs if g.intent is intent), None)


def roll_link_id(strategy: str, at: datetime, old: str, new: str) -> str:
    """The id that ties a roll's close and open legs (and their orders) together."""
    return "roll-" + _digest(strategy, at.isoformat(), old, new)


@dataclass(frozen=True, slots=True)
class OptionPosition:
    """An option position held by one strategy (``size_contracts`` negative when short)."""

    strategy: str
    instrument_name: str
    currency: str
    option_type: str
    strike_usd: float
    expiry: datetime
    size_contracts: float
    open_price_coin: float
    """Average price it was opened at, coin per contract."""

    @property
    def is_short(self) -> bool:
        return self.size_contracts < 0.0


@dataclass(frozen=True, slots=True)
class CurrencyAccount:
    """The account in one coin (Deribit ``get_account_summary``), all amounts in that coin."""

    currency: str
    balance_coin: float
    """Wallet balance: the coins held, which cover the calls sold."""
    equity_coin: float
    initial_margin_coin: float
    maintenance_margin_coin: float


@dataclass(frozen=True)
class AccountView:
    """The account across coins, as observed at ``observed_at``."""

    observed_at: datetime
    currencies: Mapping[str, CurrencyAccount] = field(default_factory=dict)

    def get(self, currency: str) -> CurrencyAccount | None:
        return self.currencies.get(currency)


@dataclass(frozen=True)
class StrategyConfig:
    """A configured strategy as the pure layers see it (built from the registry row)."""

    name: str
    kind: LogicKind
    params: SellOptionParams
    underlyings: frozenset[str]
    option_types: frozenset[str]
    limits: RiskLimits = field(default_factory=RiskLimits)
    decision_mode: DecisionMode = DecisionMode.RULES
    priority: int = 100
    """Lower goes first when proposals compete for a limit (see ``trading.risk.engine``)."""
    enabled: bool = True

    @classmethod
    def from_registry(
        cls,
        *,
        name: str,
        logic_kind: str,
        parameters: Any,
        underlyings: Any,
        option_types: Any,
        risk_limits: Any = None,
        decision_mode: str = DecisionMode.RULES.value,
        priority: int = 100,
        enabled: bool = True,
    ) -> StrategyConfig:
        """Validate registry values (raises ``ParameterError``) and build the config."""
        kind = LogicKind(logic_kind)
        return cls(
            name=name,
            kind=kind,
            params=validate_params(kind, parameters),
            underlyings=frozenset(underlyings),
            option_types=frozenset(option_types),
            limits=validate_risk_limits(risk_limits or {}),
            decision_mode=DecisionMode(decision_mode),
            priority=priority,
            enabled=enabled,
        )


@dataclass(frozen=True)
class StrategyContext:
    """Everything a strategy may look at; nothing else (no clock, no database, no network)."""

    now: datetime
    config: StrategyConfig
    market: MarketSnapshot
    positions: tuple[OptionPosition, ...]
    """This strategy's own positions."""
    account: AccountView


@dataclass(frozen=True, slots=True)
class Offer:
    """One acceptable candidate to sell: its leg at the largest allowed size, scores and facts."""

    leg: Leg
    score: float
    score_parts: Mapping[str, float]
    facts: Mapping[str, float | str]
    """What a person or an LLM is shown: DTE, delta, premium, yield, IV/RV, spread, open interest."""


@dataclass(frozen=True, slots=True)
class OpenOffer:
    """The ranked candidates (best first, never empty) a strategy would open one of, in one coin."""

    strategy: str
    at: datetime
    currency: str
    offers: tuple[Offer, ...]
    max_size_contracts: float
    size_step_contracts: float
    context: Mapping[str, float | str]
    """Market and account facts for the decision: index, DVOL, regime, coins held, capacity."""
    reason: str
    """Why an open is on the table (capacity, filters passed)."""


@dataclass(frozen=True, slots=True)
class StrategyOutput:
    proposals: tuple[Proposal, ...] = ()
    offers: tuple[OpenOffer, ...] = ()


class StrategyLogic(ABC):
    """Base of every strategy logic. Subclasses are stateless and set the class attributes."""

    kind: ClassVar[LogicKind]
    version: ClassVar[str]
    """The logic's own version; change it when its decisions change for the same inputs."""
    interface_version: ClassVar[int] = INTERFACE_VERSION
    params_schema: ClassVar[type[SellOptionParams]]

    @abstractmethod
    def propose(self, ctx: StrategyContext) -> StrategyOutput:
        """Proposals and open offers for this tick. Pure: same context, same output."""
