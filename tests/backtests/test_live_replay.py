"""A backtest over the snapshots the live agent stored makes the live agent's decisions again.

The live agent trades on the Deribit emulator for three days with five strategies: it opens,
holds, takes profit, rolls, closes when no roll pays a credit, is refused by the risk engine
(regime and open-position limit) and sees options expire. The backtest engine then replays the
stored ``MarketSnapshot`` rows with the same strategy configurations and the emulator account's
starting balances. Tick by tick it must build the same market (every array, the regime, the
times), make the same proposals with the same ids, offers, scores and reasons, get the same
verdicts with the same reasons, and fill, settle and hold what the live agent did.

What the replay is given besides the snapshots, and why:

* Market history. The live tick takes DVOL a day earlier, the 30-day index high and the 30-day
  realised vol from the exchange's daily candles and stores them with each snapshot; the replay
  (``backtests.replay.recorded_steps``) feeds them to the engine. Without them the engine derives
  them from the steps it has seen, and over a few ticks it has none (its regime fails closed to
  *elevated* and IV/RV is unknown): a test shows that this replay differs.
* Fills at the touch only. The emulator fills an order up to the size shown at the best price
  and leaves the rest resting, which may fill later as the market moves; the touch fill model
  fills the whole order at once, and a snapshot keeps no sizes. Orders here are one amount step,
  always shown in full, and the test checks that every live order filled whole, at its limit,
  during its own tick.
* Expiries out of the money only. The exchange settles at the 30-minute index TWAP before 08:00;
  the engine settles at a recorded delivery price when the agent settled the same expiry, else at
  the index of its next step. Both pay nothing for an option that expires worthless.
* No tick in the 30 minutes before the 08:00 expiry: the live tick refuses new risk then, a rule
  of the agent's tick that ``decide_round`` (and so the engine) does not apply.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from django.db import transaction

import backtests.engine.market as engine_market
from tests.backtests.live_replay import LiveRecord, differences, replay, run_live
from tests.trading.agent.conftest import start_emulator, stop_emulator
from trading.quant.candidates import chain_from_snapshot
from trading.strategies.params import preset

# The mark makes the session create the test database that the module's live run writes to.
pytestmark = pytest.mark.django_db

BTC_STEP, ETH_STEP = 0.1, 1.0
"""The smallest order of each coin: the emulator always shows at least this much at the touch."""


def params(kind: str, profile: str, **changes: object) -> dict[str, object]:
    return {**preset(kind, profile), **changes}


STRATEGIES: tuple[dict[str, Any], ...] = (
    {
        "name": "calls_btc",
        "underlyings": ["BTC"],
        "parameters": params(
            "covered_call", "moderate", max_contracts_per_trade=BTC_STEP, take_profit_pct=20.0
        ),
    },
    {
        # up to |delta| 0.35: refused while ETH's regime is elevated
        "name": "calls_eth",
        "underlyings": ["ETH"],
        "parameters": params(
            "covered_call", "moderate", delta_max=0.35, max_contracts_per_trade=ETH_STEP, take_profit_pct=20.0
        ),
    },
    {
        # keeps the IV/RV filter on: realised vol must reach the replay as it reached the tick
        "name": "puts_btc",
        "logic_kind": "cash_secured_put",
        "option_types": ["put"],
        "underlyings": ["BTC"],
        "parameters": params("cash_secured_put", "conservative", max_contracts_per_trade=BTC_STEP),
    },
    {
        # two-day calls held to expiry
        "name": "dailies",
        "underlyings": ["BTC"],
        "parameters": params(
            "covered_call",
            "conservative",
            dte_min=0,
            dte_max=2,
            delta_min=0.05,
            delta_max=0.15,
            roll_dte=0,
            roll_delta=0.0,
            roll_below_otm_pct=None,
            take_profit_pct=0.0,
            max_contracts_per_trade=BTC_STEP,
        ),
    },
    {
        # puts rolled two days before expiry; its sixth position is refused by its own limit
        "name": "rolling_puts",
        "logic_kind": "cash_secured_put",
        "option_types": ["put"],
        "underlyings": ["BTC"],
        "parameters": params(
            "cash_secured_put",
            "moderate",
            dte_min=3,
            dte_max=6,
            roll_dte=2,
            min_ivrv=0.0,
            take_profit_pct=0.0,
            max_contracts_per_trade=BTC_STEP,
        ),
    },
)

TICKS_AFTER_START = tuple(timedelta(hours=h) for h in (0, 3, 9, 24, 48, 72))
"""When the agent ticks, after the emulator's start (Monday 5 January 2026, 09:00 UTC)."""


