"""The seeded index generator of synthetic backtests: BTC and ETH set up as the exchange emulator
sets them up, each from its own seed derived from the run's seed."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

from backtests.sources.history import FloatArray, PriceHistory
from trading.quant.synthetic import UnderlyingConfig, simulate_underlying

# The two generated coins, as the exchange emulator sets them up
# (``trading.exchange.emulator.sources.synthetic.SyntheticConfig``): the starting index, the
# long-run volatility of the index path and the ATM vol the options are priced at (so option
# sellers earn a volatility risk premium of about 12 %).
GENERATOR_SPOT_USD: dict[str, float] = {"BTC": 90_000.0, "ETH": 3_000.0}
GENERATOR_PATH_VOL: dict[str, float] = {"BTC": 0.40, "ETH": 0.535}
GENERATOR_ATM_VOL: dict[str, float] = {"BTC": 0.45, "ETH": 0.6}

GENERATOR_BLOCK = pd.Timedelta(days=7)
"""The generated path is drawn a week at a time from seeds derived from (seed, currency, week), so
a longer run starts with the same path as a shorter one."""
GENERATOR_BAR = pd.Timedelta(hours=1)
"""The generated path's resolution (finer when a step is not a whole number of hours)."""


def derived_seed(*parts: object) -> int:
    """A 63-bit seed from text parts (stable across runs and platforms)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big") >> 1


def generator_bar(step: pd.Timedelta) -> pd.Timedelta:
    """One hour, or the largest whole number of seconds dividing both the step and an hour."""
    return pd.Timedelta(seconds=math.gcd(int(step.total_seconds()), int(GENERATOR_BAR.total_seconds())))


def generator_history(
    *,
    currency: str,
    seed: int,
    first: pd.Timestamp,
    last: pd.Timestamp,
    bar: pd.Timedelta,
    drift: float = 0.0,
    vol: float | None = None,
) -> PriceHistory:
    """A seeded index path from ``first`` to ``last`` (inclusive) every ``bar``: the price at each
    time is the open of the bar starting then. Same arguments → the same path; a later ``last``
    extends it without changing what came before. ``drift`` is the expected return per year and
    ``vol`` the long-run volatility (decimals; default: the emulator's coin, no trend)."""
    config = UnderlyingConfig(
        spot0=GENERATOR_SPOT_USD[currency],
        vol_long=vol if vol is not None else GENERATOR_PATH_VOL[currency],
        drift=drift,
    )
    n_total = int((last - first) // bar) + 1
    per_block = int(GENERATOR_BLOCK // bar)
    opens: list[FloatArray] = []
    spot, vol = config.spot0, config.vol_long
    for block in range(-(-n_total // per_block)):
        bars = simulate_underlying(
            start=(first + block * per_block * bar).to_pydatetime(),
            n_bars=per_block,
            bar=bar,
            config=config.model_copy(update={"spot0": spot, "vol0": vol}),
            seed=derived_seed(seed, currency, "path", block),
        )
        opens.append(bars["open"].to_numpy(dtype=np.float64))
        spot, vol = float(bars["close"].iloc[-1]), float(bars["vol"].iloc[-1])
    times = first.value + np.arange(n_total, dtype=np.int64) * bar.value
    return PriceHistory(
        currency=currency,
        label=f"a seeded generator (seed {seed})",
        times_ns=times,
        price_usd=np.concatenate(opens)[:n_total],
        bar=bar,
    )
