"""The agent's tick: fetch the market once, reconcile, let every strategy propose, review all
proposals together, execute what was approved, record everything and tell the dashboards.

Exactly one tick runs at a time: the tick takes a lease (:mod:`trading.agent.lease`); a duplicate
fire of the schedule, a redelivered task or an overlapping tick finds it taken and does nothing,
and a tick that overran its lease can no longer send orders (its fencing token is stale).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydantic import SecretStr

from optionsbot.live import live_event_publish
from trading.agent.execution import decision_execute, orders_cancel_open
from trading.agent.expiry import expiries_settle
from trading.agent.gateway import ExchangeGateway
from trading.agent.lease import Lease, lease_acquire, lease_release
from trading.agent.market import account_fetch, market_fetch
from trading.agent.reconcile import reconcile_run
from trading.agent.records import decision_record, fault_record, round_offers, summary_json
from trading.agent.state import agent_event_record, agent_state_get, kill_switch_trip
from trading.decision.llm.client import build_chooser
from trading.decision.llm.config import LLMConfig
from trading.decision.round import RoundInputs, decide_round
from trading.exchange.config import ClientConfig
from trading.exchange.errors import ExchangeError
from trading.models import AgentEvent, AgentState, AgentTick, Order, Position, Strategy
from trading.quant.instruments import EXPIRY_TIME_UTC
from trading.risk.killswitch import EquityMarks, KillSwitchInput
from trading.services.exchange import exchange_client_config
from trading.strategies.base import AccountView, Action, OptionPosition, StrategyConfig
from trading.strategies.params import ParameterError

logger = logging.getLogger(__name__)


def _lease_ttl() -> timedelta:
    return timedelta(seconds=max(120, 3 * settings.AGENT_TICK_SECONDS))


def tick_payload(tick: AgentTick) -> dict[str, Any]:
    return {
        "id": tick.pk,
        "started_at": tick.started_at,
        "finished_at": tick.finished_at,
        "status": tick.status,
        "status_display": tick.get_status_display(),
        "duration_ms": tick.duration_ms,
        "message": tick.message,
        "summary": tick.summary,
    }


def _finish(tick: AgentTick, status: str, message: str, summary: dict[str, Any]) -> AgentTick:
    with transaction.atomic():
        tick.finished_at = timezone.now()
        tick.status = status
        tick.message = message
        tick.summary = summary_json(summary)
        tick.save(update_fields=["finished_at", "status", "message", "summary"])
        live_event_publish(topic="agent.tick", payload=tick_payload(tick))
    return tick


def agent_tick_run(*, now: datetime | None = None, config: ClientConfig | None = None) -> AgentTick:
    """Run one tick (or record that another is running). ``now`` defaults to the exchange's clock."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    started = timezone.now()
    lease = lease_acquire(holder=holder, now=started, ttl=_lease_ttl())
    if lease is None:
        return _finish(
            AgentTick.objects.create(started_at=started, status=AgentTick.Status.SKIPPED),
            AgentTick.Status.SKIPPED,
            "Another tick was still running, so this one did nothing.",
            {},
        )
    tick = AgentTick.objects.create(
        started_at=started, status=AgentTick.Status.RUNNING, summary={"lease": lease.token}
    )
    try:
        with ExchangeGateway(config or exchange_client_config()) as gateway:
            status, message, summary = _tick_body(gateway=gateway, tick=tick, lease=lease, now=now)
    except Exception as exc:  # the tick must always end recorded; the next one starts clean
        logger.exception("agent tick %s failed", tick.pk)
        agent_event_record(
            at=timezone.now(),
            kind="tick.failed",
            severity=AgentEvent.Severity.ERROR,
            message=f"The tick failed: {type(exc).__name__}: {exc}",
            tick=tick,
        )
        status, message, summary = AgentTick.Status.FAILED, f"Failed: {type(exc).__name__}: {exc}", {}
        if isinstance(exc, ExchangeError | TimeoutError | OSError):
            AgentState.objects.filter(singleton=1).update(reconciliation=AgentState.Reconciliation.ERROR)
    finally:
        lease_release(lease=lease)
    return _finish(tick, status, message, summary)


