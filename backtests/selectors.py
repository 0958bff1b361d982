"""Reads of backtest runs and sweeps, and the registry lookup a spec is resolved with."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch, QuerySet

from backtests.jobs import job_run_get, job_run_list
from backtests.models import BacktestRun, BacktestSweep
from backtests.sources.spec import SourceSpec
from backtests.spec import FillSpec, RegistryStrategy, ResolvedBacktest
from trading.models import Strategy
from trading.strategies.params import LogicKind

RESULT_FIELDS = ("equity", "round_trips", "fills")
"""The large result columns, read only by the equity and trades endpoints."""

MAX_COMPARE = 12


def registry_strategy_lookup(name: str) -> RegistryStrategy | None:
    """The registry strategy called ``name`` as a backtest sees it, or ``None``."""
    row = Strategy.objects.filter(name=name).first()
    if row is None:
        return None
    return RegistryStrategy(
        name=row.name,
        logic_kind=row.logic_kind,
        parameters=row.parameters if isinstance(row.parameters, dict) else {},
        underlyings=row.underlyings if isinstance(row.underlyings, list) else [],
        option_types=row.option_types if isinstance(row.option_types, list) else [],
        risk_limits=row.risk_limits if isinstance(row.risk_limits, dict) else {},
        priority=row.priority,
    )


def backtest_run_list(
    *, status: str | None = None, strategy: str | None = None, sweep_id: int | None = None
) -> QuerySet[BacktestRun]:
    """Runs, newest first, without the large result columns."""
    qs = job_run_list(BacktestRun, deferred=RESULT_FIELDS, status=status)
    if strategy:
        qs = qs.filter(strategy_name=strategy)
    if sweep_id is not None:
        qs = qs.filter(sweep_id=sweep_id)
    return qs


def backtest_run_get(*, run_id: int) -> BacktestRun | None:
    return job_run_get(BacktestRun, run_id=run_id)


def backtest_runs_by_ids(*, ids: Sequence[int]) -> tuple[list[BacktestRun], list[int]]:
    """The runs with ``ids`` in that order, and the ids that match no run."""
    found = {r.pk: r for r in BacktestRun.objects.defer(*RESULT_FIELDS).filter(pk__in=ids)}
    return [found[i] for i in ids if i in found], [i for i in ids if i not in found]


def backtest_sweep_list() -> QuerySet[BacktestSweep]:
    """Sweeps, newest first, with their runs (oldest first, without the large result columns)."""
    runs = BacktestRun.objects.defer(*RESULT_FIELDS).select_related("created_by").order_by("id")
    return BacktestSweep.objects.prefetch_related(Prefetch("runs", queryset=runs)).order_by(
        "-created_at", "-id"
    )


def backtest_run_resolved(*, run: BacktestRun) -> ResolvedBacktest:
    """The run's inputs as the runner takes them (validated again: stored JSON is not trusted)."""
    return ResolvedBacktest(
        name=run.name,
        strategy=run.strategy_name or None,
        logic_kind=LogicKind(run.logic_kind),
        parameters=dict(run.parameters),
        underlyings=tuple(run.underlyings),
        option_types=tuple(run.option_types),
        risk_limits=dict(run.risk_limits),
        priority=run.priority,
        source=SourceSpec.model_validate(run.source),
        initial_balance_coin=dict(run.initial_balance_coin),
        fill=FillSpec.model_validate(run.fill),
        risk_free_rate=run.risk_free_rate,
        calibration=dict(run.calibration or {}),
    )
