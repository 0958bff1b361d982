"""Backtest speed: a covered call over hourly synthetic BTC chains, one and five years.

Run: ``.venv/bin/python -m benchmarks.bench_backtest`` (``--quick`` for a 30-day run only).

Each run goes through the product's own path (``backtests.sources.open_source`` then
``backtests.engine.run_backtest``), single-threaded. Figures:

* the whole run (chain generation + strategies + risk + engine), CPU seconds and wall seconds;
* where the time goes: generating the chains, the decision round (strategies, decision mode,
  risk engine: the live code), and the engine's own overhead (market building, fills, book,
  attribution, equity), per step;
* the ratio to a straightforward per-step reference loop measured in the same run: a chain
  table per step (pandas), ``CurrencyMarket.from_chain``, the same decision round and the same
  book, over the first two weeks of the same market.

Two chain sizes: the full listing (every expiry, ~800 options a step, as the budget is stated)
and the listing the Lab uses for this strategy (expiries up to its ``dte_max`` + 2 days).
Budgets (not asserted): one year <= 5 s, five years <= 30 s, engine overhead <= 200 us a step.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import backtests.engine.loop as loop
from backtests.engine import BacktestConfig, Step, StepChain, run_backtest
from backtests.engine.market import MarketHistory, market_build
from backtests.sources import SourceKind, SourceSpec, open_source
from trading.decision.round import RoundInputs, decide_round
from trading.risk.killswitch import KillSwitchInput
from trading.strategies.base import StrategyConfig
from trading.strategies.params import preset

START = datetime(2021, 1, 1, tzinfo=UTC)
BUDGET_1Y_S = 5.0
BUDGET_5Y_S = 30.0
BUDGET_OVERHEAD_US = 200.0
REFERENCE_DAYS = 14


def _strategy() -> StrategyConfig:
    params = {**preset("covered_call", "moderate"), "min_ivrv": 0.0, "coverage_pct": 50.0}
    return StrategyConfig.from_registry(
        name="covered call",
        logic_kind="covered_call",
        parameters=params,
        underlyings=["BTC"],
        option_types=["call"],
    )


def _spec(days: int) -> SourceSpec:
    return SourceSpec(
        kind=SourceKind.SYNTHETIC, start=START, end=START + timedelta(days=days), step="1h", seed=1
    )


@dataclass
class Timed:
    cpu_s: float = 0.0
    wall_s: float = 0.0
    source_s: float = 0.0
    round_s: float = 0.0
    steps: int = 0
    options: int = 0
    trades: int = 0

    def per_step_us(self, seconds: float) -> float:
        return 1e6 * seconds / max(self.steps, 1)


class _Clocked:
    """Wraps the source: counts the CPU time spent producing steps."""

    def __init__(self, steps: Iterable[Step], timed: Timed) -> None:
        self.steps, self.timed = steps, timed

    def __iter__(self) -> Iterator[Step]:
        it = iter(self.steps)
        while True:
            t0 = time.process_time()
            try:
                step = next(it)
            except StopIteration:
                return
            self.timed.source_s += time.process_time() - t0
            self.timed.steps += 1
            self.timed.options += sum(len(v.chain) for v in step[1].values() if isinstance(v, StepChain))
            yield step


def timed_run(days: int, *, max_dte_days: float | None) -> Timed:
    timed = Timed()
    strategy = _strategy()
    config = BacktestConfig(strategies=(strategy,), initial_balance_coin={"BTC": 1.0}, keep_rounds=False)
    source = open_source(_spec(days), max_dte_days=max_dte_days)
    real_round = loop.decide_round

    def clocked_round(*args: object, **kwargs: object) -> object:
        t0 = time.process_time()
        out = real_round(*args, **kwargs)  # type: ignore[arg-type]
        timed.round_s += time.process_time() - t0
        return out

    loop.decide_round = clocked_round  # type: ignore[assignment]
    try:
        c0, w0 = time.process_time(), time.perf_counter()
        result = run_backtest(_Clocked(source, timed), config)
        timed.cpu_s, timed.wall_s = time.process_time() - c0, time.perf_counter() - w0
    finally:
        loop.decide_round = real_round
    timed.trades = len(result.trades)
    return timed


def reference_per_step_s(max_dte_days: float | None) -> float:
    """CPU seconds a step of the straightforward loop: a pandas chain per step, the same round."""
    from backtests.engine.book import Book
    from trading.strategies.market import CurrencyMarket, MarketSnapshot

    strategy = _strategy()
    book = Book(balances_coin={"BTC": 1.0})
    history = MarketHistory()
    steps = list(open_source(_spec(REFERENCE_DAYS), max_dte_days=max_dte_days))
    t0 = time.process_time()
    for now, items in steps:
        chain = items["BTC"]
        assert isinstance(chain, StepChain)
        table = chain.chain.to_chain()  # a DataFrame every step
        fast = market_build(now=now, frames=items, history=history)  # the regime, as the engine has it
        market = MarketSnapshot(
            {
                "BTC": CurrencyMarket.from_chain(
                    table, currency="BTC", observed_at=now, regime=fast.markets["BTC"].regime, rv=chain.rv
                )
            }
        )
        book.update_marks(market, now)
        decide_round(
            RoundInputs(
                now=now,
                market=market,
                account=book.account(now),
                positions=book.position_tuple(),
                strategies=(strategy,),
                kill_switch=KillSwitchInput(marks={}),
            )
        )
    return (time.process_time() - t0) / len(steps)


def _report(label: str, t: Timed, budget_s: float | None) -> None:
    engine_s = t.cpu_s - t.source_s - t.round_s
    verdict = "" if budget_s is None else (" within" if t.cpu_s <= budget_s else " OVER") + f" {budget_s:g} s"
    print(
        f"  {label}: {t.steps} steps, {t.options / max(t.steps, 1):.0f} options a step, {t.trades} fills\n"
        f"    total {t.cpu_s:.2f} s CPU ({t.wall_s:.2f} s wall){verdict}\n"
        f"    chains {t.source_s:.2f} s ({t.per_step_us(t.source_s):.0f} us/step), "
        f"decision round {t.round_s:.2f} s ({t.per_step_us(t.round_s):.0f} us/step), "
        f"engine overhead {engine_s:.2f} s ({t.per_step_us(engine_s):.0f} us/step, "
        f"budget {BUDGET_OVERHEAD_US:g})"
    )


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    horizon = float(_strategy().params.dte_max) + 2.0
    print(f"covered call (moderate preset, 50 % coverage), hourly synthetic BTC chains from {START:%Y-%m-%d}")
    listings = (("full listing", None), (f"expiries <= {horizon:g} days (as the Lab runs it)", horizon))
    for label, cap in listings:
        print(f"{label}:")
        ref = reference_per_step_s(cap)
        if quick:
            t = timed_run(30, max_dte_days=cap)
            _report("30 days", t, None)
        else:
            t = timed_run(365, max_dte_days=cap)
            _report("1 year", t, BUDGET_1Y_S)
        ours = (t.cpu_s - t.source_s) / max(t.steps, 1)
        print(
            f"    reference loop (pandas chain per step): {1e6 * ref:.0f} us/step without chain "
            f"generation; ours {1e6 * ours:.0f} us/step: {ref / ours:.1f}x faster"
        )
        if not quick:
            t5 = timed_run(5 * 365, max_dte_days=cap)
            _report("5 years", t5, BUDGET_5Y_S)


if __name__ == "__main__":
    main(sys.argv[1:])
