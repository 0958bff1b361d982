"""The one place that turns a resolved spec into a finished backtest: source, engine, metrics, rows.

Used by the Celery task (through ``backtests.services``) and by ``manage.py backtest``, so both
give the same numbers for the same spec. Pure apart from reading the market source and calling
the two callbacks; no database access.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backtests.engine import BacktestResult, Trade, run_backtest
from backtests.metrics import compute_metrics, equity_curve, trade_rows
from backtests.sources import SourceError, SourceKind, open_source
from backtests.sources.base import existing_path
from backtests.sources.spec import SourceSpec
from backtests.spec import ResolvedBacktest, SpecError
from trading.quant.synthetic import SyntheticChainConfig

MAX_EQUITY_POINTS = 2000
LISTING_MARGIN_DAYS = 2.0
"""Synthetic chains list expiries up to the strategies' largest ``dte_max`` plus this margin."""
"""Equity rows kept per run (picked evenly, keeping the extremes; see ``equity_curve``)."""

ProgressCallback = Callable[[int, int, datetime | None], None]
"""Called with the steps done, the steps in all, and the time of the last step done."""
CancelCheck = Callable[[], bool]
"""Returns ``True`` when the run should stop after the current step."""

Json = dict[str, Any]


@dataclass(frozen=True)
class RunOutput:
    result: BacktestResult
    metrics: Json
    """``backtests.metrics.compute_metrics``: what the API stores and ``--json`` prints."""
    equity: list[Json]
    """``backtests.metrics.equity_curve`` rows, at most about :data:`MAX_EQUITY_POINTS`."""
    round_trips: list[Json]
    """``backtests.metrics.trade_rows``: completed positions."""
    fills: list[Json]
    """Every fill and settlement (:func:`fill_row`)."""
    decisions: Json
    """What was proposed and refused, counted (``backtests.engine.DecisionTally``)."""
    total_steps: int
    done_steps: int
    source_description: str
    provenance: str

    @property
    def cancelled(self) -> bool:
        return self.result.cancelled


def _plain(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def fill_row(trade: Trade) -> Json:
    """One fill as a JSON row: amounts in contracts, prices and fees in coin, the index in USD."""
    return {
        "at": trade.at.isoformat(),
        "strategy": trade.strategy,
        "currency": trade.currency,
        "instrument_name": trade.instrument_name,
        "side": trade.side.value,
        "kind": trade.kind,
        "size_contracts": _plain(trade.size_contracts),
        "price_coin": _plain(trade.price_coin),
        "fee_coin": _plain(trade.fee_coin),
        "index_price_usd": _plain(trade.index_price_usd),
        "provenance": trade.provenance,
    }


def calibrated_chain_bases(calibration: dict[str, Any]) -> dict[str, SyntheticChainConfig]:
    """Per currency, the synthetic chain model with the stored calibrated parameters applied."""
    from backtests.calibration import CalibrationParams

    return {
        c: CalibrationParams.model_validate(entry["parameters"]).chain_config()
        for c, entry in calibration.items()
    }


def calibration_notes(spec: ResolvedBacktest) -> list[str]:
    """Which calibrated parameters a synthetic run was priced with, in words."""
    if spec.source.kind is not SourceKind.SYNTHETIC:
        return []
    used = ", ".join(f"{c} set #{entry.get('set_id')}" for c, entry in sorted(spec.calibration.items()))
    if not used:
        return ["Priced with the generator's default parameters (no calibrated set in use)."]
    return [f"Priced with the calibrated parameters in use ({used})."]


def source_check(source: SourceSpec, *, prefix: str = "source") -> None:
    """Check ``source`` before a run is queued, or raise :class:`~backtests.spec.SpecError` on
    ``<prefix>.<field>``.

    A synthetic market is opened (quick: its history is generated or read from one file, and the
    range is checked). Recorded chains are only checked to exist: opening reads every raw file,
    which takes seconds to minutes, so the worker does it and a problem fails the run, naming the
    field.
    """
    try:
        if source.kind is SourceKind.FILES:
            existing_path(source)
        else:
            open_source(source)
    except SourceError as exc:
        raise SpecError({f"{prefix}.{exc.field}": [str(exc)]}) from exc


def execute(
    spec: ResolvedBacktest,
    *,
    on_progress: ProgressCallback | None = None,
    is_cancelled: CancelCheck | None = None,
) -> RunOutput:
    """Run ``spec`` to the end (or until ``is_cancelled`` says stop) and compute its results.

    ``on_progress`` is called once the source is open (0 steps done) and after every step; throttle
    in the callback. Raises ``backtests.sources.SourceError`` when the market cannot be read.
    """
    config = spec.engine_config()
    horizon = [float(s.params.dte_max) for s in config.strategies]
    source = open_source(
        spec.source,
        max_dte_days=max(horizon) + LISTING_MARGIN_DAYS if horizon else None,
        chain_bases=calibrated_chain_bases(spec.calibration),
    )
    total = int(source.n_steps)
    done = 0
    if on_progress is not None:
        on_progress(0, total, None)

    def on_step(n: int, at: datetime) -> bool:
        nonlocal done
        done = n
        if on_progress is not None:
            on_progress(n, total, at)
        return not (is_cancelled is not None and is_cancelled())

    result = run_backtest(source, config, on_step=on_step)
    balances = dict(spec.initial_balance_coin)
    return RunOutput(
        result=result,
        metrics=compute_metrics(result, risk_free_rate=spec.risk_free_rate, initial_balance_coin=balances),
        equity=equity_curve(result, max_points=MAX_EQUITY_POINTS, initial_balance_coin=balances),
        round_trips=trade_rows(result),
        fills=[fill_row(t) for t in result.trades],
        decisions=result.decisions.as_json(),
        total_steps=total,
        done_steps=done,
        source_description=" ".join(
            [str(source.description), *map(str, getattr(source, "notes", ())), *calibration_notes(spec)]
        ),
        provenance=str(source.provenance),
    )
