"""The metrics of a finished backtest, as the owner sees them: TradingView's Strategy Tester set plus
what an options seller watches, per currency in coin and in USD, and for the whole run in USD.

Pure (numpy only, no I/O); every output is JSON-ready: plain numbers, strings and ``None`` where a
figure is undefined (never NaN or infinity). :data:`backtests.metric_defs.METRICS` names, labels and
explains every key emitted here.

Definitions:

* Each currency is its own coin-margined account. *Initial capital* is its coin balance before the
  first step (``initial_balance_coin`` when given, else the last balance minus the cash of every
  trade of that coin); in USD it is valued at the first step's index. Steps without an index for a
  currency carry the last known index (the first known one before it). The run's total is in USD
  only: the sum of the accounts, each at its latest step.
* Equity curves are taken on step closes and start with the initial capital at the first step's
  time. Drawdowns, run-ups and their durations are measured on these points only (moves inside a
  step are not seen). A drawdown episode runs from the last point at a running peak until the first
  point back at (or above) it, or until the last point if it never recovers; a run-up episode is the
  mirror image from a running low until a new low.
* A *trade* is a completed round trip (:class:`~backtests.engine.records.RoundTrip`); positions
  still open at the end count in *Open P&L* and in equity-based figures only. Coin trade statistics
  use ``pnl_coin``, USD ones ``pnl_usd`` (each cash flow at the index when it happened), so a trade
  can win in coin and lose in USD. *Even* trades have |P&L| below :data:`EVEN_EPS_COIN` or
  :data:`EVEN_EPS_USD`. Losses and drawdowns are reported as positive amounts.
* *Net profit* (as in TradingView) is the sum of closed trades; *Return on initial capital* and
  *CAGR* use final equity (open positions at mark, and in USD the coins' revaluation). Buy & hold
  is holding the initial coins: flat in coin, ``initial_coin x index`` in USD. Outperformance is the
  equity return minus the buy & hold return.
* Sharpe and Sortino use monthly returns of calendar month-end equity (UTC): the first month's
  return is from the initial capital, the last month is partial, months without steps repeat the
  equity. Excess returns are over ``(1 + risk_free_rate) ** (1/12) - 1``; Sharpe = mean / sample
  std x sqrt(12); Sortino = mean / sqrt(mean(min(0, excess)^2)) x sqrt(12), the downside deviation
  taken over all months. Both are ``None`` with fewer than two monthly returns or a zero
  denominator.
* CAGR = ``(final / initial) ** (1 / years) - 1`` with years = (last - first step) / 365.25 days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from backtests import metric_series as series
from backtests.engine.loop import BacktestResult, EquityPoint
from backtests.engine.records import ATTRIBUTION_PARTS, RoundTrip
from backtests.metric_defs import METRICS, METRICS_BY_KEY, MetricDef

__all__ = [
    "EVEN_EPS_COIN",
    "EVEN_EPS_USD",
    "METRICS",
    "METRICS_BY_KEY",
    "MetricDef",
    "compute_metrics",
    "equity_curve",
    "trade_rows",
]

EVEN_EPS_COIN = 1e-9
"""A trade with |P&L| below this many coins is even."""
EVEN_EPS_USD = 1e-6
"""A trade with |P&L| below this many USD is even (in USD statistics)."""

Json = dict[str, Any]


def _json(x: Any) -> Any:
    """``x`` with numpy scalars made plain and non-finite floats made ``None``."""
    if isinstance(x, dict):
        return {k: _json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


def _ordered(section: Json) -> Json:
    unknown = set(section) - set(METRICS_BY_KEY)
    if unknown:
        raise KeyError(f"metrics missing from METRICS: {sorted(unknown)}")
    return {m.key: _json(section[m.key]) for m in METRICS if m.key in section}


def _pct(part: float, whole: float) -> float | None:
    return part / whole * 100.0 if whole > 0 and math.isfinite(whole) else None


def _mean(xs: Sequence[float]) -> float | None:
    return math.fsum(xs) / len(xs) if xs else None


def _max(xs: Sequence[float]) -> float:
    """The largest of ``xs`` ignoring NaN; 0 when empty, NaN when all are NaN."""
    known = [x for x in xs if not math.isnan(x)]
    return max(known) if known else (math.nan if xs else 0.0)


def _equity_stats(curve: series.Curve, hold_final: float, years: float, rf: float, u: str) -> Json:
    """Equity-based metrics of ``curve`` in unit ``u``; all ``None`` when the curve has unknown values."""
    initial, final = float(curve.values[0]), float(curve.values[-1])
    change, hold = final - initial, hold_final - initial
    dds, rus = series.episodes(curve), series.episodes(curve, runup=True)
    returns = series.monthly_returns(curve)
    sharpe, sortino = series.sharpe_sortino(returns, rf)
    out: Json = {
        f"initial_capital_{u}": initial,
        f"final_equity_{u}": final,
        "return_pct": _pct(change, initial),
        "cagr_pct": series.cagr_pct(initial, final, years),
        f"buy_hold_return_{u}": hold,
        "buy_hold_return_pct": _pct(hold, initial),
        f"outperformance_{u}": change - hold,
        "outperformance_pct": _pct(change - hold, initial),
        "sharpe": sharpe,
        "sortino": sortino,
        "months": int(returns.size),
        f"max_drawdown_{u}": _max([d.depth for d in dds]),
        "max_drawdown_pct": _max([d.depth_pct for d in dds]),
        f"avg_drawdown_{u}": _mean([d.depth for d in dds]) or 0.0,
        "avg_drawdown_pct": _mean([d.depth_pct for d in dds]) or 0.0,
        "max_drawdown_days": _max([d.days for d in dds]),
        "avg_drawdown_days": _mean([d.days for d in dds]) or 0.0,
        "drawdowns": len(dds),
        f"max_runup_{u}": _max([r.depth for r in rus]),
        "max_runup_pct": _max([r.depth_pct for r in rus]),
        f"avg_runup_{u}": _mean([r.depth for r in rus]) or 0.0,
        "avg_runup_pct": _mean([r.depth_pct for r in rus]) or 0.0,
    }
    if not np.all(np.isfinite(curve.values)) or not math.isfinite(hold_final):
        return dict.fromkeys(out)
    return out


def _trade_stats(pnls: Sequence[float], bars: Sequence[int], initial: float, u: str, eps: float) -> Json:
    """Closed-trade metrics from each trade's P&L and bars held, in unit ``u``."""
    wins = [p for p in pnls if p > eps]
    losses = [-p for p in pnls if p < -eps]
    n, gross_profit, gross_loss, net = len(pnls), math.fsum(wins), math.fsum(losses), math.fsum(pnls)
    avg_win, avg_loss = _mean(wins), _mean(losses)
    return {
        f"net_profit_{u}": net,
        "net_profit_pct": _pct(net, initial),
        f"gross_profit_{u}": gross_profit,
        f"gross_loss_{u}": gross_loss,
        "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
        "total_trades": n,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "even_trades": n - len(wins) - len(losses),
        "percent_profitable": len(wins) / n * 100.0 if n else None,
        f"avg_trade_{u}": net / n if n else None,
        f"avg_win_{u}": avg_win,
        f"avg_loss_{u}": avg_loss,
        "win_loss_ratio": avg_win / avg_loss if avg_win is not None and avg_loss is not None else None,
        f"largest_win_{u}": max(wins, default=None),
        "largest_win_pct": _pct(max(wins), gross_profit) if wins else None,
        f"largest_loss_{u}": max(losses, default=None),
        "largest_loss_pct": _pct(max(losses), gross_loss) if losses else None,
        "avg_bars": _mean([float(b) for b in bars]),
        "avg_bars_win": _mean([float(b) for p, b in zip(pnls, bars, strict=True) if p > eps]),
        "avg_bars_loss": _mean([float(b) for p, b in zip(pnls, bars, strict=True) if p < -eps]),
    }


