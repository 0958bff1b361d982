"""Reads for the Live Agent tab and the agent API: status, per-strategy figures and the records.

Money stays ``Decimal``: coin amounts in the position's own coin (``*_coin``, never added across
coins), USD amounts (``*_usd``) added freely. Times are UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils.dateparse import parse_datetime
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from trading.agent.state import kill_switch_payload
from trading.exchange.config import MAINNET_HTTP_URL, TESTNET_HTTP_URL
from trading.models import AgentEvent, AgentState, AgentTick, Decision, Fill, Order, Position, Strategy
from trading.selectors.strategies import agent_tick_latest

ZERO = Decimal("0")
AGENT_TICK_TASK = "trading.tasks.agent_tick"

# Deribit's get_account_summary names, and the names the agent's own account view uses.
_ACCOUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "equity_coin": ("equity_coin", "equity"),
    "balance_coin": ("balance_coin", "balance"),
    "margin_balance_coin": ("margin_balance_coin", "margin_balance"),
    "initial_margin_coin": ("initial_margin_coin", "initial_margin"),
    "maintenance_margin_coin": ("maintenance_margin_coin", "maintenance_margin"),
    "available_funds_coin": ("available_funds_coin", "available_funds"),
}


# --- Agent status -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeInfo:
    trading_mode: str
    """``sim`` (the local Deribit emulator) or ``live`` (Deribit itself)."""
    environment: str
    """``emulator``, ``testnet`` or ``mainnet``."""
    name: str
    real_money: bool
    base_url: str


@dataclass(frozen=True)
class TickSchedule:
    every_seconds: int | None
    enabled: bool


@dataclass(frozen=True)
class CoinAccount:
    currency: str
    equity_coin: Decimal | None = None
    balance_coin: Decimal | None = None
    margin_balance_coin: Decimal | None = None
    initial_margin_coin: Decimal | None = None
    maintenance_margin_coin: Decimal | None = None
    available_funds_coin: Decimal | None = None


@dataclass(frozen=True)
class AccountSummary:
    tick_id: int
    observed_at: datetime
    currencies: list[CoinAccount]
    from_latest_tick: bool
    """False when the latest tick recorded no account and an older tick's is shown."""


@dataclass(frozen=True)
class Reconciliation:
    outcome: str
    outcome_display: str
    reconciled_at: datetime | None
    problems: list[str]


@dataclass(frozen=True)
class AgentStatus:
    exchange: ExchangeInfo
    schedule: TickSchedule
    last_tick: AgentTick | None
    reconciliation: Reconciliation
    kill_switch: dict[str, Any]
    account: AccountSummary | None
    enabled_strategies: list[str] = field(default_factory=list)


def exchange_info() -> ExchangeInfo:
    """Where the agent's orders go, from the settings (no network call)."""
    if settings.TRADING_MODE == "sim":
        url = settings.DERIBIT_BASE_URL or f"http://127.0.0.1:{settings.EMULATOR_PORT}"
        return ExchangeInfo(
            trading_mode="sim",
            environment="emulator",
            name="Deribit emulator on this machine",
            real_money=False,
            base_url=url,
        )
    mainnet = settings.DERIBIT_ENV == "mainnet"
    default_url = MAINNET_HTTP_URL if mainnet else TESTNET_HTTP_URL
    return ExchangeInfo(
        trading_mode="live",
        environment=settings.DERIBIT_ENV,
        name="Deribit mainnet" if mainnet else "Deribit testnet",
        real_money=mainnet,
        base_url=settings.DERIBIT_BASE_URL or default_url,
    )


