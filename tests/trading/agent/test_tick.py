"""The agent's tick end to end against the Deribit emulator: shared snapshot, per-strategy
decisions, the covered limit across strategies, single flight, the kill switch and expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import StrategyFactory
from tests.trading.agent.conftest import RunningEmulator
from trading.agent.lease import lease_acquire
from trading.agent.state import kill_switch_engage
from trading.agent.tick import agent_tick_run
from trading.models import AgentTick, Decision, Fill, MarketSnapshot, Order, Position
from trading.strategies.params import preset

pytestmark = pytest.mark.django_db


def calls(profile: str = "conservative", **changes: object) -> dict[str, object]:
    # min_ivrv 0: the emulator's fresh market has no realised-vol history to compare with.
    return {**preset("covered_call", profile), "min_ivrv": 0.0, **changes}


def tick(exchange: RunningEmulator) -> AgentTick:
    return agent_tick_run(now=exchange.now, config=exchange.config())


def ledger(currency: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for p in Position.objects.filter(currency=currency).exclude(size_contracts=0):
        totals[p.instrument_name] = totals.get(p.instrument_name, 0.0) + float(p.size_contracts)
    return totals


def test_three_strategies_share_one_snapshot_and_decide_apart(exchange: RunningEmulator) -> None:
    StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC", "ETH"])
    StrategyFactory(
        name="calls_high", risk_profile="aggressive", parameters=calls("aggressive"), underlyings=["BTC"]
    )
    StrategyFactory(
        name="puts_some",
        logic_kind="cash_secured_put",
        option_types=["put"],
        underlyings=["BTC"],
        parameters={**preset("cash_secured_put", "moderate"), "min_ivrv": 0.0},
    )
    StrategyFactory(name="calls_off", parameters=calls(), enabled=False)
    result = tick(exchange)
    assert result.status == AgentTick.Status.OK, result.message
    assert MarketSnapshot.objects.count() == 2  # one per currency, shared by all strategies
    decisions = Decision.objects.filter(tick=result)
    assert set(decisions.values_list("strategy__name", flat=True)) == {"calls_low", "calls_high", "puts_some"}
    snapshot_ids = sorted(MarketSnapshot.objects.values_list("pk", flat=True))
    assert all(sorted(d.snapshot_ids) == snapshot_ids for d in decisions)
    assert all(d.reason for d in decisions)
    assert decisions.filter(strategy__name="calls_low", currency="ETH").exists()
    assert not decisions.filter(strategy__name="calls_high", currency="ETH").exists()


def test_fills_are_booked_once_and_the_ledger_equals_the_exchange(exchange: RunningEmulator) -> None:
    StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC", "ETH"])
    tick(exchange)
    filled = Order.objects.filter(state=Order.State.FILLED)
    assert filled.exists(), list(Decision.objects.values_list("reason", "risk_reasons"))
    assert Fill.objects.count() == filled.count()
    for _ in range(2):  # later ticks find the same trades again and book nothing twice
        exchange.advance(60)
        tick(exchange)
    assert Fill.objects.values("trade_id").distinct().count() == Fill.objects.count()
    for currency in ("BTC", "ETH"):
        assert ledger(currency) == pytest.approx(exchange.positions(currency))
    position = Position.objects.exclude(size_contracts=0).first()
    assert position is not None and position.premium_collected_coin > 0


def test_calls_sold_never_exceed_the_coins_held_across_strategies(exchange: RunningEmulator) -> None:
    # Each strategy alone may cover all 10 BTC; together they still may not sell more than 10 calls.
    for i in range(3):
        StrategyFactory(
            name=f"greedy_{i}",
            underlyings=["BTC"],
            priority=10 + i,
            parameters=calls(coverage_pct=100.0, max_contracts_per_trade=4.0),
            risk_limits={"max_contracts": 50.0, "max_open_positions": 50, "max_abs_delta": 50.0},
        )
    for _ in range(4):
        tick(exchange)
        exchange.advance(120)
    short_calls = -sum(v for k, v in exchange.positions("BTC").items() if k.endswith("-C"))
    assert short_calls > 4.0  # they did trade...
    assert short_calls <= 10.0 + 1e-9  # ...but never beyond the coins held
    assert Decision.objects.filter(verdict=Decision.Verdict.REJECTED).exists()


def test_a_second_tick_while_one_runs_does_nothing(exchange: RunningEmulator) -> None:
    StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"])
    held = lease_acquire(holder="another-worker", now=timezone.now(), ttl=timedelta(minutes=5))
    assert held is not None
    duplicate = tick(exchange)
    assert duplicate.status == AgentTick.Status.SKIPPED
    assert not Decision.objects.exists() and not Order.objects.exists()


def test_kill_switch_cancels_open_orders_and_allows_no_new_risk(exchange: RunningEmulator) -> None:
    StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"])
    tick(exchange)
    opened = Order.objects.count()
    assert opened > 0
    # A resting order of ours (far above the market, so it cannot fill).
    order = Order.objects.first()
    assert order is not None
    resting = Order.objects.create(
        decision=order.decision,
        strategy=order.strategy,
        label=f"ob{order.strategy_id}-{order.decision_id}-9-1",
        leg_index=9,
        instrument_name=order.instrument_name,
        currency="BTC",
        side="sell",
        amount=Decimal("0.1"),
        limit_price_coin=Decimal("0.5"),
        state=Order.State.OPEN,
        created_at=exchange.now,
        updated_at=exchange.now,
    )
    exchange.run(_sell(exchange, resting.instrument_name, resting.label))
    kill_switch_engage(reason="owner wants to stop", by="owner", now=timezone.now())
    exchange.advance(60)
    halted = tick(exchange)
    resting.refresh_from_db()
    assert resting.state == Order.State.CANCELLED
    assert "kill switch" in halted.message
    new = Decision.objects.filter(tick=halted, action=Decision.Action.OPEN)
    assert new.exists() and all(d.verdict == Decision.Verdict.REJECTED for d in new)
    assert Order.objects.filter(decision__tick=halted).count() == 0


async def _sell(exchange: RunningEmulator, instrument: str, label: str) -> None:
    from trading.exchange.client import DeribitClient

    async with DeribitClient(exchange.config()) as client:
        await client.sell(instrument_name=instrument, amount=0.1, price=0.5, label=label)


def test_run_agent_once_runs_a_tick_against_the_configured_exchange(
    exchange: RunningEmulator, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import call_command

    settings.DERIBIT_BASE_URL = exchange.emulator.base_url  # type: ignore[attr-defined]
    StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"])
    call_command("run_agent", "--once")
    out = capsys.readouterr().out
    assert "ok" in out and "1 strategy" in out
    assert AgentTick.objects.get().summary["now"].startswith(exchange.now.date().isoformat())


def test_a_partly_filled_order_books_what_filled_and_is_cancelled_at_the_next_tick(
    exchange: RunningEmulator,
) -> None:
    StrategyFactory(name="calls_low", underlyings=["BTC"], parameters=calls(max_contracts_per_trade=2.0))
    exchange.emulator.faults.partial_fills(0.5)
    tick(exchange)
    order = Order.objects.filter(side="sell").first()
    assert order is not None and order.state == Order.State.OPEN
    assert order.filled_amount == order.amount / 2
    assert sum(f.amount for f in Fill.objects.filter(order=order)) == order.filled_amount
    exchange.emulator.faults.clear()
    tick(exchange)  # the market has not moved, so the rest could not fill
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED  # the unfilled rest does not linger
    assert ledger("BTC") == pytest.approx(exchange.positions("BTC"))


def test_a_lost_submit_response_is_resolved_by_label_without_a_second_order(
    exchange: RunningEmulator,
) -> None:
    StrategyFactory(name="calls_low", underlyings=["BTC"], parameters=calls())
    exchange.emulator.faults.drop_response(methods="private/sell", times=1)
    tick(exchange)
    sells = Order.objects.filter(side="sell")
    assert sells.count() == 1
    assert sells.get().state == Order.State.FILLED
    assert exchange.positions("BTC") == pytest.approx(ledger("BTC"))
    assert sum(abs(v) for v in exchange.positions("BTC").values()) == pytest.approx(float(sells.get().amount))


def test_an_unreachable_exchange_fails_the_tick_cleanly_and_says_so(exchange: RunningEmulator) -> None:
    import threading

    from trading.agent.state import agent_state_get
    from trading.models import AgentState

    agent_state_get()
    StrategyFactory(name="calls_low", parameters=calls(), underlyings=["BTC"])
    threads_before = threading.active_count()
    nowhere = exchange.config(base_url="http://127.0.0.1:9", request_timeout_s=0.5, connect_timeout_s=0.5)
    failed = agent_tick_run(now=exchange.now, config=nowhere)
    assert failed.status == AgentTick.Status.FAILED and "Failed" in failed.message
    assert AgentState.objects.get().reconciliation == AgentState.Reconciliation.ERROR
    assert threading.active_count() == threads_before  # the gateway's loop thread is gone
    assert tick(exchange).status == AgentTick.Status.OK  # and the next tick starts clean


@pytest.mark.parametrize(
    ("hh_mm", "quiet"),
    [("07:29", False), ("07:30", True), ("07:59", True), ("08:00", False), ("12:00", False)],
)
def test_no_new_risk_window_before_the_daily_expiry(settings: object, hh_mm: str, quiet: bool) -> None:
    from datetime import UTC, datetime

    from trading.agent.tick import _in_expiry_quiet_window

    settings.AGENT_EXPIRY_QUIET_MINUTES = 30  # type: ignore[attr-defined]
    hour, minute = map(int, hh_mm.split(":"))
    assert _in_expiry_quiet_window(datetime(2026, 1, 5, hour, minute, tzinfo=UTC)) is quiet
