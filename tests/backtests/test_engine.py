"""The backtest engine: a hand-made covered call from sale to settlement, and real SVCJ chains."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from backtests.engine import (
    DELIVERY_PRICE,
    REAL_QUOTE,
    SETTLEMENT,
    BacktestConfig,
    FillModel,
    FillPrice,
    Step,
    run_backtest,
    steps_from_frames,
)
from trading.marketdata.frame import validate_snapshot_frame
from trading.marketdata.importers import svcj_file_snapshots
from trading.strategies.base import Side, StrategyConfig
from trading.strategies.params import preset

T1 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
T3 = datetime(2026, 1, 16, 9, 0, tzinfo=UTC)  # after the 16JAN26 expiry (08:00)
SOLD = "BTC-16JAN26-110000-C"


def _frame(at: datetime, index: float, rows: list[tuple[str, float, float, float, float]]) -> pd.DataFrame:
    """A BTC snapshot frame; rows are (name, strike, mark, bid, ask), calls at 50 % IV."""
    records = []
    for name, strike, mark, bid, ask in rows:
        day = name.split("-")[1]
        expiry = datetime.strptime(day, "%d%b%y").replace(hour=8, tzinfo=UTC)
        records.append(
            {
                "timestamp": at.isoformat(),
                "instrument_name": name,
                "currency": "BTC",
                "expiry_datetime": expiry.isoformat(),
                "strike": strike,
                "option_type": "call",
                "underlying": index,
                "underlying_index": "index_price",
                "index_price": index,
                "implied_volatility": 0.5,
                "mark_price": mark,
                "bid_price": bid,
                "ask_price": ask,
                "mid_price": 0.5 * (bid + ask),
                "open_interest": 100.0,
                "volume": 10.0,
                "dvol": 45.0,
            }
        )
    return validate_snapshot_frame(pd.DataFrame.from_records(records), source_name="hand-made")


def _steps() -> list[Step]:
    jan16 = [
        ("BTC-16JAN26-105000-C", 105000.0, 0.0110, 0.0105, 0.0115),
        (SOLD, 110000.0, 0.0052, 0.0050, 0.0055),  # the only call within the delta range
        ("BTC-16JAN26-120000-C", 120000.0, 0.0008, 0.0007, 0.0009),
    ]
    later = [("BTC-27MAR26-150000-C", 150000.0, 0.0040, 0.0038, 0.0042)]  # 70 days: too far
    return [
        (T1, {"BTC": _frame(T1, 100000.0, jan16)}),
        (T2, {"BTC": _frame(T2, 102000.0, [(SOLD, 110000.0, 0.0040, 0.0038, 0.0042)])}),
        (T3, {"BTC": _frame(T3, 115000.0, later)}),
    ]


def _config(**fill: object) -> BacktestConfig:
    params = {**preset("covered_call", "conservative"), "min_ivrv": 0.0}
    strategy = StrategyConfig.from_registry(
        name="cc", logic_kind="covered_call", parameters=params, underlyings=["BTC"], option_types=["call"]
    )
    return BacktestConfig(
        strategies=(strategy,),
        initial_balance_coin={"BTC": 1.0},
        fill_model=FillModel(**fill),  # type: ignore[arg-type]
    )


def test_a_covered_call_is_sold_then_settles_in_the_money() -> None:
    result = run_backtest(_steps(), _config())
    sale, settle = result.trades
    assert (sale.at, sale.instrument_name, sale.side, sale.kind) == (T1, SOLD, Side.SELL, "open")
    assert sale.size_contracts == 0.5  # 50 % coverage of 1 BTC
    assert sale.price_coin == 0.0050  # the bid
    assert sale.fee_coin == pytest.approx(0.5 * 0.0003, abs=1e-15)
    assert sale.provenance == REAL_QUOTE
    assert settle.kind == "settle" and settle.side is Side.BUY and settle.provenance == SETTLEMENT
    assert settle.at == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
    value = (115000.0 - 110000.0) / 115000.0  # delivery price: the index of the T3 snapshot
    assert settle.price_coin == pytest.approx(value, abs=1e-15)
    assert settle.fee_coin == pytest.approx(0.5 * 0.00015, abs=1e-15)  # cap 12.5 % of value not hit
    assert result.positions == ()
    e1, e2, e3 = result.equity
    assert e1.balance_coin == pytest.approx(1.0 + 0.0025 - 0.00015, abs=1e-12)
    assert e1.equity_coin == pytest.approx(1.00235 - 0.5 * 0.0052, abs=1e-12)  # short marked
    assert e2.equity_coin == pytest.approx(1.00235 - 0.5 * 0.0040, abs=1e-12)
    final = 1.00235 - 0.5 * value - 0.000075
    assert e3.balance_coin == pytest.approx(final, abs=1e-12)
    assert e3.equity_coin == pytest.approx(final, abs=1e-12)
    assert e3.equity_usd == pytest.approx(final * 115000.0, rel=1e-12)
    assert e2.index_price_usd == 102000.0


def test_mid_fills_give_up_the_slippage() -> None:
    result = run_backtest(_steps(), _config(price=FillPrice.MID, slippage_pct=10.0, respect_limit=False))
    assert result.trades[0].price_coin == pytest.approx(0.00525 * 0.9, abs=1e-15)


def test_a_limit_is_respected() -> None:
    """The sale is limited at the bid (0.0050): a mid fill 10 % worse (0.004725) does not happen."""
    result = run_backtest(_steps(), _config(price=FillPrice.MID, slippage_pct=10.0))
    assert [t for t in result.trades if t.kind == "open"] == []
    assert result.unfilled[0].instrument_name == SOLD and "worse than the limit" in result.unfilled[0].reason
    ok = run_backtest(_steps(), _config(price=FillPrice.MID, slippage_pct=4.0))  # 0.00504 >= 0.0050
    assert ok.trades[0].price_coin == pytest.approx(0.00525 * 0.96, abs=1e-15)


def test_partial_fills_cap_at_a_share_of_open_interest() -> None:
    """0.2 % of 100 contracts OI = 0.2 contracts per step: the sale fills 0.2 of 0.5 at T1, more at T2."""
    result = run_backtest(_steps(), _config(max_oi_pct=0.2))
    opens = [t for t in result.trades if t.kind == "open"]
    assert [(t.at, t.size_contracts) for t in opens][:1] == [(T1, pytest.approx(0.2))]
    assert any("partial" in u.reason for u in result.unfilled)


def test_same_inputs_same_result() -> None:
    a, b = run_backtest(_steps(), _config()), run_backtest(_steps(), _config())
    assert a.trades == b.trades and a.equity == b.equity and a.unfilled == b.unfilled
    assert [r.proposals for r in a.rounds] == [r.proposals for r in b.rounds]


def _real_steps(real_data_dir: Path) -> list[Step]:
    folder = real_data_dir / "svcj_deribit_snapshots_2025_2026" / "daily_0915utc"
    files = sorted(folder.glob("*.csv.gz"))[:10]
    assert len(files) == 10
    return steps_from_frames(f for path in files for f in svcj_file_snapshots(path))


def test_ten_real_days_stay_sane(real_data_dir: Path) -> None:
    steps = _real_steps(real_data_dir)
    result = run_backtest(steps, _config())
    assert len(result.equity) == len(steps) == 10  # one BTC point per day
    assert all(math.isfinite(e.equity_coin) and math.isfinite(e.equity_usd) for e in result.equity)
    fills = [t for t in result.trades if t.kind != "settle"]
    assert any(t.kind == "open" for t in fills)
    frames = {at: by_currency["BTC"].set_index("instrument_name") for at, by_currency in steps}
    for t in fills:  # at the recorded quote on its side, at the step's time
        row = frames[t.at].loc[t.instrument_name]
        assert t.provenance == REAL_QUOTE and t.currency == "BTC"
        assert t.price_coin == (row["bid_price"] if t.side is Side.SELL else row["ask_price"])
        assert 0.0 < t.fee_coin <= 0.0003 * t.size_contracts + 1e-15
    for e in result.equity:  # calls sold never exceed the coins held
        sold = sum(
            (t.size_contracts if t.side is Side.SELL else -t.size_contracts)
            for t in result.trades
            if t.at <= e.at
        )
        assert 0.0 <= sold <= e.balance_coin + 1e-9
    assert [p.size_contracts for p in result.positions] == [-0.5]


def test_the_round_trip_of_the_settled_call() -> None:
    """One record from sale to settlement: cash P&L in coin and USD, bars, ITM, IV, RV, attribution."""
    result = run_backtest(_steps(), _config())
    (rt,) = result.round_trips
    value = (115000.0 - 110000.0) / 115000.0
    assert (rt.instrument_name, rt.short, rt.exit, rt.itm_at_expiry) == (SOLD, True, "settle", True)
    assert (rt.opened_at, rt.closed_at) == (T1, datetime(2026, 1, 16, 8, 0, tzinfo=UTC))
    assert rt.size_contracts == 0.5 and rt.bars == 2  # held after the T1 and T2 steps
    assert rt.entry_price_coin == 0.0050 and rt.exit_price_coin == pytest.approx(value)
    assert rt.premium_coin == pytest.approx(0.0025)
    assert rt.fees_coin == pytest.approx(0.00015 + 0.000075)
    assert rt.pnl_coin == pytest.approx(0.0025 - 0.00015 - 0.5 * value - 0.000075, abs=1e-15)
    usd = (0.0025 - 0.00015) * 100000.0 - (0.5 * value + 0.000075) * 115000.0
    assert rt.pnl_usd == pytest.approx(usd, rel=1e-12)
    assert rt.iv_entry == 0.5
    years = [(T2 - T1).total_seconds() / (365 * 86400), (rt.closed_at - T2).total_seconds() / (365 * 86400)]
    r2 = math.log(102000 / 100000) ** 2 + math.log(115000 / 102000) ** 2
    assert rt.rv_hold == pytest.approx(math.sqrt(r2 / sum(years)), rel=1e-12)
    parts = rt.attribution_usd
    assert sum(parts.values()) == pytest.approx(rt.pnl_usd, rel=1e-9)
    assert parts["fees"] == pytest.approx(-(0.00015 * 100000.0 + 0.000075 * 115000.0))
    assert parts["theta"] > 0.0  # a short option earns its time decay
    assert parts["delta"] < 0.0  # and loses as the index rises through the strike
    assert parts["residual"] != 0.0


def test_margin_and_contracts_follow_the_short_call() -> None:
    """Deribit standard margin of 0.5 short calls: max(0.15 - OTM/S, 0.1) + mark, per contract."""
    e1, e2, e3 = run_backtest(_steps(), _config()).equity
    assert e1.margin_coin == pytest.approx(0.5 * (0.10 + 0.0052), abs=1e-12)  # 10 % OTM -> floor 0.1
    otm = (110000.0 - 102000.0) / 102000.0
    assert e2.margin_coin == pytest.approx(0.5 * (max(0.15 - otm, 0.1) + 0.0040), abs=1e-12)
    assert (e1.contracts, e2.contracts, e3.contracts, e3.margin_coin) == (0.5, 0.5, 0.0, 0.0)


def test_cancel_stops_after_the_step_that_asked() -> None:
    seen: list[datetime] = []

    def on_step(done: int, at: datetime) -> bool:
        seen.append(at)
        return done < 2

    result = run_backtest(_steps(), _config(), on_step=on_step)
    assert result.cancelled and seen == [T1, T2] and len(result.equity) == 2


def test_a_known_delivery_price_settles_the_expiry() -> None:
    """The agent's recorded delivery price replaces the index of the first step after expiry."""
    expiry = datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
    config = _config()
    config = BacktestConfig(
        strategies=config.strategies,
        initial_balance_coin=config.initial_balance_coin,
        delivery_prices_usd={("BTC", expiry): 112000.0},
    )
    settle = run_backtest(_steps(), config).trades[-1]
    assert settle.kind == "settle" and settle.provenance == DELIVERY_PRICE
    assert settle.index_price_usd == 112000.0
    assert settle.price_coin == pytest.approx((112000.0 - 110000.0) / 112000.0, abs=1e-15)
