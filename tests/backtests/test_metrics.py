"""Backtest metrics on hand-made results whose figures are worked out by hand in the comments."""

from __future__ import annotations

import json
import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtests.engine.fills import SETTLEMENT, Trade
from backtests.engine.loop import BacktestResult, EquityPoint
from backtests.engine.records import ATTRIBUTION_PARTS, RoundTrip
from backtests.metrics import METRICS, METRICS_BY_KEY, compute_metrics, equity_curve, trade_rows
from trading.strategies.base import Side

approx = pytest.approx

# The three-trade BTC run: 1 BTC, six step closes from January to March 2025.
#   step        equity_coin  index    equity_usd  margin  contracts
S = [
    (datetime(2025, 1, 10, tzinfo=UTC), 1.02, 100_000.0, 0.1, 1.0),
    (datetime(2025, 1, 31, tzinfo=UTC), 1.05, 100_000.0, 0.2, 2.0),  # 105 000, peak
    (datetime(2025, 2, 10, tzinfo=UTC), 0.98, 90_000.0, 0.0, 0.0),  # 88 200, trough
    (datetime(2025, 2, 28, tzinfo=UTC), 1.00, 95_000.0, 0.1, 1.0),  # 95 000
    (datetime(2025, 3, 10, tzinfo=UTC), 1.08, 110_000.0, 0.3, 3.0),  # 118 800, recovered
    (datetime(2025, 3, 31, tzinfo=UTC), 1.07, 120_000.0, 0.2, 2.0),  # 128 400
]
YEARS = 80 / 365.25  # 10 January to 31 March


def _point(
    at: datetime,
    equity_coin: float,
    index: float,
    margin: float = 0.0,
    contracts: float = 0.0,
    *,
    currency: str = "BTC",
    balance: float | None = None,
) -> EquityPoint:
    return EquityPoint(
        at=at,
        currency=currency,
        balance_coin=equity_coin if balance is None else balance,
        equity_coin=equity_coin,
        index_price_usd=index,
        equity_usd=equity_coin * index,
        margin_coin=margin,
        contracts=contracts,
    )


def _trip(
    pnl_coin: float,
    pnl_usd: float,
    *,
    currency: str = "BTC",
    bars: int = 1,
    exit_: str = "close",
    itm: bool | None = None,
    premium: float = 0.0,
    short: bool = True,
    iv: float = math.nan,
    rv: float = math.nan,
    parts: tuple[float, ...] | None = None,
) -> RoundTrip:
    at = datetime(2025, 1, 10, tzinfo=UTC)
    attribution = dict(zip(ATTRIBUTION_PARTS, parts or (0, 0, 0, 0, 0, pnl_usd), strict=True))
    return RoundTrip(
        strategy="cc",
        currency=currency,
        instrument_name=f"{currency}-28MAR25-120000-C",
        option_type="call",
        strike_usd=120_000.0,
        expiry=datetime(2025, 3, 28, 8, tzinfo=UTC),
        short=short,
        opened_at=at,
        closed_at=at + timedelta(days=bars),
        exit=exit_,
        size_contracts=1.0,
        entry_price_coin=premium,
        exit_price_coin=0.0,
        premium_coin=premium,
        fees_coin=0.0,
        pnl_coin=pnl_coin,
        pnl_usd=pnl_usd,
        bars=bars,
        itm_at_expiry=itm,
        iv_entry=iv,
        rv_hold=rv,
        attribution_usd={k: float(v) for k, v in attribution.items()},
    )


def _trade(at: datetime, side: Side, price: float, fee: float, index: float, currency: str = "BTC") -> Trade:
    return Trade(
        at=at,
        strategy="cc",
        currency=currency,
        instrument_name=f"{currency}-28MAR25-120000-C",
        side=side,
        kind="open" if side is Side.SELL else "close",
        size_contracts=1.0,
        price_coin=price,
        fee_coin=fee,
        index_price_usd=index,
        provenance=SETTLEMENT,
    )


