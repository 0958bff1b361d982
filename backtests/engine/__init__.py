"""The backtest engine: the live decision round replayed over recorded or synthetic snapshots."""

from backtests.engine.book import Book
from backtests.engine.fills import REAL_QUOTE, SETTLEMENT, FillModel, FillPrice, Trade
from backtests.engine.loop import (
    BacktestConfig,
    BacktestResult,
    EquityPoint,
    Step,
    Unfilled,
    run_backtest,
    steps_from_frames,
)

__all__ = [
    "REAL_QUOTE",
    "SETTLEMENT",
    "BacktestConfig",
    "BacktestResult",
    "Book",
    "EquityPoint",
    "FillModel",
    "FillPrice",
    "Step",
    "Trade",
    "Unfilled",
    "run_backtest",
    "steps_from_frames",
]
