"""Deribit standard margin (checked against real short positions) and the kill switch."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.trading.strategies.support import account
from trading.risk.config import RiskConfig
from trading.risk.killswitch import EquityMarks, KillSwitchInput, evaluate_kill_switch
from trading.risk.margin import short_option_im_coin, short_put_mm_coin

NOW = datetime(2026, 2, 8, 9, 0, tzinfo=UTC)


def test_margin_matches_real_short_positions(real_data_dir: Path) -> None:
    recorded = json.loads((real_data_dir / "api" / "recorded_real_responses.json").read_text())
    items = recorded["private/get_positions items, options (real accounts)"]["items"]
    shorts = [i for i in items if i["direction"] == "sell"]
    assert {i["instrument_name"] for i in shorts} == {"BTC-22APR22-38000-P", "ETH-25AUG23-2100-C"}
    for item in shorts:
        size = abs(float(item["size"]))
        _, _, strike, kind = item["instrument_name"].split("-")
        im = short_option_im_coin(
            option_type="call" if kind == "C" else "put",
            strike_usd=float(strike),
            index_usd=float(item["index_price"]),
            mark_coin=float(item["mark_price"]),
        )
        assert im * size == pytest.approx(float(item["initial_margin"]), abs=1e-6)  # mark is rounded
        if kind == "P":
            mm = short_put_mm_coin(mark_coin=float(item["mark_price"]))
            assert mm * size == pytest.approx(float(item["maintenance_margin"]), abs=1e-6)


def test_margin_floor_and_in_the_money_level() -> None:
    far_otm = short_option_im_coin(option_type="call", strike_usd=100_000, index_usd=70_000, mark_coin=0.001)
    itm = short_option_im_coin(option_type="call", strike_usd=60_000, index_usd=70_000, mark_coin=0.15)
    assert far_otm == pytest.approx(0.101) and itm == pytest.approx(0.30)


def _status(equity: float, day_start: float, peak: float, **kw: object):  # type: ignore[no-untyped-def]
    ks = KillSwitchInput(marks={"BTC": EquityMarks(day_start, peak)}, **kw)  # type: ignore[arg-type]
    return evaluate_kill_switch(ks, account(NOW, BTC=(equity, equity, 0.0)), RiskConfig())


def test_kill_switch_trips_on_daily_loss_and_drawdown() -> None:
    assert not _status(1.96, 2.0, 2.0).halted  # -2 %
    daily = _status(1.90, 2.0, 2.0)  # -5 % today
    assert daily.halted and daily.newly_tripped and "down 5.0% today" in daily.reasons[0]
    dd = _status(1.70, 1.72, 2.0)  # -15 % from the peak
    assert dd.halted and "15.0% below its peak" in dd.reasons[0]


def test_kill_switch_by_hand_and_latched_trips_stay_until_reset() -> None:
    manual = _status(2.0, 2.0, 2.0, manual_halt=True, manual_reason="going on holiday")
    assert manual.halted and not manual.newly_tripped and "going on holiday" in manual.reasons[0]
    latched = _status(2.0, 2.0, 2.0, tripped_reason="BTC: down 6% today")
    assert latched.halted and not latched.newly_tripped


def test_missing_account_or_marks_halt_without_latching() -> None:
    none = evaluate_kill_switch(KillSwitchInput(), None, RiskConfig())
    assert none.halted and not none.newly_tripped and "no account data" in none.reasons[0]
    no_marks = evaluate_kill_switch(KillSwitchInput(), account(NOW, BTC=2.0), RiskConfig())
    assert no_marks.halted and not no_marks.newly_tripped and "no equity marks" in no_marks.reasons[0]