def _result(
    points: list[EquityPoint],
    trips: list[RoundTrip] | None = None,
    trades: list[Trade] | None = None,
    *,
    cancelled: bool = False,
) -> BacktestResult:
    return BacktestResult(
        equity=tuple(points),
        trades=tuple(trades or ()),
        unfilled=(),
        positions=(),
        rounds=(),
        round_trips=tuple(trips or ()),
        cancelled=cancelled,
    )


# Three trades: +0.04 / +2000 (rolled), -0.03 / -1800 (settled ITM), +0.06 / +3000 (settled OTM).
TRIPS = [
    _trip(
        0.04,
        2000.0,
        bars=3,
        exit_="roll",
        premium=0.05,
        iv=0.60,
        rv=0.50,
        parts=(500, -100, 300, 1400, -150, 50),
    ),
    _trip(
        -0.03,
        -1800.0,
        bars=2,
        exit_="settle",
        itm=True,
        premium=0.02,
        iv=0.55,
        rv=0.55,
        parts=(-2500, -400, 200, 1000, -100, 0),
    ),
    _trip(
        0.06,
        3000.0,
        bars=5,
        exit_="settle",
        itm=False,
        premium=0.07,
        iv=0.50,
        parts=(800, -200, 100, 2500, -150, -50),
    ),
]
# Fills: cash 0.049 - 0.012 + 0.0695 = 0.1065, fees 0.0035 coin = 100 + 180 + 60 USD.
TRADES = [
    _trade(S[0][0], Side.SELL, 0.05, 0.001, 100_000.0),
    _trade(S[2][0], Side.BUY, 0.01, 0.002, 90_000.0),
    _trade(S[5][0], Side.SELL, 0.07, 0.0005, 120_000.0),
]


def _btc_run(*, balance_last: float = 1.1065) -> BacktestResult:
    points = [_point(*row) for row in S[:-1]] + [_point(*S[-1], balance=balance_last)]
    return _result(points, TRIPS, TRADES)


def _emitted_keys(metrics: dict) -> list[str]:
    keys = list(metrics["total_usd"])
    for sections in metrics["currencies"].values():
        for section in sections.values():
            keys += list(section)
    return keys


def _check_json(metrics: dict) -> None:
    json.dumps(metrics, allow_nan=False)
    assert set(_emitted_keys(metrics)) <= set(METRICS_BY_KEY)


def test_three_trades_in_coin() -> None:
    m = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})
    _check_json(m)
    coin = m["currencies"]["BTC"]["coin"]
    assert coin["initial_capital_coin"] == 1.0
    assert coin["final_equity_coin"] == 1.07
    # Closed trades: gross profit 0.04 + 0.06, gross loss 0.03, net 0.07.
    assert coin["net_profit_coin"] == approx(0.07)
    assert coin["net_profit_pct"] == approx(7.0)
    assert coin["gross_profit_coin"] == approx(0.10)
    assert coin["gross_loss_coin"] == approx(0.03)
    assert coin["profit_factor"] == approx(10 / 3)
    assert coin["open_pnl_coin"] == approx(0.0, abs=1e-12)
    assert coin["commission_coin"] == approx(0.0035)
    assert (coin["total_trades"], coin["winning_trades"], coin["losing_trades"], coin["even_trades"]) == (
        3,
        2,
        1,
        0,
    )
    assert coin["percent_profitable"] == approx(200 / 3)
    assert coin["avg_trade_coin"] == approx(0.07 / 3)
    assert coin["avg_win_coin"] == approx(0.05)
    assert coin["avg_loss_coin"] == approx(0.03)
    assert coin["win_loss_ratio"] == approx(5 / 3)
    assert coin["largest_win_coin"] == approx(0.06)
    assert coin["largest_win_pct"] == approx(60.0)
    assert coin["largest_loss_coin"] == approx(0.03)
    assert coin["largest_loss_pct"] == approx(100.0)
    assert (coin["avg_bars"], coin["avg_bars_win"], coin["avg_bars_loss"]) == approx((10 / 3, 4.0, 2.0))
    # Equity: 1.00 -> 1.07; buy & hold in coin is flat.
    assert coin["return_pct"] == approx(7.0)
    assert coin["cagr_pct"] == approx((1.07 ** (1 / YEARS) - 1) * 100)
    assert coin["cagr_pct"] == approx(36.1932, abs=1e-4)
    assert coin["buy_hold_return_coin"] == 0.0
    assert coin["buy_hold_return_pct"] == 0.0
    assert coin["outperformance_coin"] == approx(0.07)
    assert coin["outperformance_pct"] == approx(7.0)


