"""The kill switch: halted by hand, or automatically on a daily loss or a drawdown of a coin's equity.

Losses are measured per coin, in that coin (a coin-margined account's equity in coin falls only
when its options lose, not when the coin's price falls). An automatic trip is latched by the
caller (``tripped_reason``) until a person resets it. Missing account data or equity marks halt
for as long as they are missing (fail closed) but are not latched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from trading.risk.config import RiskConfig
from trading.strategies.base import AccountView


@dataclass(frozen=True, slots=True)
class EquityMarks:
    """Reference points of one coin's equity, in that coin."""

    day_start_equity_coin: float
    """Equity at the start of the trading day (the 08:00 UTC settlement)."""
    peak_equity_coin: float
    """Highest equity seen (since the last reset)."""


@dataclass(frozen=True, slots=True)
class KillSwitchInput:
    manual_halt: bool = False
    manual_reason: str = ""
    tripped_reason: str | None = None
    """An earlier automatic trip that nobody has reset yet."""
    marks: Mapping[str, EquityMarks] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KillSwitchStatus:
    halted: bool
    reasons: tuple[str, ...]
    newly_tripped: bool
    """True when this evaluation tripped it automatically (the caller should latch it)."""


def evaluate_kill_switch(
    ks: KillSwitchInput, account: AccountView | None, config: RiskConfig
) -> KillSwitchStatus:
    """Halted or not, and why; every coin of the account is checked."""
    reasons: list[str] = []
    if ks.manual_halt:
        reasons.append("halted by hand" + (f": {ks.manual_reason}" if ks.manual_reason else ""))
    if ks.tripped_reason:
        reasons.append(f"tripped earlier and not reset: {ks.tripped_reason}")
    latched = bool(reasons)
    tripped: list[str] = []  # loss limits: latched by the caller
    missing: list[str] = []  # missing data: halts this tick only
    if account is None:
        missing.append("no account data: fail closed")
    else:
        for currency in sorted(account.currencies):
            equity = account.currencies[currency].equity_coin
            marks = ks.marks.get(currency)
            if marks is None:
                missing.append(f"{currency}: no equity marks (day start, peak): fail closed")
                continue
            if not all(
                math.isfinite(x) for x in (equity, marks.day_start_equity_coin, marks.peak_equity_coin)
            ):
                missing.append(f"{currency}: equity or marks not finite: fail closed")
                continue
            if marks.day_start_equity_coin > 0.0:
                loss_pct = 100.0 * (1.0 - equity / marks.day_start_equity_coin)
                if loss_pct >= config.max_daily_loss_pct:
                    tripped.append(
                        f"{currency}: down {loss_pct:.1f}% today >= {config.max_daily_loss_pct:g}%"
                    )
            peak = max(marks.peak_equity_coin, equity)
            if peak > 0.0:
                dd_pct = 100.0 * (1.0 - equity / peak)
                if dd_pct >= config.max_drawdown_pct:
                    tripped.append(
                        f"{currency}: {dd_pct:.1f}% below its peak >= {config.max_drawdown_pct:g}%"
                    )
    reasons += tripped + missing
    return KillSwitchStatus(
        halted=bool(reasons), reasons=tuple(reasons), newly_tripped=bool(tripped) and not latched
    )
