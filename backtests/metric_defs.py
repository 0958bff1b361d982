"""The table of backtest metrics: one :class:`MetricDef` per key that ``backtests.metrics`` emits.

The Lab and the REST API render metrics only through :data:`METRICS` (label, unit, tooltip, and
which way is better for highlighting in comparisons). Labels follow TradingView's Strategy
Tester where it has the metric. Money keys carry their unit in the name (``net_profit_coin`` in a
currency's ``coin`` section, ``net_profit_usd`` in its ``usd`` section and in ``total_usd``); the
other keys mean the same in every section, measured in that section's unit. Losses, drawdowns
and gross loss are positive amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from backtests.engine.records import ATTRIBUTION_PARTS

Unit = Literal["coin", "usd", "pct", "ratio", "count", "bars", "days", "vol_pts", "contracts"]
Group = Literal["performance", "drawdown", "trades", "margin", "options", "attribution"]


@dataclass(frozen=True, slots=True)
class MetricDef:
    key: str
    label: str
    unit: Unit
    help: str
    """One line for a tooltip: what it is and how it is computed."""
    higher_is_better: bool | None
    """``None``: neither (a count, a size, a decomposition); comparisons do not highlight it."""
    group: Group


def _money(key: str, label: str, help_: str, better: bool | None, group: Group) -> tuple[MetricDef, ...]:
    """The coin and the USD variant of a money metric."""
    return (
        MetricDef(f"{key}_coin", label, "coin", help_, better, group),
        MetricDef(f"{key}_usd", label, "usd", help_, better, group),
    )


_PERFORMANCE: tuple[MetricDef, ...] = (
    *_money(
        "initial_capital",
        "Initial capital",
        "Equity before the first step; in USD valued at the first step's index.",
        None,
        "performance",
    ),
    *_money(
        "final_equity",
        "Final equity",
        "Equity at the last step: balance plus open options at mark (in USD at the last index).",
        True,
        "performance",
    ),
    *_money(
        "net_profit",
        "Net profit",
        "Sum of the P&L of closed trades (round trips); open positions are in Open P&L.",
        True,
        "performance",
    ),
    MetricDef(
        "net_profit_pct", "Net profit %", "pct", "Net profit / initial capital x 100.", True, "performance"
    ),
    MetricDef(
        "open_pnl_coin",
        "Open P&L",
        "coin",
        "Final equity - initial capital - net profit: the P&L of positions still open at the end, at mark.",
        None,
        "performance",
    ),
    *_money(
        "gross_profit",
        "Gross profit",
        "Sum of the P&L of winning trades.",
        True,
        "performance",
    ),
    *_money(
        "gross_loss",
        "Gross loss",
        "Sum of the losses of losing trades, as a positive amount.",
        False,
        "performance",
    ),
    MetricDef(
        "profit_factor",
        "Profit factor",
        "ratio",
        "Gross profit / gross loss; empty when there is no loss.",
        True,
        "performance",
    ),
    *_money(
        "commission",
        "Commission paid",
        "Trading and delivery fees of every fill, open positions included; in USD at each fill's index.",
        False,
        "performance",
    ),
    MetricDef(
        "return_pct",
        "Return on initial capital",
        "pct",
        "(Final equity - initial capital) / initial capital x 100, open positions at mark.",
        True,
        "performance",
    ),
    MetricDef(
        "cagr_pct",
        "CAGR",
        "pct",
        "((final equity / initial capital) ^ (1 / years) - 1) x 100; misleading on runs much shorter "
        "than a year.",
        True,
        "performance",
    ),
    *_money(
        "buy_hold_return",
        "Buy & hold return",
        "Return of holding the initial coins instead: 0 in coin, initial coins x (last - first index) "
        "in USD.",
        None,
        "performance",
    ),
    MetricDef(
        "buy_hold_return_pct",
        "Buy & hold return %",
        "pct",
        "Buy & hold return / initial capital x 100.",
        None,
        "performance",
    ),
    *_money(
        "outperformance",
        "Strategy outperformance",
        "Final equity - initial capital - buy & hold return.",
        True,
        "performance",
    ),
    MetricDef(
        "outperformance_pct",
        "Strategy outperformance %",
        "pct",
        "Return on initial capital - buy & hold return %, in percentage points.",
        True,
        "performance",
    ),
    MetricDef(
        "sharpe",
        "Sharpe ratio",
        "ratio",
        "Mean / sample std of monthly excess returns x sqrt(12); returns from calendar month-end equity "
        "(first from initial capital, last month partial); empty with fewer than 2 months.",
        True,
        "performance",
    ),
    MetricDef(
        "sortino",
        "Sortino ratio",
        "ratio",
        "Mean monthly excess return / downside deviation x sqrt(12); downside deviation = sqrt(mean of "
        "min(0, excess)^2) over all months; empty with fewer than 2 months or none below the risk-free rate.",
        True,
        "performance",
    ),
    MetricDef(
        "months",
        "Months in Sharpe",
        "count",
        "Monthly returns behind the Sharpe and Sortino ratios.",
        None,
        "performance",
    ),
)

_DRAWDOWN: tuple[MetricDef, ...] = (
    *_money(
        "max_drawdown",
        "Max drawdown",
        "Largest fall of equity from a running peak (initial capital included), on step closes.",
        False,
        "drawdown",
    ),
    MetricDef(
        "max_drawdown_pct",
        "Max drawdown %",
        "pct",
        "Largest fall from a running peak as % of that peak (may be another episode than the largest value).",
        False,
        "drawdown",
    ),
    *_money(
        "avg_drawdown",
        "Avg drawdown",
        "Mean depth of drawdown episodes (peak until equity is back at the peak, or the end); 0 if none.",
        False,
        "drawdown",
    ),
    MetricDef(
        "avg_drawdown_pct",
        "Avg drawdown %",
        "pct",
        "Mean depth of drawdown episodes, % of their peak.",
        False,
        "drawdown",
    ),
    MetricDef(
        "max_drawdown_days",
        "Max drawdown duration",
        "days",
        "Longest episode, from the last step at the peak to the first step back at it (or the last step).",
        False,
        "drawdown",
    ),
    MetricDef(
        "avg_drawdown_days",
        "Avg drawdown duration",
        "days",
        "Mean episode duration, measured as for the max.",
        False,
        "drawdown",
    ),
    MetricDef("drawdowns", "Drawdowns", "count", "Number of drawdown episodes.", None, "drawdown"),
    *_money(
        "max_runup",
        "Max run-up",
        "Largest rise of equity above its running low (initial capital included), on step closes.",
        True,
        "drawdown",
    ),
    MetricDef(
        "max_runup_pct",
        "Max run-up %",
        "pct",
        "Largest run-up as % of the low it rose from.",
        True,
        "drawdown",
    ),
    *_money(
        "avg_runup",
        "Avg run-up",
        "Mean height of run-up episodes (a rise from the running low until a new low, or the end).",
        True,
        "drawdown",
    ),
    MetricDef(
        "avg_runup_pct",
        "Avg run-up %",
        "pct",
        "Mean height of run-up episodes, % of their low.",
        True,
        "drawdown",
    ),
)

_TRADES: tuple[MetricDef, ...] = (
    MetricDef(
        "total_trades",
        "Total closed trades",
        "count",
        "Completed round trips (a position from its opening fill until flat: closed, rolled or settled).",
        None,
        "trades",
    ),
    MetricDef(
        "winning_trades", "Number winning trades", "count", "Trades with P&L above zero.", None, "trades"
    ),
    MetricDef(
        "losing_trades", "Number losing trades", "count", "Trades with P&L below zero.", None, "trades"
    ),
    MetricDef(
        "even_trades",
        "Number even trades",
        "count",
        "Trades with |P&L| below 1e-9 coin (1e-6 USD in USD sections).",
        None,
        "trades",
    ),
    MetricDef(
        "percent_profitable",
        "Percent profitable",
        "pct",
        "Winning trades / total trades x 100.",
        True,
        "trades",
    ),
    *_money(
        "avg_trade",
        "Avg trade",
        "Net profit / total trades (the expected payoff per trade).",
        True,
        "trades",
    ),
    *_money("avg_win", "Avg winning trade", "Gross profit / winning trades.", True, "trades"),
    *_money(
        "avg_loss", "Avg losing trade", "Gross loss / losing trades, as a positive amount.", False, "trades"
    ),
    MetricDef(
        "win_loss_ratio",
        "Ratio avg win / avg loss",
        "ratio",
        "Avg winning trade / avg losing trade; empty without both.",
        True,
        "trades",
    ),
    *_money("largest_win", "Largest winning trade", "P&L of the best trade.", True, "trades"),
    MetricDef(
        "largest_win_pct",
        "Largest winning trade, % of gross profit",
        "pct",
        "Largest winning trade / gross profit x 100 (high: the profit rests on one trade).",
        None,
        "trades",
    ),
    *_money(
        "largest_loss",
        "Largest losing trade",
        "Loss of the worst trade, as a positive amount.",
        False,
        "trades",
    ),
    MetricDef(
        "largest_loss_pct",
        "Largest losing trade, % of gross loss",
        "pct",
        "Largest losing trade / gross loss x 100.",
        None,
        "trades",
    ),
    MetricDef("avg_bars", "Avg # bars in trades", "bars", "Mean steps a trade was held.", None, "trades"),
    MetricDef(
        "avg_bars_win",
        "Avg # bars in winning trades",
        "bars",
        "Mean steps a winning trade was held.",
        None,
        "trades",
    ),
    MetricDef(
        "avg_bars_loss",
        "Avg # bars in losing trades",
        "bars",
        "Mean steps a losing trade was held.",
        None,
        "trades",
    ),
)

_MARGIN: tuple[MetricDef, ...] = (
    MetricDef(
        "avg_margin_coin",
        "Avg margin used",
        "coin",
        "Mean initial margin of open shorts over all steps.",
        False,
        "margin",
    ),
    MetricDef(
        "max_margin_coin",
        "Max margin used",
        "coin",
        "Largest initial margin at a step close.",
        False,
        "margin",
    ),
    MetricDef(
        "avg_margin_pct",
        "Avg margin used %",
        "pct",
        "Mean over steps of margin / equity x 100 (coin).",
        False,
        "margin",
    ),
    MetricDef(
        "max_margin_pct",
        "Max margin used %",
        "pct",
        "Largest margin / equity x 100 at a step close.",
        False,
        "margin",
    ),
)

_OPTIONS: tuple[MetricDef, ...] = (
    MetricDef(
        "short_trades", "Short trades", "count", "Closed round trips opened by selling.", None, "options"
    ),
    MetricDef(
        "premium_collected_coin",
        "Premium collected",
        "coin",
        "Premium received on the opening sales of closed short trades.",
        None,
        "options",
    ),
    MetricDef(
        "premium_captured_pct",
        "Premium captured",
        "pct",
        "Net P&L of closed short trades / their premium collected x 100 (fees included).",
        True,
        "options",
    ),
    MetricDef(
        "expired_trades",
        "Trades held to expiry",
        "count",
        "Closed trades that were settled.",
        None,
        "options",
    ),
    MetricDef(
        "itm_at_expiry_pct",
        "In the money at expiry",
        "pct",
        "Trades settled in the money / trades held to expiry x 100.",
        False,
        "options",
    ),
    MetricDef("roll_count", "Rolls", "count", "Trades closed by a roll.", None, "options"),
    *_money("roll_pnl", "Roll P&L", "Sum of the P&L of trades closed by a roll.", True, "options"),
    MetricDef(
        "vrp_trades",
        "Trades with IV and RV",
        "count",
        "Trades whose entry IV and realised vol over the hold are both known.",
        None,
        "options",
    ),
    MetricDef(
        "vrp_vol_pts",
        "Realised vol risk premium",
        "vol_pts",
        "Mean of (entry mark IV - realised index vol over the hold) x 100, over trades with both known.",
        True,
        "options",
    ),
    MetricDef(
        "max_contracts",
        "Max contracts held",
        "contracts",
        "Largest absolute number of option contracts of this coin held at a step close.",
        None,
        "options",
    ),
)

_ATTRIBUTION: tuple[MetricDef, ...] = tuple(
    MetricDef(
        f"pnl_{part}_usd",
        f"P&L from {part}",
        "usd",
        f"Sum over closed trades of the {part} part of their USD P&L attribution (the parts add up "
        "to net profit in USD).",
        None,
        "attribution",
    )
    for part in ATTRIBUTION_PARTS
)

METRICS: tuple[MetricDef, ...] = _PERFORMANCE + _DRAWDOWN + _TRADES + _MARGIN + _OPTIONS + _ATTRIBUTION
"""Every metric key, in display order."""

METRICS_BY_KEY: Mapping[str, MetricDef] = {m.key: m for m in METRICS}
