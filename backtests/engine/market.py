"""The strategies' market at one backtest step, built like the live agent's (``trading.agent.market``).

Per currency: ``chain_from_snapshot`` then ``CurrencyMarket.from_chain`` at the snapshot's time and
index. The regime comes from the frame's DVOL when it has one, else from :func:`dvol_proxy` of the
chain. The history the live agent fetches is taken from the steps already seen: DVOL one day ago is
the DVOL of the latest step at least 24 h earlier, the index high is the highest index over the last
30 days (only once an earlier step exists; without history the regime fails to *elevated*, as live).
Realised vol is not known yet (``rv=None``), so IV/RV filters see NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from trading.quant.candidates import chain_from_snapshot
from trading.strategies.market import CurrencyMarket, MarketSnapshot
from trading.strategies.regime import RegimeInputs, assess_regime, dvol_proxy

DVOL_LOOKBACK = timedelta(hours=24)
HIGH_WINDOW = timedelta(days=30)


def _median(frame: pd.DataFrame, column: str) -> float | None:
    if column not in frame.columns:
        return None
    values = frame[column].to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else None


@dataclass
class MarketHistory:
    """(time, DVOL, index) of the steps seen so far, per currency."""

    seen: dict[str, list[tuple[datetime, float | None, float | None]]] = field(default_factory=dict)

    def dvol_before(self, currency: str, now: datetime) -> float | None:
        earlier = [d for t, d, _ in self.seen.get(currency, []) if t <= now - DVOL_LOOKBACK]
        return earlier[-1] if earlier else None

    def index_high(self, currency: str, now: datetime, index_now: float | None) -> float | None:
        window = [i for t, _, i in self.seen.get(currency, []) if t >= now - HIGH_WINDOW and i is not None]
        if not window:
            return None
        return max([*window, *([index_now] if index_now is not None else [])])

    def add(self, currency: str, now: datetime, dvol: float | None, index: float | None) -> None:
        self.seen.setdefault(currency, []).append((now, dvol, index))


def market_build(
    *, now: datetime, frames: Mapping[str, pd.DataFrame], history: MarketHistory
) -> MarketSnapshot:
    """The :class:`MarketSnapshot` of one step; records the step in ``history``."""
    markets: dict[str, CurrencyMarket] = {}
    for currency in sorted(frames):
        frame = frames[currency]
        chain = chain_from_snapshot(frame)
        dvol = _median(frame, "dvol")
        if dvol is None:
            dvol = dvol_proxy(chain)
        index = _median(frame, "index_price")
        regime = assess_regime(
            RegimeInputs(
                currency=currency,
                dvol=dvol,
                dvol_before=history.dvol_before(currency, now),
                index_price_usd=index,
                index_high_usd=history.index_high(currency, now, index),
            )
        )
        history.add(currency, now, dvol, index)
        markets[currency] = CurrencyMarket.from_chain(
            chain,
            currency=currency,
            observed_at=now,
            regime=regime,
            rv=None,
            index_price_usd=index if index is not None else math.nan,
        )
    return MarketSnapshot(markets)
