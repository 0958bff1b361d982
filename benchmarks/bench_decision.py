"""One decision round (5 strategies x 2 currencies over full chains): strategies, modes, risk.

Run: ``.venv/bin/python -m benchmarks.bench_decision``. Uses the real 2026-02-08 Deribit chains
from ``deribit_data`` when present (``OPTIONSBOT_REAL_DATA`` or ``../shared/deribit_data``), else
synthetic chains of the same size. Decision modes are ``rules`` (an LLM call is network time, not
decision time). Each repeat builds a fresh market view, so per-tick caches are paid every time.
Figures are printed, not asserted; the budget for a round is 50 ms.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime

import pandas as pd

from benchmarks.common import real_data_dir
from trading.decision.round import RoundInputs, decide_round
from trading.quant.candidates import candidate_table, chain_from_snapshot
from trading.risk.engine import review
from trading.risk.killswitch import EquityMarks, KillSwitchInput
from trading.risk.state import RiskState
from trading.strategies.base import AccountView, CurrencyAccount, OptionPosition, StrategyConfig
from trading.strategies.market import CurrencyMarket, MarketSnapshot
from trading.strategies.params import preset
from trading.strategies.regime import RegimeInputs, assess_regime, dvol_proxy

BUDGET_MS = 50.0
REPEATS = 200
SNAPSHOT = "svcj_deribit_snapshots_2025_2026/daily_0915utc/deribit_options_snapshot_20260208T092330Z.csv.gz"


def _chains() -> tuple[pd.DataFrame, str]:
    path = real_data_dir() / SNAPSHOT
    if path.is_file():
        return chain_from_snapshot(pd.read_csv(path)), f"real Deribit chains of {path.name}"
    from trading.quant.synthetic import SyntheticChainConfig, synthetic_chains

    stamps = pd.date_range("2026-03-01 09:00", periods=2, freq="1h", tz="UTC")
    parts = []
    for currency, spot in (("BTC", 70_000.0), ("ETH", 2_100.0)):
        sc = synthetic_chains(
            stamps, [spot, spot], config=SyntheticChainConfig(currency=currency), dvol=[55.0] * 2
        )
        chain = sc.at(1)
        chain["instrument_name"] = chain["instrument_name"].astype(str)
        parts.append(chain)
    return pd.concat(parts, ignore_index=True), "synthetic chains (real data not found)"


def _strategies() -> tuple[StrategyConfig, ...]:
    specs = [
        ("cc_conservative", "covered_call", "conservative"),
        ("cc_moderate", "covered_call", "moderate"),
        ("cc_aggressive", "covered_call", "aggressive"),
        ("cc_weekly", "covered_call", "moderate"),
        ("puts", "cash_secured_put", "moderate"),
    ]
    return tuple(
        StrategyConfig.from_registry(
            name=name,
            logic_kind=kind,
            parameters=preset(kind, profile),
            underlyings=["BTC", "ETH"],
            option_types=["call" if kind == "covered_call" else "put"],
            risk_limits={"max_contracts": 50.0, "max_open_positions": 10, "max_abs_delta": 20.0},
            priority=i,
        )
        for i, (name, kind, profile) in enumerate(specs)
    )


def _positions(
    markets: dict[str, CurrencyMarket], strategies: tuple[StrategyConfig, ...]
) -> tuple[OptionPosition, ...]:
    """Two short options per strategy and currency, spread over the chain, so management runs too."""
    out = []
    for currency, m in markets.items():
        c = m.candidates
        for k, s in enumerate(strategies):
            kind = "put" if s.kind.value == "cash_secured_put" else "call"
            rows = c[(c["option_type"] == kind) & (c["premium_coin"] > 0) & c["dte_days"].between(0.5, 40)]
            for j in (k, k + 7):
                r = rows.iloc[(j * 13) % len(rows)]
                q = m.quote(str(r["instrument_name"]))
                assert q is not None
                size = 0.5 if currency == "BTC" else 5.0
                out.append(
                    OptionPosition(
                        s.name,
                        q.instrument_name,
                        currency,
                        q.option_type,
                        q.strike_usd,
                        q.expiry,
                        -size,
                        float(r["premium_coin"]) * 1.5,
                    )
                )
    return tuple(out)


def _time(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(1000.0 * (time.perf_counter() - t0))
    return out


def _line(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return f"  {name:<44} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   min {ms[0]:7.2f} ms"


def main() -> None:
    chain, source = _chains()
    now: datetime = pd.Timestamp(chain["timestamp"].iloc[0]).to_pydatetime()
    rows = {c: int((chain["currency"] == c).sum()) for c in ("BTC", "ETH")}
    own = {c: chain[chain["currency"] == c].reset_index(drop=True) for c in ("BTC", "ETH")}
    regimes = {}
    for c, ch in own.items():
        dvol = dvol_proxy(ch)
        index = float(ch["index_price"].median())
        regimes[c] = assess_regime(RegimeInputs(c, dvol, dvol, index, index))
    tables = {c: candidate_table(ch, rv=0.45) for c, ch in own.items()}
    index = {c: float(ch["index_price"].median()) for c, ch in own.items()}

    def fresh_market() -> MarketSnapshot:
        return MarketSnapshot(
            {c: CurrencyMarket(c, now, index[c], own[c], tables[c], regimes[c]) for c in own}
        )

    strategies = _strategies()
    positions = _positions(dict(fresh_market().markets), strategies)
    account = AccountView(
        now,
        {
            "BTC": CurrencyAccount("BTC", 20.0, 20.0, 0.5, 0.3),
            "ETH": CurrencyAccount("ETH", 400.0, 400.0, 10.0, 6.0),
        },
    )
    kill = KillSwitchInput(marks={"BTC": EquityMarks(20.0, 20.0), "ETH": EquityMarks(400.0, 400.0)})

    def round_once() -> object:
        return decide_round(RoundInputs(now, fresh_market(), account, positions, strategies, kill))

    def tick_from_chains() -> object:
        for c in own:
            candidate_table(own[c], rv=0.45)
        return round_once()

    result = decide_round(RoundInputs(now, fresh_market(), account, positions, strategies, kill))
    state = RiskState(now, fresh_market(), account, positions, {s.name: s for s in strategies}, kill)
    proposals = result.proposals

    print(f"decision round: {len(strategies)} strategies x 2 currencies, {source}")
    print(
        f"  chain rows: BTC {rows['BTC']}, ETH {rows['ETH']}; positions {len(positions)}; "
        f"proposals per round {len(proposals)} "
        f"({sum(v.approved for v in result.review.verdicts)} approved); repeats {REPEATS}"
    )
    round_ms = _time(round_once, REPEATS)
    print(_line("round: strategies + rules + risk review", round_ms))
    print(_line("risk review alone", _time(lambda: review(state, proposals), REPEATS)))
    print(
        _line(
            "candidate tables (2 currencies)",
            _time(lambda: [candidate_table(own[c], rv=0.45) for c in own], REPEATS // 4),
        )
    )
    print(_line("tick from chains: candidate tables + round", _time(tick_from_chains, REPEATS // 4)))
    per_strategy = [r.elapsed_ms for r in result.runs]
    print("  per strategy (one run, both currencies): " + ", ".join(f"{x:.2f}" for x in per_strategy) + " ms")
    median = statistics.median(round_ms)
    verdict = "within" if median <= BUDGET_MS else "OVER"
    print(
        f"  budget {BUDGET_MS:.0f} ms per round: median {median:.2f} ms is {verdict} budget "
        f"({median / BUDGET_MS:.0%} of it)"
    )


if __name__ == "__main__":
    main()
