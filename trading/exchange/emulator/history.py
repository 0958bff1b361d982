"""Candles of the index (USD) and of DVOL (vol points) from a market source, for chart data on
the perpetuals and ``public/get_volatility_index_data``, before the clock's start as well.

A source may offer vectorised ``index_candles``/``dvol_candles(currency, ticks_ms, step_ms,
end_ms)`` (the synthetic one does) and ``history_start_ms(currency)``, the earliest time it has
history for. Other sources are sampled through ``index_price``/``dvol`` at up to
:data:`SAMPLES_PER_CANDLE` evenly spaced times per candle, and have history from their
``start_ms()`` on (a replay: from its first snapshot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.market import MarketSource

__all__ = [
    "CHART_LIMIT",
    "DVOL_PAGE",
    "SAMPLES_PER_CANDLE",
    "CandleRange",
    "candle_range",
    "chart_step_ms",
    "dvol_candles",
    "dvol_step_ms",
    "history_start_ms",
    "index_candles",
]

CHART_LIMIT = 5000  # candles a chart-data answer holds at most (the newest of the range)
DVOL_PAGE = 1000  # candles a DVOL page holds; older ones are reached through ``continuation``
SAMPLES_PER_CANDLE = 25

_CHART_MINUTES = (1, 3, 5, 10, 15, 30, 60, 120, 180, 360, 720)
_DVOL_SECONDS = (1, 60, 3600, 43200)
_DAY_MS = 86_400_000

Candles = Callable[[str, np.ndarray, int, int], np.ndarray]


def chart_step_ms(resolution: str) -> int:
    """``get_tradingview_chart_data`` resolution (minutes or ``1D``) in ms."""
    return _step(resolution, _CHART_MINUTES, 60_000)


def dvol_step_ms(resolution: str) -> int:
    """``get_volatility_index_data`` resolution (seconds or ``1D``) in ms."""
    return _step(resolution, _DVOL_SECONDS, 1000)


def _step(resolution: str, allowed: tuple[int, ...], unit_ms: int) -> int:
    if resolution == "1D":
        return _DAY_MS
    if not resolution.isdigit() or int(resolution) not in allowed:
        raise RpcError.invalid_param("resolution", "unsupported resolution")
    return int(resolution) * unit_ms


def history_start_ms(source: MarketSource, currency: str) -> int:
    """The earliest time ``source`` has index and DVOL history for (ms)."""
    own = getattr(source, "history_start_ms", None)
    if own is not None:
        return int(own(currency))
    start = source.start_ms()
    return int(start) if start is not None else 0


@dataclass(frozen=True, slots=True)
class CandleRange:
    """Candle open times (ms, multiples of ``step_ms``, oldest first) and the last time served."""

    ticks: np.ndarray
    step_ms: int
    end_ms: int
    older: bool  # whether candles of the asked range were left out before ``ticks[0]``


def candle_range(
    *, start_ms: int, end_ms: int, step_ms: int, now_ms: int, first_ms: int, limit: int
) -> CandleRange:
    """Candles opening in ``[start_ms, end_ms]``, not after ``now_ms`` nor before ``first_ms``
    (the history's start), at most the newest ``limit`` of them."""
    end = min(end_ms, now_ms)
    first = -(-max(start_ms, first_ms) // step_ms) * step_ms
    last = end // step_ms * step_ms
    count = max(0, (last - first) // step_ms + 1)
    kept = min(count, limit)
    ticks = last - step_ms * np.arange(kept - 1, -1, -1, dtype=np.int64)
    return CandleRange(ticks=ticks, step_ms=step_ms, end_ms=end, older=count > kept)


def _sampled(value: Callable[[str, int], float]) -> Candles:
    def candles(currency: str, ticks: np.ndarray, step_ms: int, end_ms: int) -> np.ndarray:
        out = np.empty((len(ticks), 4))
        for i, tick in enumerate(ticks.tolist()):
            stop = min(tick + step_ms - 1, end_ms)
            n = max(2, min(SAMPLES_PER_CANDLE, (stop - tick) // 60_000 + 2))
            values = [value(currency, int(t)) for t in np.linspace(tick, stop, n).round()]
            out[i] = (values[0], max(values), min(values), values[-1])
        return out

    return candles


def index_candles(source: MarketSource, currency: str, span: CandleRange) -> np.ndarray:
    """Index OHLC (USD), shape (len(span.ticks), 4)."""
    own: Candles = getattr(source, "index_candles", None) or _sampled(source.index_price)
    return own(currency, span.ticks, span.step_ms, span.end_ms)


def dvol_candles(source: MarketSource, currency: str, span: CandleRange) -> np.ndarray:
    """DVOL OHLC (vol points), shape (len(span.ticks), 4)."""
    own: Candles = getattr(source, "dvol_candles", None) or _sampled(source.dvol)
    return own(currency, span.ticks, span.step_ms, span.end_ms)
