"""Backtest specs and rows for the job, API and command tests: small synthetic markets (days at 1h)."""

from __future__ import annotations

import copy
from typing import Any

import factory

from backtests.calibration import CalibrationParams
from backtests.models import BacktestRun, BacktestSweep, CalibrationParamSet, CalibrationRun
from trading.strategies.params import preset

SOURCE: dict[str, Any] = {
    "kind": "synthetic",
    "start": "2024-03-01T00:00:00Z",
    "end": "2024-03-03T00:00:00Z",
    "step": "1h",
    "currencies": ["BTC"],
    "seed": 7,
    "history": "generator",
    "data_path": None,
}


def spec_body(**overrides: Any) -> dict[str, Any]:
    """An API body: an ad-hoc covered call over two synthetic days, at 1h."""
    body: dict[str, Any] = {
        "name": "two synthetic days",
        "strategy": None,
        "logic_kind": "covered_call",
        "parameters": {"min_ivrv": 0.0, "min_open_interest": 0.0},
        "source": copy.deepcopy(SOURCE),
        "fill": {"price": "touch", "slippage_pct": 0.0},
        "risk_free_rate": 0.0,
    }
    for key, value in overrides.items():
        if key == "source":
            body["source"].update(value)
        else:
            body[key] = value
    return body


class BacktestSweepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BacktestSweep

    name = factory.Sequence(lambda n: f"sweep {n}")
    base_spec = factory.LazyFunction(spec_body)
    grid = factory.LazyFunction(lambda: {"delta_max": [0.2, 0.3]})


class BacktestRunFactory(factory.django.DjangoModelFactory):
    """A queued run of :func:`spec_body` (its resolved form)."""

    class Meta:
        model = BacktestRun

    name = factory.Sequence(lambda n: f"run {n}")
    strategy_name = ""
    logic_kind = "covered_call"
    parameters = factory.LazyFunction(
        lambda: {**preset("covered_call", "conservative"), "min_ivrv": 0.0, "min_open_interest": 0.0}
    )
    underlyings = factory.LazyFunction(lambda: ["BTC"])
    option_types = factory.LazyFunction(lambda: ["call"])
    risk_limits = factory.LazyFunction(dict)
    source = factory.LazyFunction(lambda: copy.deepcopy(SOURCE))
    initial_balance_coin = factory.LazyFunction(lambda: {"BTC": 1.0})
    fill = factory.LazyFunction(lambda: {"price": "touch", "slippage_pct": 0.0})
    seed = 7
    status = BacktestRun.Status.QUEUED


class CalibrationRunFactory(factory.django.DjangoModelFactory):
    """A queued measurement of the parameters in use on a live BTC snapshot."""

    class Meta:
        model = CalibrationRun

    name = factory.Sequence(lambda n: f"calibration {n}")
    source = CalibrationRun.Source.LIVE
    currencies = factory.LazyFunction(lambda: ["BTC"])
    status = CalibrationRun.Status.QUEUED


class CalibrationParamSetFactory(factory.django.DjangoModelFactory):
    """A proposed BTC set: the generator's defaults with a steeper skew."""

    class Meta:
        model = CalibrationParamSet

    currency = "BTC"
    parameters = factory.LazyFunction(
        lambda: {**CalibrationParams.default("BTC").model_dump(mode="json"), "skew_short": -0.2}
    )
    status = CalibrationParamSet.Status.PROPOSED
    verdict = factory.LazyFunction(
        lambda: {"passed": False, "checks": [], "summary": "Not put in use automatically: made by a test."}
    )