def test_three_trades_drawdowns_and_runups_in_coin() -> None:
    coin = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})["currencies"]["BTC"]["coin"]
    # Episode 1: peak 1.05 (31 Jan), trough 0.98, back above on 10 Mar: 0.07, 6.667 %, 38 days.
    # Episode 2: peak 1.08 (10 Mar), 1.07 at the end, not recovered: 0.01, 0.926 %, 21 days.
    assert coin["drawdowns"] == 2
    assert coin["max_drawdown_coin"] == approx(0.07)
    assert coin["max_drawdown_pct"] == approx(0.07 / 1.05 * 100)
    assert coin["max_drawdown_days"] == approx(38.0)
    assert coin["avg_drawdown_coin"] == approx(0.04)
    assert coin["avg_drawdown_pct"] == approx((0.07 / 1.05 + 0.01 / 1.08) * 50)
    assert coin["avg_drawdown_days"] == approx(29.5)
    # Run-ups: 1.00 -> 1.05 (5 %), then from the new low 0.98 -> 1.08 (10.204 %).
    assert coin["max_runup_coin"] == approx(0.10)
    assert coin["max_runup_pct"] == approx(0.10 / 0.98 * 100)
    assert coin["avg_runup_coin"] == approx(0.075)
    assert coin["avg_runup_pct"] == approx((5.0 + 0.10 / 0.98 * 100) / 2)


def test_sharpe_and_sortino_on_month_end_equity() -> None:
    coin = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})["currencies"]["BTC"]["coin"]
    # Month ends 1.05, 1.00, 1.07 after the initial 1.00: returns 5 %, -4.762 %, 7 %.
    returns = [0.05, 1.00 / 1.05 - 1, 0.07]
    assert coin["months"] == 3
    assert coin["sharpe"] == approx(statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(12))
    assert coin["sharpe"] == approx(1.32804, abs=1e-5)
    # Downside deviation sqrt(0.047619² / 3): Sortino = 6 x mean / 0.047619 = 2 x 0.072381 / 0.047619.
    assert coin["sortino"] == approx(3.04)


def test_sharpe_with_a_risk_free_rate() -> None:
    coin = compute_metrics(_btc_run(), risk_free_rate=0.12, initial_balance_coin={"BTC": 1.0})
    rf = 1.12 ** (1 / 12) - 1
    excess = [0.05 - rf, 1.00 / 1.05 - 1 - rf, 0.07 - rf]
    got = coin["currencies"]["BTC"]["coin"]
    assert got["sharpe"] == approx(statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(12))
    downside = math.sqrt(sum(min(0.0, x) ** 2 for x in excess) / 3)
    assert got["sortino"] == approx(statistics.mean(excess) / downside * math.sqrt(12))