def _strategy_configs(tick: AgentTick, now: datetime) -> tuple[list[StrategyConfig], dict[str, Strategy]]:
    configs: list[StrategyConfig] = []
    rows: dict[str, Strategy] = {}
    for row in Strategy.objects.filter(enabled=True).order_by("name"):
        rows[row.name] = row
        if settings.TRADING_MODE == "live" and not row.approved_for_live:
            fault_record(
                tick=tick,
                strategy=row,
                now=now,
                message="Not approved for live trading yet: it trades only on the simulated exchange.",
            )
            continue
        try:
            configs.append(
                StrategyConfig.from_registry(
                    name=row.name,
                    logic_kind=row.logic_kind,
                    parameters=row.parameters,
                    underlyings=row.underlyings,
                    option_types=row.option_types,
                    risk_limits=row.risk_limits,
                    decision_mode=row.decision_mode,
                    priority=row.priority,
                )
            )
        except (ParameterError, ValueError) as exc:
            fault_record(tick=tick, strategy=row, now=now, message=f"Invalid configuration: {exc}")
    return configs, rows


def _positions(now: datetime) -> tuple[OptionPosition, ...]:
    open_rows = (
        Position.objects.exclude(size_contracts=0).filter(settled_at__isnull=True).select_related("strategy")
    )
    return tuple(
        OptionPosition(
            strategy=p.strategy.name,
            instrument_name=p.instrument_name,
            currency=p.currency,
            option_type=p.option_type,
            strike_usd=float(p.strike_usd),
            expiry=p.expiry,
            size_contracts=float(p.size_contracts),
            open_price_coin=float(p.average_price_coin),
        )
        for p in open_rows
        if p.expiry > now
    )


def _equity_marks(state: AgentState, account: AccountView, now: datetime) -> dict[str, EquityMarks]:
    """Day-start and peak equity per coin; the trading day starts at the 08:00 UTC settlement."""
    day = (now - timedelta(hours=EXPIRY_TIME_UTC.hour)).date().isoformat()
    marks = dict(state.equity_marks or {})
    for currency, acc in account.currencies.items():
        mark = marks.get(currency)
        if mark is None or mark.get("day") != day:
            mark = {
                "day": day,
                "day_start": acc.equity_coin,
                "peak": max(acc.equity_coin, (mark or {}).get("peak", 0)),
            }
        mark["peak"] = max(mark["peak"], acc.equity_coin)
        marks[currency] = mark
    AgentState.objects.filter(singleton=1).update(equity_marks=marks)
    return {c: EquityMarks(m["day_start"], m["peak"]) for c, m in marks.items() if c in account.currencies}


def _in_expiry_quiet_window(now: datetime) -> bool:
    minutes = settings.AGENT_EXPIRY_QUIET_MINUTES
    expiry_today = datetime.combine(now.date(), EXPIRY_TIME_UTC)
    return expiry_today - timedelta(minutes=minutes) <= now < expiry_today


