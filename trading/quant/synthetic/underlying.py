"""Seeded synthetic index history for offline work: OHLC bars at any bar length."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from trading.quant.synthetic.config import UnderlyingConfig

SECONDS_PER_YEAR = 365.0 * 86400.0


def _ar1(shocks: np.ndarray, phi: float) -> np.ndarray:
    """x_t = phi·x_{t-1} + shock_t along axis 0, from x_{-1} = 0 (vectorised, no Python loop)."""
    return np.asarray(lfilter([1.0], [1.0, -phi], shocks, axis=0), dtype=np.float64)


def simulate_underlying(
    *,
    start: datetime,
    n_bars: int,
    bar: timedelta | str = "1h",
    config: UnderlyingConfig | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """OHLC bars of a simulated index (USD), deterministic for a given seed.

    Returns a frame indexed by bar open time (UTC) with ``open, high, low, close`` and ``vol``,
    the model's instantaneous annualised volatility at the bar's close (decimal). High and low
    are taken over ``config.substeps`` points per bar, so they slightly understate the
    continuous-path range. Each bar opens at the previous close (a 24/7 market).
    """
    cfg = config or UnderlyingConfig()
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    if n_bars < 1:
        raise ValueError("n_bars must be >= 1")
    bar_td = pd.Timedelta(bar)
    if bar_td <= pd.Timedelta(0):
        raise ValueError("bar must be positive")
    rng = np.random.default_rng(seed)
    n = n_bars * cfg.substeps
    dt = bar_td.total_seconds() / SECONDS_PER_YEAR / cfg.substeps

    z_vol = rng.standard_normal(n)
    z_px = cfg.spot_vol_corr * z_vol + np.sqrt(1.0 - cfg.spot_vol_corr**2) * rng.standard_normal(n)
    n_jumps = rng.poisson(cfg.jump_intensity * dt, n)
    jump_sizes = cfg.jump_mean * n_jumps + cfg.jump_std * np.sqrt(n_jumps) * rng.standard_normal(n)

    # exact AR(1) discretisation of the log-vol OU process
    phi = float(np.exp(-cfg.vol_mean_reversion * dt))
    if cfg.vol_mean_reversion > 0.0:
        step_sd = cfg.vol_of_vol * np.sqrt((1.0 - phi * phi) / (2.0 * cfg.vol_mean_reversion))
    else:
        step_sd = cfg.vol_of_vol * np.sqrt(dt)
    dev0 = np.log((cfg.vol0 or cfg.vol_long) / cfg.vol_long)
    shocks = step_sd * z_vol
    shocks[0] += phi * dev0
    log_vol = np.log(cfg.vol_long) + _ar1(shocks, phi)
    # the price step uses the vol at the start of the step
    sigma = np.exp(np.concatenate([[np.log(cfg.vol0 or cfg.vol_long)], log_vol[:-1]]))

    jump_comp = cfg.jump_intensity * (np.exp(cfg.jump_mean + 0.5 * cfg.jump_std**2) - 1.0)
    dlog = (cfg.drift - 0.5 * sigma * sigma - jump_comp) * dt + sigma * np.sqrt(dt) * z_px + jump_sizes
    log_path = np.log(cfg.spot0) + np.cumsum(dlog)
    closes = log_path.reshape(n_bars, cfg.substeps)
    opens = np.concatenate([[np.log(cfg.spot0)], closes[:-1, -1]])
    highs = np.maximum(opens, closes.max(axis=1))
    lows = np.minimum(opens, closes.min(axis=1))
    index = pd.date_range(
        pd.Timestamp(start).tz_convert("UTC"), periods=n_bars, freq=bar_td, name="timestamp", unit="ns"
    )
    return pd.DataFrame(
        {
            "open": np.exp(opens),
            "high": np.exp(highs),
            "low": np.exp(lows),
            "close": np.exp(closes[:, -1]),
            "vol": np.exp(log_vol.reshape(n_bars, cfg.substeps)[:, -1]),
        },
        index=index,
    )