def test_three_trades_in_usd() -> None:
    usd = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})["currencies"]["BTC"]["usd"]
    # 1 BTC at 100 000 -> 1.07 BTC at 120 000 = 128 400; holding 1 BTC ends at 120 000.
    assert usd["initial_capital_usd"] == 100_000.0
    assert usd["final_equity_usd"] == approx(128_400.0)
    assert usd["return_pct"] == approx(28.4)
    assert usd["buy_hold_return_usd"] == approx(20_000.0)
    assert usd["buy_hold_return_pct"] == approx(20.0)
    assert usd["outperformance_usd"] == approx(8_400.0)
    assert usd["outperformance_pct"] == approx(8.4)
    assert usd["cagr_pct"] == approx((1.284 ** (1 / YEARS) - 1) * 100)
    # Trades in USD: +2000, -1800, +3000.
    assert usd["net_profit_usd"] == approx(3_200.0)
    assert usd["net_profit_pct"] == approx(3.2)
    assert usd["gross_profit_usd"] == approx(5_000.0)
    assert usd["gross_loss_usd"] == approx(1_800.0)
    assert usd["profit_factor"] == approx(5_000 / 1_800)
    assert usd["commission_usd"] == approx(340.0)
    assert usd["avg_trade_usd"] == approx(3_200 / 3)
    # USD curve 100 000, 102 000, 105 000, 88 200, 95 000, 118 800, 128 400: one episode of 16 %.
    assert usd["drawdowns"] == 1
    assert usd["max_drawdown_usd"] == approx(16_800.0)
    assert usd["max_drawdown_pct"] == approx(16.0)
    assert usd["max_drawdown_days"] == approx(38.0)
    assert usd["max_runup_usd"] == approx(40_200.0)
    assert usd["max_runup_pct"] == approx(40_200 / 88_200 * 100)
    returns = [0.05, 95_000 / 105_000 - 1, 128_400 / 95_000 - 1]
    assert usd["sharpe"] == approx(statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(12))


def test_options_seller_metrics() -> None:
    m = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})
    options = m["currencies"]["BTC"]["options"]
    assert options["short_trades"] == 3
    assert options["premium_collected_coin"] == approx(0.14)
    assert options["premium_captured_pct"] == approx(50.0)  # 0.07 of 0.14
    assert options["expired_trades"] == 2
    assert options["itm_at_expiry_pct"] == approx(50.0)
    assert options["roll_count"] == 1
    assert options["roll_pnl_coin"] == approx(0.04)
    assert options["roll_pnl_usd"] == approx(2_000.0)
    assert options["vrp_trades"] == 2  # the third has no realised vol
    assert options["vrp_vol_pts"] == approx(5.0)  # (10 + 0) / 2 vol points
    assert options["max_contracts"] == 3.0
    parts = {p: options[f"pnl_{p}_usd"] for p in ATTRIBUTION_PARTS}
    assert parts == approx(
        {"delta": -1200, "gamma": -700, "vega": 600, "theta": 4900, "fees": -400, "residual": 0}
    )
    assert sum(parts.values()) == approx(m["currencies"]["BTC"]["usd"]["net_profit_usd"])


def test_margin_used() -> None:
    coin = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})["currencies"]["BTC"]["coin"]
    assert coin["avg_margin_coin"] == approx(0.15)
    assert coin["max_margin_coin"] == approx(0.3)
    pct = [0.1 / 1.02, 0.2 / 1.05, 0.0, 0.1 / 1.0, 0.3 / 1.08, 0.2 / 1.07]
    assert coin["avg_margin_pct"] == approx(statistics.mean(pct) * 100)
    assert coin["max_margin_pct"] == approx(0.3 / 1.08 * 100)


def test_initial_capital_is_recovered_from_balance_and_trades() -> None:
    given_ = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})
    recovered = compute_metrics(_btc_run())  # last balance 1.1065 minus 0.1065 of trade cash
    assert recovered["currencies"]["BTC"]["coin"]["initial_capital_coin"] == approx(1.0)
    assert recovered["currencies"]["BTC"]["usd"]["sharpe"] == approx(
        given_["currencies"]["BTC"]["usd"]["sharpe"]
    )


def test_period_and_total_of_one_currency() -> None:
    m = compute_metrics(_btc_run(), initial_balance_coin={"BTC": 1.0})
    assert m["period"] == {
        "start": "2025-01-10T00:00:00+00:00",
        "end": "2025-03-31T00:00:00+00:00",
        "steps": 6,
        "years": approx(YEARS),
        "cancelled": False,
    }
    usd, total = m["currencies"]["BTC"]["usd"], m["total_usd"]
    for key in usd:
        assert total[key] == approx(usd[key]), key
    assert total["pnl_theta_usd"] == approx(4_900.0)
    assert "premium_collected_coin" not in total