def _options(trips: Sequence[RoundTrip]) -> Json:
    """Options-seller metrics of closed trades."""
    shorts = [t for t in trips if t.short]
    premium = math.fsum(t.premium_coin for t in shorts)
    expired = [t for t in trips if t.itm_at_expiry is not None]
    rolls = [t for t in trips if t.exit == "roll"]
    vrp = [t.iv_entry - t.rv_hold for t in trips if math.isfinite(t.iv_entry) and math.isfinite(t.rv_hold)]
    vrp_mean = _mean(vrp)
    out: Json = {
        "short_trades": len(shorts),
        "premium_collected_coin": premium,
        "premium_captured_pct": _pct(math.fsum(t.pnl_coin for t in shorts), premium),
        "expired_trades": len(expired),
        "itm_at_expiry_pct": _pct(sum(1 for t in expired if t.itm_at_expiry), len(expired)),
        "roll_count": len(rolls),
        "roll_pnl_coin": math.fsum(t.pnl_coin for t in rolls),
        "roll_pnl_usd": math.fsum(t.pnl_usd for t in rolls),
        "vrp_trades": len(vrp),
        "vrp_vol_pts": vrp_mean * 100.0 if vrp_mean is not None else None,
    }
    for part in ATTRIBUTION_PARTS:
        out[f"pnl_{part}_usd"] = math.fsum(t.attribution_usd.get(part, 0.0) for t in trips)
    return out


