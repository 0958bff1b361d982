"""The backtest engine: the live decision round replayed over recorded or synthetic snapshots."""

from backtests.engine.book import Book
from backtests.engine.fills import (
    DELIVERY_PRICE,
    INTERPOLATED,
    REAL_QUOTE,
    SETTLEMENT,
    SYNTHETIC_PRICE,
    FillModel,
    FillPrice,
    Trade,
)
from backtests.engine.loop import (
    BacktestConfig,
    BacktestResult,
    EquityPoint,
    Step,
    Unfilled,
    run_backtest,
    steps_from_frames,
)
from backtests.engine.market import RecordedSnapshot, StepChain

__all__ = [
    "DELIVERY_PRICE",
    "INTERPOLATED",
    "REAL_QUOTE",
    "SETTLEMENT",
    "SYNTHETIC_PRICE",
    "BacktestConfig",
    "BacktestResult",
    "Book",
    "EquityPoint",
    "FillModel",
    "FillPrice",
    "RecordedSnapshot",
    "Step",
    "StepChain",
    "Trade",
    "Unfilled",
    "run_backtest",
    "steps_from_frames",
]
