"""Small hand-made option-chain snapshots for the calibration tests: a "market" priced by the
synthetic generator with parameters of its own (a higher DVOL scale and a steeper skew than the
generator's defaults), written to a snapshot folder like the harvester's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trading.marketdata.frame import validate_snapshot_frame
from trading.marketdata.store import snapshots_append
from trading.quant.synthetic import SyntheticChainConfig, synthetic_chains

START = pd.Timestamp("2026-01-05T09:00:00Z")
MARKET = {"dvol_scale": 1.2, "skew_short": -0.2, "skew_long": -0.18, "iv_noise": 0.0, "basis_noise": 0.0}
"""How the test market differs from the generator's defaults."""
DVOL = 55.0


def market_snapshots(
    *,
    currency: str = "BTC",
    start: pd.Timestamp = START,
    hours: int = 28,
    max_dte_days: float = 12.0,
    seed: int = 5,
) -> list[pd.DataFrame]:
    """``hours`` hourly snapshot frames of ``currency`` from ``start`` (DVOL 55 throughout)."""
    config = SyntheticChainConfig.model_validate({"currency": currency, **MARKET})
    times = pd.date_range(start, periods=hours, freq="1h", tz="UTC")
    rng = np.random.default_rng(seed)
    spot0 = 60_000.0 if currency == "BTC" else 3_000.0
    index = spot0 * np.exp(np.cumsum(rng.normal(0.0, 0.006, hours)))
    chain = synthetic_chains(
        times, index, config=config, dvol=np.full(hours, DVOL), seed=seed, max_dte_days=max_dte_days
    )
    frames = []
    for i in range(hours):
        t = chain.at(i)
        names = t["instrument_name"].astype(str)
        raw = pd.DataFrame(
            {
                "timestamp": t["timestamp"],
                "instrument_name": names,
                "currency": currency,
                "expiry_datetime": t["expiry"],
                "strike": t["strike"],
                "option_type": t["option_type"],
                "underlying": t["forward"],
                "underlying_index": names.str.rsplit("-", n=2).str[0],
                "index_price": t["index_price"],
                "implied_volatility": t["mark_iv"],
                "mark_price": t["mark_price_coin"],
                "bid_price": t["bid_price_coin"],
                "ask_price": t["ask_price_coin"],
                "mid_price": np.nan,
                "open_interest": t["open_interest"],
                "volume": np.nan,
                "dvol": DVOL,
                "bid_iv": np.nan,  # like a harvested snapshot: the book summary gives no quote IVs
                "ask_iv": np.nan,
                "delta": t["delta"],
                "vega": t["vega"],
            }
        )
        frames.append(validate_snapshot_frame(raw, source_name=f"test market {currency} {i}"))
    return frames


def write_market(root: Path, *, currencies: tuple[str, ...] = ("BTC",), **kwargs: object) -> Path:
    """The snapshots of :func:`market_snapshots` in a snapshot folder at ``root``."""
    for currency in currencies:
        for frame in market_snapshots(currency=currency, **kwargs):  # type: ignore[arg-type]
            snapshots_append(root=root, frame=frame)
    return root