def _margin(points: Sequence[EquityPoint]) -> Json:
    margin = np.array([p.margin_coin for p in points], dtype=np.float64)
    equity = np.array([p.equity_coin for p in points], dtype=np.float64)
    with np.errstate(all="ignore"):
        pct = np.where(equity > 0, margin / equity * 100.0, np.nan)
    known = pct[np.isfinite(pct)]
    return {
        "avg_margin_coin": float(margin.mean()),
        "max_margin_coin": float(margin.max()),
        "avg_margin_pct": float(known.mean()) if known.size else None,
        "max_margin_pct": float(known.max()) if known.size else None,
    }


_NO_CURVE = series.Curve((datetime(1970, 1, 1, tzinfo=UTC),) * 2, np.array([math.nan, math.nan]))
_USD_OPTION_KEYS = ("premium_collected_coin", "premium_captured_pct", "roll_pnl_coin")


def compute_metrics(
    result: BacktestResult,
    *,
    risk_free_rate: float = 0.0,
    initial_balance_coin: Mapping[str, float] | None = None,
) -> Json:
    """The metrics of ``result`` (see the module docstring), JSON-ready.

    ``risk_free_rate`` is an annual decimal. ``initial_balance_coin`` (the run's starting coins, per
    currency) is recovered from the balances and trades when omitted.
    """
    times = series.step_times(result)
    accounts = series.accounts_from(result, initial_balance_coin)
    years = series.span_years(times[0], times[-1]) if times else 0.0
    currencies: Json = {}
    for a in accounts:
        trips = [t for t in result.round_trips if t.currency == a.currency]
        fees = [t for t in result.trades if t.currency == a.currency]
        pnl_coin = [t.pnl_coin for t in trips]
        bars = [t.bars for t in trips]
        coin = _equity_stats(a.coin, a.initial_coin, years, risk_free_rate, "coin")
        coin |= _trade_stats(pnl_coin, bars, a.initial_coin, "coin", EVEN_EPS_COIN)
        coin["commission_coin"] = math.fsum(t.fee_coin for t in fees)
        coin["open_pnl_coin"] = float(a.coin.values[-1]) - a.initial_coin - math.fsum(pnl_coin)
        coin |= _margin(a.points)
        initial_usd = float(a.usd.values[0])
        usd = _equity_stats(a.usd, a.initial_coin * float(a.index_usd[-1]), years, risk_free_rate, "usd")
        usd |= _trade_stats([t.pnl_usd for t in trips], bars, initial_usd, "usd", EVEN_EPS_USD)
        usd["commission_usd"] = math.fsum(t.fee_coin * t.index_price_usd for t in fees)
        options = _options(trips) | {"max_contracts": max(abs(p.contracts) for p in a.points)}
        currencies[a.currency] = {"coin": _ordered(coin), "usd": _ordered(usd), "options": _ordered(options)}
    if accounts:
        total_curve, hold = series.total(accounts, times)
        total = _equity_stats(total_curve, float(hold[-1]), years, risk_free_rate, "usd")
    else:
        total = _equity_stats(_NO_CURVE, math.nan, 0.0, risk_free_rate, "usd")
    all_trips = result.round_trips
    initial_total = total["initial_capital_usd"]
    total |= _trade_stats(
        [t.pnl_usd for t in all_trips], [t.bars for t in all_trips], initial_total or 0.0, "usd", EVEN_EPS_USD
    )
    total["commission_usd"] = math.fsum(t.fee_coin * t.index_price_usd for t in result.trades)
    total |= {k: v for k, v in _options(all_trips).items() if k not in _USD_OPTION_KEYS}
    return {
        "currencies": currencies,
        "total_usd": _ordered(total),
        "period": {
            "start": times[0].isoformat() if times else None,
            "end": times[-1].isoformat() if times else None,
            "steps": len(times),
            "years": years,
            "cancelled": result.cancelled,
        },
    }


