"""One agent tick on a full real BTC chain, and a year of synthetic hourly chains.

Run: ``.venv/bin/python -m benchmarks.bench_chain`` (reads the real data from
``OPTIONSBOT_REAL_DATA`` or ``../shared/deribit_data``). Timings are wall-clock medians of
repeated runs after a warm-up (numba compilation excluded).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from benchmarks.common import median_ms, real_data_dir
from trading.quant import black76, svi
from trading.quant.candidates import candidate_table, chain_from_snapshot
from trading.quant.implied_vol import implied_vol
from trading.quant.synthetic import iter_synthetic_chains, simulate_underlying, synthetic_chains

TICK_BUDGET_MS = 50.0
SNAPSHOT = "svcj_deribit_snapshots_2025_2026/daily_0915utc/deribit_options_snapshot_20260218T093905Z.csv.gz"


def bench_tick(snapshot: pd.DataFrame) -> None:
    """IV of every option (mark, bid, ask), greeks, SVI refit of all expiries, candidate table."""
    btc = snapshot[snapshot["currency"] == "BTC"].reset_index(drop=True)
    chain = chain_from_snapshot(btc)
    fwd = chain["forward"].to_numpy()
    strike = chain["strike"].to_numpy()
    t = chain["t_years"].to_numpy()
    is_call = (chain["option_type"] == "call").to_numpy()
    prices = np.concatenate(
        [
            chain["mark_price_coin"].to_numpy(),
            chain["bid_price_coin"].to_numpy(),
            chain["ask_price_coin"].to_numpy(),
        ]
    )
    expiries = np.sort(chain["expiry"].unique())
    code = np.searchsorted(expiries, chain["expiry"].to_numpy())
    state: dict[str, svi.SviFit] = {}

    def ivs() -> np.ndarray:
        return implied_vol(
            prices, np.tile(fwd, 3), np.tile(strike, 3), np.tile(t, 3), np.tile(is_call, 3), unit="coin"
        ).iv

    def greeks() -> black76.Black76Result:
        return black76.price_and_greeks(fwd, strike, t, chain["mark_iv"].to_numpy(), is_call, backend="numba")

    def points() -> svi.SmilePoints:
        return svi.smile_points(
            expiry_code=code,
            t_years=t,
            strike=strike,
            forward=fwd,
            is_call=is_call,
            bid_iv=chain["bid_iv"].to_numpy(),
            ask_iv=chain["ask_iv"].to_numpy(),
        )

    pts = points()

    def fit_cold() -> svi.SviFit:
        state["fit"] = svi.fit_smile_points(pts)
        return state["fit"]

    def fit_warm() -> svi.SviFit:
        return svi.fit_smile_points(pts, initial=state["fit"].params)

    def table() -> pd.DataFrame:
        return candidate_table(chain, rv=0.45)

    def tick() -> None:
        ivs()
        greeks()
        svi.fit_smile_points(points(), initial=state["fit"].params)
        table()

    fit = fit_cold()
    parts = {
        "implied vol x3 (mark, bid, ask)": median_ms(ivs),
        "greeks (numba)": median_ms(greeks),
        "smile points": median_ms(points),
        "SVI refit, cold": median_ms(fit_cold),
        "SVI refit, warm": median_ms(fit_warm),
        "candidate table": median_ms(table),
    }
    total = median_ms(tick)
    print(
        f"tick on a real BTC chain: {len(chain)} options, {len(expiries)} expiries, "
        f"{len(pts.rows)} fitted strikes"
    )
    for name, ms in parts.items():
        print(f"  {name:32s} {ms:8.2f} ms")
    verdict = "OK" if total <= TICK_BUDGET_MS else "OVER"
    print(f"  {'whole tick (warm SVI)':32s} {total:8.2f} ms   budget {TICK_BUDGET_MS:.0f} ms  {verdict}")
    q = svi.quote_fit(fit.slice_implied_vol(pts.k, pts.slice_id), pts.bid_iv, pts.ask_iv)
    rmse_pts = np.median(fit.rmse_iv[fit.ok]) * 100
    print(
        f"  SVI inside bid/ask on {q.inside_fraction:.1%} of {q.n_two_sided} two-sided strikes, "
        f"median slice RMSE {rmse_pts:.2f} vol points"
    )


def bench_synthetic_year() -> None:
    """A year of hourly BTC chains along a simulated path."""
    path = simulate_underlying(start=datetime(2025, 1, 1, tzinfo=UTC), n_bars=24 * 365, seed=1)
    idx, close = pd.DatetimeIndex(path.index), path["close"].to_numpy()
    synthetic_chains(idx[:30], close[:30], seed=2)  # warm-up: numba compilation
    print(f"synthetic year: {len(path)} hourly steps")
    for quote_ivs in (False, True):
        t0 = time.perf_counter()
        rows = 0
        for batch in iter_synthetic_chains(idx, close, seed=2, quote_ivs=quote_ivs):
            rows += len(batch)
        streamed = time.perf_counter() - t0
        label = "with bid/ask IVs" if quote_ivs else "without bid/ask IVs"
        print(
            f"  streamed by day, {label:20s} {streamed:6.2f} s  {rows:,} rows "
            f"({rows / len(path):.0f} options per step, {streamed / rows * 1e9:.0f} ns per row)"
        )
    t0 = time.perf_counter()
    chain = synthetic_chains(idx, close, seed=2, quote_ivs=True)
    print(
        f"  one SyntheticChain in memory, with bid/ask IVs: {time.perf_counter() - t0:6.2f} s, "
        f"{len(chain):,} rows"
    )


def main() -> None:
    path = real_data_dir() / SNAPSHOT
    if path.exists():
        bench_tick(pd.read_csv(path))
    else:
        print(f"real snapshot not found at {path}: set OPTIONSBOT_REAL_DATA; tick benchmark skipped")
    bench_synthetic_year()


if __name__ == "__main__":
    main()