def test_every_key_is_defined_once_with_a_known_unit() -> None:
    assert len(METRICS_BY_KEY) == len(METRICS)
    for m in METRICS:
        assert (
            m.label
            and m.help
            and m.unit in {"coin", "usd", "pct", "ratio", "count", "bars", "days", "vol_pts", "contracts"}
        )
        assert m.key.endswith("_coin") == (m.unit == "coin"), m.key
        assert m.key.endswith("_usd") == (m.unit == "usd"), m.key
    assert METRICS_BY_KEY["net_profit_coin"].label == "Net profit"
    assert METRICS_BY_KEY["max_drawdown_usd"].higher_is_better is False


def test_no_trades() -> None:
    points = [_point(S[0][0], 1.0, 100_000.0), _point(S[1][0], 1.0, 110_000.0)]
    m = compute_metrics(_result(points))
    _check_json(m)
    coin = m["currencies"]["BTC"]["coin"]
    assert coin["total_trades"] == 0
    assert coin["net_profit_coin"] == 0.0
    assert coin["gross_loss_coin"] == 0.0
    for key in ("profit_factor", "percent_profitable", "avg_trade_coin", "win_loss_ratio", "avg_bars"):
        assert coin[key] is None, key
    assert coin["max_drawdown_coin"] == 0.0 and coin["drawdowns"] == 0
    assert coin["sharpe"] is None  # one month
    assert m["currencies"]["BTC"]["usd"]["buy_hold_return_usd"] == approx(10_000.0)
    assert m["currencies"]["BTC"]["options"]["itm_at_expiry_pct"] is None
    assert m["currencies"]["BTC"]["options"]["vrp_vol_pts"] is None


def test_all_winners_have_no_profit_factor() -> None:
    points = [_point(S[0][0], 1.0, 100_000.0), _point(S[1][0], 1.03, 100_000.0)]
    m = compute_metrics(
        _result(points, [_trip(0.01, 1000.0), _trip(0.02, 2000.0)]), initial_balance_coin={"BTC": 1.0}
    )
    coin = m["currencies"]["BTC"]["coin"]
    assert coin["profit_factor"] is None
    assert coin["win_loss_ratio"] is None
    assert coin["avg_loss_coin"] is None and coin["largest_loss_coin"] is None
    assert coin["percent_profitable"] == 100.0
    _check_json(m)


def test_all_losers_have_a_zero_profit_factor_and_even_trades_count_apart() -> None:
    points = [_point(S[0][0], 1.0, 100_000.0), _point(S[1][0], 0.98, 100_000.0)]
    trips = [_trip(-0.02, -2000.0), _trip(1e-12, 1e-9)]
    coin = compute_metrics(_result(points, trips), initial_balance_coin={"BTC": 1.0})["currencies"]["BTC"][
        "coin"
    ]
    assert coin["profit_factor"] == 0.0
    assert (coin["winning_trades"], coin["losing_trades"], coin["even_trades"]) == (0, 1, 1)
    assert coin["percent_profitable"] == 0.0


def test_single_step() -> None:
    m = compute_metrics(_result([_point(S[0][0], 0.99, 100_000.0)]), initial_balance_coin={"BTC": 1.0})
    _check_json(m)
    coin = m["currencies"]["BTC"]["coin"]
    assert m["period"]["steps"] == 1 and m["period"]["years"] == 0.0
    assert coin["cagr_pct"] is None
    assert coin["sharpe"] is None and coin["sortino"] is None
    assert coin["return_pct"] == approx(-1.0)
    # Down 0.01 from the initial capital at the same instant: a drawdown of no duration.
    assert coin["max_drawdown_coin"] == approx(0.01) and coin["max_drawdown_days"] == 0.0


def test_empty_result() -> None:
    m = compute_metrics(_result([]))
    _check_json(m)
    assert m["currencies"] == {}
    assert m["period"] == {"start": None, "end": None, "steps": 0, "years": 0.0, "cancelled": False}
    assert m["total_usd"]["final_equity_usd"] is None
    assert m["total_usd"]["total_trades"] == 0
    assert equity_curve(_result([])) == []


