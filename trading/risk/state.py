"""What the risk engine reads (:class:`RiskState`) and what it returns (:class:`RiskReview`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from trading.risk.killswitch import KillSwitchInput, KillSwitchStatus
from trading.strategies.base import AccountView, Action, Leg, OptionPosition, StrategyConfig
from trading.strategies.market import MarketSnapshot


@dataclass(frozen=True)
class RiskState:
    """The account as it stands at ``now``: market, account, every strategy's positions and configs."""

    now: datetime
    market: MarketSnapshot
    account: AccountView | None
    positions: tuple[OptionPosition, ...]
    """All positions: every strategy's, and any not owned by a strategy (``strategy == ""``)."""
    strategies: Mapping[str, StrategyConfig]
    kill_switch: KillSwitchInput = field(default_factory=KillSwitchInput)


class VerdictStatus(StrEnum):
    APPROVED = "approved"
    PARTIAL = "partial"
    """Only some legs may go: a roll whose open leg was refused is reduced to its close leg."""
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Verdict:
    proposal_id: str
    strategy: str
    action: Action
    status: VerdictStatus
    approved_legs: tuple[Leg, ...]
    reasons: tuple[str, ...]
    rank: int
    """Position in the review order (0 = first claim on the limits)."""

    @property
    def approved(self) -> bool:
        return self.status is not VerdictStatus.REJECTED


@dataclass(frozen=True, slots=True)
class RiskReview:
    verdicts: tuple[Verdict, ...]
    """One per proposal, in the order the proposals were given."""
    kill_switch: KillSwitchStatus
    order: tuple[str, ...]
    """Proposal ids in review (priority) order."""

    def for_proposal(self, proposal_id: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.proposal_id == proposal_id), None)