def agent_tick_schedule() -> TickSchedule:
    """The tick's schedule as stored for the scheduler (editable in admin)."""
    task = PeriodicTask.objects.filter(task=AGENT_TICK_TASK).select_related("interval").first()
    if task is None:
        return TickSchedule(every_seconds=None, enabled=False)
    every: int | None = None
    interval = task.interval
    if interval is not None:
        seconds_per = {
            IntervalSchedule.SECONDS: 1,
            IntervalSchedule.MINUTES: 60,
            IntervalSchedule.HOURS: 3600,
            IntervalSchedule.DAYS: 86400,
        }.get(interval.period)
        every = interval.every * seconds_per if seconds_per else None
    return TickSchedule(every_seconds=every, enabled=task.enabled)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int | float | str):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _coin_account(currency: str, raw: Mapping[str, Any]) -> CoinAccount | None:
    values = {}
    for name, keys in _ACCOUNT_FIELDS.items():
        values[name] = next((v for v in (_decimal(raw.get(k)) for k in keys) if v is not None), None)
    if all(v is None for v in values.values()):
        return None
    return CoinAccount(currency=currency.upper(), **values)


def account_summary_parse(raw: Any) -> tuple[list[CoinAccount], datetime | None]:
    """The per-coin account from a tick's ``summary["account"]``.

    Accepted shapes: ``{"observed_at": …, "currencies": {"BTC": {…}}}``, ``{"BTC": {…}, …}`` or
    ``[{"currency": "BTC", …}, …]``, with Deribit's names (``equity``) or ours (``equity_coin``).
    Anything unreadable is left out rather than guessed.
    """
    observed_at: datetime | None = None
    entries: Iterable[tuple[str, Any]] = ()
    if isinstance(raw, Mapping):
        stamp = raw.get("observed_at")
        if isinstance(stamp, str):
            observed_at = parse_datetime(stamp)
        body = raw.get("currencies", raw)
        if isinstance(body, Mapping):
            entries = ((str(k), v) for k, v in body.items() if k not in {"observed_at", "currencies"})
        elif isinstance(body, list):
            entries = ((str(v.get("currency", "")), v) for v in body if isinstance(v, Mapping))
    elif isinstance(raw, list):
        entries = ((str(v.get("currency", "")), v) for v in raw if isinstance(v, Mapping))
    coins = []
    for currency, values in entries:
        if currency and isinstance(values, Mapping):
            coin = _coin_account(currency, values)
            if coin is not None:
                coins.append(coin)
    return sorted(coins, key=lambda c: c.currency), observed_at


def account_summary_latest(*, latest_tick: AgentTick | None = None) -> AccountSummary | None:
    """The newest account summary a tick recorded, or ``None`` when no tick has recorded one."""
    latest = latest_tick if latest_tick is not None else agent_tick_latest()
    candidates = AgentTick.objects.filter(summary__has_key="account").order_by("-started_at", "-id")
    for tick in candidates[:20]:
        coins, observed_at = account_summary_parse(tick.summary.get("account"))
        if coins:
            return AccountSummary(
                tick_id=tick.pk,
                observed_at=observed_at or tick.finished_at or tick.started_at,
                currencies=coins,
                from_latest_tick=latest is not None and tick.pk == latest.pk,
            )
    return None


def _problem_text(problem: Any) -> str:
    if isinstance(problem, str):
        return problem
    if isinstance(problem, Mapping):
        for key in ("message", "problem", "detail"):
            if isinstance(problem.get(key), str):
                return str(problem[key])
        return ", ".join(f"{k}: {v}" for k, v in problem.items())
    return json.dumps(problem, default=str)


def reconciliation_get(state: AgentState) -> Reconciliation:
    problems = state.reconciliation_problems if isinstance(state.reconciliation_problems, list) else []
    return Reconciliation(
        outcome=state.reconciliation,
        outcome_display=state.get_reconciliation_display(),
        reconciled_at=state.reconciled_at,
        problems=[_problem_text(p) for p in problems],
    )


def agent_state_read() -> AgentState:
    """The agent's state row, or its defaults (unsaved) before anything has written it."""
    return AgentState.objects.filter(singleton=1).first() or AgentState()