def _tick_body(
    *, gateway: ExchangeGateway, tick: AgentTick, lease: Lease, now: datetime | None
) -> tuple[str, str, dict[str, Any]]:
    if now is None:
        now = datetime.fromtimestamp(gateway.call("get_time") / 1000, UTC)
    summary: dict[str, Any] = {"now": now, "lease": lease.token}
    configs, rows = _strategy_configs(tick, now)
    currencies = sorted(
        {u for c in configs for u in c.underlyings}
        | set(
            Position.objects.exclude(size_contracts=0)
            .filter(settled_at__isnull=True)
            .values_list("currency", flat=True)
        )
        | set(Order.objects.exclude(state__in=Order.TERMINAL).values_list("currency", flat=True))
    )
    if not currencies:
        return AgentTick.Status.OK, "No strategy is enabled and nothing is open: nothing to do.", summary

    # Reconcile first: nothing new is decided on a ledger that disagrees with the exchange.
    reconciled = reconcile_run(gateway=gateway, currencies=currencies, now=now)
    settled = expiries_settle(gateway=gateway, now=now)
    state = agent_state_get()
    _reconciliation_store(state, reconciled.problems, now, tick)
    summary.update(
        reconciliation=reconciled.problems, settled=settled.settled, settlement_waiting=settled.waiting
    )

    # Unfilled orders from the last tick are cancelled: strategies decide again on fresh prices.
    summary["cancelled_stale_orders"] = orders_cancel_open(
        gateway=gateway, now=now, reason="replaced by a new tick"
    )

    market = market_fetch(gateway=gateway, currencies=currencies, now=now)
    account = account_fetch(gateway=gateway, currencies=currencies, now=now)
    summary.update(
        market_problems=market.problems,
        regimes=market.regimes,
        snapshots={c: r.pk for c, r in market.rows.items()},
        account={c: asdict(a) for c, a in account.currencies.items()},
    )
    state = agent_state_get()
    kill = KillSwitchInput(
        manual_halt=state.kill_switch_engaged,
        manual_reason=state.kill_switch_reason,
        tripped_reason=state.kill_switch_tripped_reason or None,
        marks=_equity_marks(state, account, now),
    )
    if not reconciled.ok:
        return (
            AgentTick.Status.OK,
            "Trading is blocked: our positions differ from the exchange's (see the reconciliation problems).",
            summary,
        )

    chooser = build_chooser(
        LLMConfig(
            api_key=SecretStr(settings.OPENAI_API_KEY) if settings.OPENAI_API_KEY else None,
            base_url=settings.OPENAI_BASE_URL or None,
            model=settings.OPENAI_MODEL,
        )
    )
    result = decide_round(
        RoundInputs(
            now=now,
            market=market.snapshot,
            account=account,
            positions=_positions(now),
            strategies=tuple(configs),
            kill_switch=kill,
        ),
        chooser=chooser,
    )
    if result.review.kill_switch.newly_tripped:
        kill_switch_trip(reason="; ".join(result.review.kill_switch.reasons), now=now, tick=tick)
    if result.review.kill_switch.halted:
        orders_cancel_open(gateway=gateway, now=now, reason="kill switch")
    summary["kill_switch"] = {
        "halted": result.review.kill_switch.halted,
        "reasons": result.review.kill_switch.reasons,
    }

    offers = round_offers(result)
    snapshot_ids = [r.pk for r in market.rows.values()]
    for run in result.runs:
        if run.fault is not None:
            fault_record(
                tick=tick,
                strategy=rows[run.strategy],
                now=now,
                message=f"{run.fault.kind}: {run.fault.message}",
            )
    quiet = _in_expiry_quiet_window(now)
    to_execute = []
    for proposal, verdict in result.decisions():
        extra = []
        if quiet and proposal.action in (Action.OPEN, Action.ROLL) and verdict.approved:
            minutes = settings.AGENT_EXPIRY_QUIET_MINUTES
            extra.append(f"no new risk in the {minutes} minutes before the 08:00 UTC expiry")
        decision = decision_record(
            tick=tick,
            strategy=rows[proposal.strategy],
            proposal=proposal,
            verdict=verdict,
            offers=offers.get(proposal.strategy, ()),
            now=now,
            extra_reasons=extra,
            snapshot_ids=snapshot_ids,
        )
        if decision.execution == decision.Execution.PENDING:
            to_execute.append((decision, verdict.approved_legs))
    for decision, legs in to_execute:
        decision_execute(gateway=gateway, decision=decision, legs=legs, lease=lease, now=now)
    counts = {"decisions": len(result.proposals), "executed": len(to_execute), "faults": len(result.faults)}
    summary["counts"] = counts
    message = (
        f"{len(configs)} strateg{'y' if len(configs) == 1 else 'ies'}, {counts['decisions']} decisions, "
        f"{counts['executed']} sent to the exchange"
        + (" — kill switch engaged: only closing and cancelling" if result.review.kill_switch.halted else "")
        + "."
    )
    return AgentTick.Status.OK, message, summary


def _reconciliation_store(state: AgentState, problems: list[str], now: datetime, tick: AgentTick) -> None:
    status = AgentState.Reconciliation.OK if not problems else AgentState.Reconciliation.MISMATCH
    if status != state.reconciliation or problems != state.reconciliation_problems:
        agent_event_record(
            at=now,
            kind="reconciliation",
            tick=tick,
            severity=AgentEvent.Severity.INFO if not problems else AgentEvent.Severity.ERROR,
            message="Positions match the exchange."
            if not problems
            else "Positions differ from the exchange: " + "; ".join(problems),
        )
    AgentState.objects.filter(singleton=1).update(
        reconciliation=status, reconciled_at=now, reconciliation_problems=problems
    )