def test_cancelled_run_keeps_open_positions_apart() -> None:
    # Stopped after two steps with one short still open: equity 1.03, no closed trade.
    points = [_point(S[0][0], 1.01, 100_000.0), _point(S[1][0], 1.03, 100_000.0, 0.2, 1.0)]
    m = compute_metrics(_result(points, cancelled=True), initial_balance_coin={"BTC": 1.0})
    _check_json(m)
    coin = m["currencies"]["BTC"]["coin"]
    assert m["period"]["cancelled"] is True
    assert m["period"]["end"] == "2025-01-31T00:00:00+00:00"
    assert coin["net_profit_coin"] == 0.0
    assert coin["open_pnl_coin"] == approx(0.03)
    assert coin["return_pct"] == approx(3.0)


def test_two_currencies_add_up_in_usd_only() -> None:
    t0, t1, t2 = S[0][0], S[1][0], S[3][0]
    btc = [_point(t0, 1.0, 100_000.0), _point(t1, 1.02, 100_000.0), _point(t2, 1.01, 90_000.0)]
    # ETH misses the middle step and has no index at the last: both carry the last known value.
    eth = [
        _point(t0, 10.0, 3_000.0, currency="ETH"),
        EquityPoint(t2, "ETH", 10.5, 10.5, math.nan, math.nan),
    ]
    trips = [_trip(0.01, 1_000.0), _trip(0.5, 1_500.0, currency="ETH"), _trip(-0.1, -300.0, currency="ETH")]
    m = compute_metrics(_result(btc + eth, trips), initial_balance_coin={"BTC": 1.0, "ETH": 10.0})
    _check_json(m)
    assert sorted(m["currencies"]) == ["BTC", "ETH"]
    eth_usd = m["currencies"]["ETH"]["usd"]
    assert eth_usd["final_equity_usd"] == approx(31_500.0)  # 10.5 ETH at the carried 3 000
    assert m["currencies"]["ETH"]["coin"]["net_profit_coin"] == approx(0.4)
    total = m["total_usd"]
    # 100 000 + 30 000 -> 102 000 + 30 000 -> 90 900 + 31 500.
    assert total["initial_capital_usd"] == approx(130_000.0)
    assert total["final_equity_usd"] == approx(122_400.0)
    assert total["buy_hold_return_usd"] == approx(-10_000.0)
    assert total["max_drawdown_usd"] == approx(132_000.0 - 122_400.0)
    assert total["net_profit_usd"] == approx(2_200.0)
    assert (total["total_trades"], total["winning_trades"]) == (3, 2)
    assert not any(key.endswith("_coin") for key in total)
    assert m["period"]["steps"] == 3


def test_a_currency_without_any_index_has_no_usd_figures() -> None:
    points = [EquityPoint(S[0][0], "ETH", 1.0, 1.0, math.nan, math.nan)]
    m = compute_metrics(_result(points), initial_balance_coin={"ETH": 1.0})
    _check_json(m)
    assert m["currencies"]["ETH"]["coin"]["final_equity_coin"] == 1.0
    assert m["currencies"]["ETH"]["usd"]["final_equity_usd"] is None
    assert m["total_usd"]["max_drawdown_usd"] is None


def test_months_without_steps_repeat_the_equity() -> None:
    points = [
        _point(datetime(2025, 1, 31, tzinfo=UTC), 1.1, 1.0),
        _point(datetime(2025, 3, 31, tzinfo=UTC), 1.21, 1.0),
    ]
    coin = compute_metrics(_result(points), initial_balance_coin={"BTC": 1.0})["currencies"]["BTC"]["coin"]
    returns = [0.1, 0.0, 0.1]  # February repeats January's 1.1
    assert coin["months"] == 3
    assert coin["sharpe"] == approx(statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(12))
    assert coin["sortino"] is None  # no month below the risk-free rate