@pytest.fixture(scope="module")
def live(django_db_setup: None, django_db_blocker: Any) -> LiveRecord:
    """One live run for the module; its rows are rolled back, the record keeps what it saw."""
    with django_db_blocker.unblock(), transaction.atomic():
        exchange = start_emulator()
        try:
            with pytest.MonkeyPatch.context() as patch:
                record = run_live(exchange, patch, strategies=STRATEGIES, ticks_after_start=TICKS_AFTER_START)
        finally:
            stop_emulator(exchange)
        transaction.set_rollback(True)
    return record


# --- the tests ----------------------------------------------------------------------------------


def test_the_live_run_covers_what_the_replay_must_reproduce(live: LiveRecord) -> None:
    decisions = [d for t in live.ticks for d in t.decisions]
    actions = {(d["action"], d["verdict"]) for d in decisions}
    assert {
        ("open", "approved"),
        ("open", "rejected"),
        ("close", "approved"),
        ("roll", "approved"),
        ("hold", "not_reviewed"),
    } <= actions
    refusals = " ".join(r for d in decisions if d["verdict"] == "rejected" for r in d["risk_reasons"])
    assert "regime is elevated" in refusals and "open positions > its limit" in refusals
    # every tick had its full market history (no regime failed closed for want of it)
    assert all(m.regime.complete for t in live.ticks for m in t.market.markets.values())
    assert live.settlements and all(price == 0.0 for *_, price in live.settlements)
    # the touch fill model can only replay orders that filled whole, at their limit, at once
    assert [u for t in live.ticks for u in t.unfilled] == []


def test_replaying_the_stored_snapshots_makes_the_live_decisions(live: LiveRecord) -> None:
    replayed = replay(live)
    found = differences(live, replayed)
    assert found == [], "\n".join(map(str, found[:20]))


def test_a_changed_strategy_parameter_in_the_replay_is_caught(live: LiveRecord) -> None:
    later = {"take_profit_pct": 50.0}
    changed = tuple(
        replace(c, params=c.params.model_copy(update=later)) if c.name == "calls_btc" else c
        for c in live.configs
    )
    took_profit = next(
        t.now
        for t in live.ticks
        if any(d["strategy"] == "calls_btc" and d["action"] == "close" for d in t.decisions)
    )
    found = differences(live, replay(live, configs=changed))
    assert found, "a replay with another take-profit level made the same decisions"
    first = found[0]
    assert (first.now, first.where, first.what) == (took_profit, "calls_btc", "proposal_id"), str(first)


def test_the_engine_own_market_history_does_not_reproduce_the_live_market(live: LiveRecord) -> None:
    found = differences(live, replay(live, recorded_history=False))
    assert found, "the engine's own history gave the live regime and IV/RV without any history"
    first_tick = [d for d in found if d.now == live.ticks[0].now]
    assert {(d.where, d.what) for d in first_tick} >= {("market BTC", "regime"), ("market BTC", "ivrv")}
    assert any(d.where in {c.name for c in live.configs} for d in first_tick), "decisions differ too"


def test_a_market_built_otherwise_in_the_replay_is_caught(
    live: LiveRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bids_a_tick_higher(frame: pd.DataFrame) -> pd.DataFrame:
        chain = chain_from_snapshot(frame)
        chain["bid_price_coin"] += 0.0001
        return chain

    monkeypatch.setattr(engine_market, "chain_from_snapshot", bids_a_tick_higher)
    found = differences(live, replay(live, recorded_history=False))
    assert found, "a replay whose bids were a tick higher made the same market"
    assert (found[0].now, found[0].where) == (live.ticks[0].now, "market BTC"), str(found[0])
    assert any(d.what == "legs" for d in found), "the limit prices follow the bids"