def agent_status_get() -> AgentStatus:
    """Everything the status panel shows: exchange, schedule, last tick, reconciliation, kill switch
    and the latest account summary."""
    state = agent_state_read()
    last_tick = agent_tick_latest()
    return AgentStatus(
        exchange=exchange_info(),
        schedule=agent_tick_schedule(),
        last_tick=last_tick,
        reconciliation=reconciliation_get(state),
        kill_switch=kill_switch_payload(state),
        account=account_summary_latest(latest_tick=last_tick),
        enabled_strategies=list(
            Strategy.objects.filter(enabled=True).order_by("name").values_list("name", flat=True)
        ),
    )


# --- Per-strategy status ------------------------------------------------------------------------


@dataclass(frozen=True)
class CoinFigures:
    """One strategy's figures in one coin, from its Position rows."""

    currency: str
    open_positions: int
    premium_collected_coin: Decimal
    premium_collected_usd: Decimal
    realized_pnl_coin: Decimal
    realized_pnl_usd: Decimal
    fees_coin: Decimal


@dataclass(frozen=True)
class StrategyStatus:
    strategy: Strategy
    open_positions: int
    premium_collected_usd: Decimal
    realized_pnl_usd: Decimal
    coins: list[CoinFigures]
    last_decision: Decision | None


def strategy_status_list() -> list[StrategyStatus]:
    """Every strategy with its open positions, premium and realised P&L (per coin, and in USD),
    and its last decision. Unrealised P&L of open positions is not included."""
    last_decision = Decision.objects.filter(strategy=OuterRef("pk")).order_by("-created_at", "-id")
    strategies = list(
        Strategy.objects.order_by("name").annotate(last_decision_id=Subquery(last_decision.values("id")[:1]))
    )
    decisions = Decision.objects.in_bulk([s.last_decision_id for s in strategies if s.last_decision_id])
    rows = (
        Position.objects.values("strategy_id", "currency")
        .annotate(
            open_positions=Count("id", filter=~Q(size_contracts=ZERO)),
            premium_collected_coin=Sum("premium_collected_coin"),
            premium_collected_usd=Sum("premium_collected_usd"),
            realized_pnl_coin=Sum("realized_pnl_coin"),
            realized_pnl_usd=Sum("realized_pnl_usd"),
            fees_coin=Sum("fees_coin"),
        )
        .order_by("strategy_id", "currency")
    )
    by_strategy: dict[int, list[CoinFigures]] = {}
    for row in rows:
        by_strategy.setdefault(row["strategy_id"], []).append(
            CoinFigures(
                currency=row["currency"],
                open_positions=row["open_positions"],
                premium_collected_coin=row["premium_collected_coin"] or ZERO,
                premium_collected_usd=row["premium_collected_usd"] or ZERO,
                realized_pnl_coin=row["realized_pnl_coin"] or ZERO,
                realized_pnl_usd=row["realized_pnl_usd"] or ZERO,
                fees_coin=row["fees_coin"] or ZERO,
            )
        )
    result = []
    for strategy in strategies:
        coins = by_strategy.get(strategy.pk, [])
        result.append(
            StrategyStatus(
                strategy=strategy,
                open_positions=sum(c.open_positions for c in coins),
                premium_collected_usd=sum((c.premium_collected_usd for c in coins), ZERO),
                realized_pnl_usd=sum((c.realized_pnl_usd for c in coins), ZERO),
                coins=coins,
                last_decision=decisions.get(strategy.last_decision_id),
            )
        )
    return result


# --- Records ------------------------------------------------------------------------------------


def decision_list() -> QuerySet[Decision]:
    return Decision.objects.select_related("strategy").order_by("-created_at", "-id")


def decision_detail_list() -> QuerySet[Decision]:
    return decision_list().prefetch_related("orders")


def order_list() -> QuerySet[Order]:
    return Order.objects.select_related("strategy").order_by("-created_at", "-id")


def fill_list() -> QuerySet[Fill]:
    return Fill.objects.select_related("strategy", "order").order_by("-traded_at", "-id")


def position_list() -> QuerySet[Position]:
    return Position.objects.select_related("strategy").order_by("expiry", "instrument_name", "strategy__name")


def agent_event_list() -> QuerySet[AgentEvent]:
    return AgentEvent.objects.order_by("-at", "-id")