def test_equity_curve_rows() -> None:
    rows = equity_curve(_btc_run(), initial_balance_coin={"BTC": 1.0})
    json.dumps(rows, allow_nan=False)
    assert [r["at"] for r in rows] == [at.isoformat() for at, *_ in S]
    third = rows[2]["currencies"]["BTC"]
    assert third == {
        "equity_coin": 0.98,
        "equity_usd": approx(88_200.0),
        "buy_hold_coin": 1.0,
        "buy_hold_usd": 90_000.0,
        "drawdown_coin_pct": approx(0.07 / 1.05 * 100),
        "drawdown_usd_pct": approx(16.0),
        "margin_coin": 0.0,
        "index_price_usd": 90_000.0,
    }
    assert rows[-1]["total"] == {
        "equity_usd": approx(128_400.0),
        "buy_hold_usd": 120_000.0,
        "drawdown_usd_pct": 0.0,
    }


def test_equity_curve_downsamples_keeping_ends_and_the_worst_drawdown() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    values = [1.0 + 0.001 * i for i in range(500)]
    values[333] = 0.5  # the deepest drawdown: peak at step 332, trough at 333
    points = [_point(start + timedelta(hours=i), v, 100_000.0) for i, v in enumerate(values)]
    rows = equity_curve(_result(points), max_points=50, initial_balance_coin={"BTC": 1.0})
    kept = [datetime.fromisoformat(r["at"]) for r in rows]
    assert len(rows) <= 50
    assert kept[0] == start and kept[-1] == start + timedelta(hours=499)
    assert {start + timedelta(hours=332), start + timedelta(hours=333)} <= set(kept)
    assert kept == sorted(kept)
    with pytest.raises(ValueError, match="max_points"):
        equity_curve(_result(points), max_points=1)


def test_trade_rows() -> None:
    rows = trade_rows(_btc_run())
    json.dumps(rows, allow_nan=False)
    assert [r["number"] for r in rows] == [1, 2, 3]
    first, third = rows[0], rows[2]
    assert first["exit"] == "roll" and first["direction"] == "short"
    assert first["attribution_usd"] == {
        "delta": 500.0,
        "gamma": -100.0,
        "vega": 300.0,
        "theta": 1400.0,
        "fees": -150.0,
        "residual": 50.0,
    }
    assert third["rv_hold"] is None  # NaN in the record
    assert third["itm_at_expiry"] is False
    assert first["expiry"] == "2025-03-28T08:00:00+00:00"


_pnl = st.floats(-1.0, 1.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    equity=st.lists(st.floats(0.0, 3.0, allow_nan=False), min_size=1, max_size=40),
    index=st.lists(st.one_of(st.floats(1.0, 1e6), st.just(math.nan)), min_size=40, max_size=40),
    pnls=st.lists(_pnl, max_size=12),
    hours=st.integers(1, 24 * 40),
)
def test_any_result_gives_json_with_known_keys(
    equity: list[float], index: list[float], pnls: list[float], hours: int
) -> None:
    start = datetime(2024, 12, 20, tzinfo=UTC)
    points = [_point(start + timedelta(hours=hours * i), e, index[i]) for i, e in enumerate(equity)]
    trips = [_trip(p, p * 1_000, bars=i + 1, itm=p < 0, iv=0.5, rv=0.4) for i, p in enumerate(pnls)]
    m = compute_metrics(_result(points, trips), risk_free_rate=0.03)
    _check_json(m)
    coin = m["currencies"]["BTC"]["coin"]
    wins = sum(p for p in pnls if p > 1e-9)
    assert coin["gross_profit_coin"] == approx(wins)
    if coin["max_drawdown_pct"] is not None:
        assert 0.0 <= coin["max_drawdown_pct"] <= 100.0
    rows = equity_curve(_result(points, trips), max_points=5)
    json.dumps(rows, allow_nan=False)
    # first, last, and the peak and trough of the deepest drawdown (by value, by %) of 3 series
    assert len(rows) <= max(5, 2 + 4 * 3)