def _worst_times(curve: series.Curve) -> set[datetime]:
    """Peak and trough times of the deepest drawdown episodes, by value and by percent."""
    dds = series.episodes(curve)
    if not dds:
        return set()
    worst = {max(dds, key=lambda d: d.depth), max(dds, key=lambda d: np.nan_to_num(d.depth_pct))}
    return {curve.times[i] for d in worst for i in (d.start, d.extreme)}


def _keep(n: int, must: set[int], max_points: int) -> list[int]:
    if n <= max_points:
        return list(range(n))
    even = np.linspace(0, n - 1, max(max_points - len(must), 0)).round().astype(int)
    return sorted(must | {int(i) for i in even})


def equity_curve(
    result: BacktestResult, *, max_points: int = 2000, initial_balance_coin: Mapping[str, float] | None = None
) -> list[Json]:
    """Chart rows, one per kept step time, oldest first.

    Each row: ``at`` (ISO), ``currencies`` ({currency: equity_coin, equity_usd, buy_hold_coin,
    buy_hold_usd, drawdown_coin_pct, drawdown_usd_pct, margin_coin, index_price_usd}, for the
    currencies with a point at that time) and ``total`` (equity_usd, buy_hold_usd, drawdown_usd_pct).
    With more steps than ``max_points``, rows are picked evenly, always keeping the first, the last
    and the peaks and troughs of the deepest drawdowns (so never fewer than those, even above
    ``max_points``).
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    times = series.step_times(result)
    if not times:
        return []
    accounts = series.accounts_from(result, initial_balance_coin)
    total_curve, hold = series.total(accounts, times)
    worst = _worst_times(total_curve)
    for a in accounts:
        worst |= _worst_times(a.coin) | _worst_times(a.usd)
    row_of = {t: i for i, t in enumerate(times)}
    keep = _keep(len(times), {0, len(times) - 1} | {row_of[t] for t in worst}, max_points)
    dd_total = series.drawdown_pct(total_curve)
    rows: list[Json] = [
        {
            "at": times[i].isoformat(),
            "currencies": {},
            "total": {
                "equity_usd": total_curve.values[i + 1],
                "buy_hold_usd": hold[i],
                "drawdown_usd_pct": dd_total[i],
            },
        }
        for i in keep
    ]
    for a in accounts:
        dd_coin, dd_usd = series.drawdown_pct(a.coin), series.drawdown_pct(a.usd)
        own = {p.at: k for k, p in enumerate(a.points)}
        for i, row in zip(keep, rows, strict=True):
            k = own.get(times[i])
            if k is None:
                continue
            row["currencies"][a.currency] = {
                "equity_coin": a.points[k].equity_coin,
                "equity_usd": a.usd.values[k + 1],
                "buy_hold_coin": a.initial_coin,
                "buy_hold_usd": a.initial_coin * a.index_usd[k],
                "drawdown_coin_pct": dd_coin[k],
                "drawdown_usd_pct": dd_usd[k],
                "margin_coin": a.points[k].margin_coin,
                "index_price_usd": a.index_usd[k],
            }
    return [_json(row) for row in rows]


def trade_rows(result: BacktestResult) -> list[Json]:
    """Closed trades (round trips) as JSON rows for the trade table, in the order they ended."""
    return [
        _json(
            {
                "number": n,
                "strategy": t.strategy,
                "currency": t.currency,
                "instrument_name": t.instrument_name,
                "option_type": t.option_type,
                "strike_usd": t.strike_usd,
                "expiry": t.expiry.isoformat(),
                "direction": "short" if t.short else "long",
                "opened_at": t.opened_at.isoformat(),
                "closed_at": t.closed_at.isoformat(),
                "exit": t.exit,
                "size_contracts": t.size_contracts,
                "entry_price_coin": t.entry_price_coin,
                "exit_price_coin": t.exit_price_coin,
                "premium_coin": t.premium_coin,
                "fees_coin": t.fees_coin,
                "pnl_coin": t.pnl_coin,
                "pnl_usd": t.pnl_usd,
                "bars": t.bars,
                "itm_at_expiry": t.itm_at_expiry,
                "iv_entry": t.iv_entry,
                "rv_hold": t.rv_hold,
                "attribution_usd": {part: t.attribution_usd.get(part, 0.0) for part in ATTRIBUTION_PARTS},
            }
        )
        for n, t in enumerate(result.round_trips, start=1)
    ]
