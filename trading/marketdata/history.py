"""Historical candles from Deribit: the underlying's price (``get_tradingview_chart_data`` on the
perpetual, or any instrument) and DVOL (``get_volatility_index_data``), paged within Deribit's
limits and saved as one table.

Columns of the table: ``timestamp`` (candle open, UTC), ``open, high, low, close`` (the
instrument's price: USD for ``BTC-PERPETUAL``, coin for an option), ``volume`` (contracts) and
``cost`` (USD for the perpetual), then ``dvol_open, dvol_high, dvol_low, dvol_close`` (vol points).
A candle missing on one side is NaN there.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading.exchange.client import DeribitClient
from trading.exchange.errors import ProtocolError
from trading.marketdata.store import atomic_write

__all__ = [
    "HISTORY_COLUMNS",
    "RESOLUTIONS",
    "Resolution",
    "chart_candles_fetch",
    "dvol_candles_fetch",
    "history_fetch",
    "history_read",
    "history_write",
]

PageHook = Callable[[str, int], None]
"""Called after each page with (what, candles in the page), for progress output."""

HISTORY_COLUMNS = (
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "cost",
    "dvol_open",
    "dvol_high",
    "dvol_low",
    "dvol_close",
)


@dataclass(frozen=True, slots=True)
class Resolution:
    """One candle length in both APIs' terms: chart data counts minutes, DVOL seconds."""

    label: str
    chart: str
    dvol: str
    step_ms: int


RESOLUTIONS: dict[str, Resolution] = {
    "1": Resolution("1", "1", "60", 60_000),
    "60": Resolution("60", "60", "3600", 3_600_000),
    "720": Resolution("720", "720", "43200", 43_200_000),
    "1D": Resolution("1D", "1D", "1D", 86_400_000),
}
"""Candle lengths both methods serve: 1 minute, 1 hour, 12 hours, 1 day (``--resolution``)."""

DEFAULT_PAGE_CANDLES = 1000


def _resolution(label: str) -> Resolution:
    try:
        return RESOLUTIONS[label]
    except KeyError:
        raise ValueError(
            f"resolution must be one of {', '.join(RESOLUTIONS)} (minutes or 1D), not {label!r}"
        ) from None


def _utc(ms: pd.Series | list[int] | np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(ms, dtype=np.int64), unit="ms", utc=True)).dt.as_unit("ns")


async def chart_candles_fetch(
    *,
    client: DeribitClient,
    instrument_name: str,
    start_ms: int,
    end_ms: int,
    resolution: str,
    page_candles: int = DEFAULT_PAGE_CANDLES,
    on_page: PageHook | None = None,
) -> pd.DataFrame:
    """OHLC candles of ``instrument_name`` with open times in [start_ms, end_ms], oldest first.

    Asks for at most ``page_candles`` candles a request, walking forward through the range.
    """
    res = _resolution(resolution)
    if page_candles < 1:
        raise ValueError("page_candles must be at least 1")
    window = page_candles * res.step_ms
    pages: list[pd.DataFrame] = []
    start = start_ms
    while start <= end_ms:
        stop = min(start + window - 1, end_ms)
        page = await client.get_tradingview_chart_data(
            instrument_name=instrument_name, start_timestamp=start, end_timestamp=stop, resolution=res.chart
        )
        if page.ticks:
            pages.append(
                pd.DataFrame(
                    {
                        "timestamp": page.ticks,
                        "open": page.open,
                        "high": page.high,
                        "low": page.low,
                        "close": page.close,
                        "volume": page.volume,
                        "cost": page.cost,
                    }
                )
            )
        if on_page is not None:
            on_page(instrument_name, len(page.ticks))
        start = stop + 1
    columns = ["timestamp", "open", "high", "low", "close", "volume", "cost"]
    if not pages:
        return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns}).assign(timestamp=_utc([]))
    out = pd.concat(pages, ignore_index=True).drop_duplicates("timestamp", keep="last")
    out = out[(out["timestamp"] >= start_ms) & (out["timestamp"] <= end_ms)].sort_values("timestamp")
    out["timestamp"] = _utc(out["timestamp"].to_numpy()).to_numpy()
    return out.reset_index(drop=True).loc[:, columns]


async def dvol_candles_fetch(
    *,
    client: DeribitClient,
    currency: str,
    start_ms: int,
    end_ms: int,
    resolution: str,
    on_page: PageHook | None = None,
) -> pd.DataFrame:
    """DVOL candles (vol points) with open times in [start_ms, end_ms], oldest first.

    Deribit answers with the newest candles of the range and a ``continuation`` to pass as the
    next ``end_timestamp``; this follows it until the range is covered.
    """
    res = _resolution(resolution)
    rows: list[list[float]] = []
    end = end_ms
    while True:
        page = await client.get_volatility_index_data(
            currency=currency, start_timestamp=start_ms, end_timestamp=end, resolution=res.dvol
        )
        rows.extend(page.data)
        if on_page is not None:
            on_page(f"DVOL {currency}", len(page.data))
        if page.continuation is None or not page.data or page.continuation < start_ms:
            break
        if page.continuation >= end:
            raise ProtocolError(
                f"get_volatility_index_data: continuation {page.continuation} does not move back from {end}"
            )
        end = page.continuation
    columns = ["timestamp", "dvol_open", "dvol_high", "dvol_low", "dvol_close"]
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    out = pd.DataFrame(arr, columns=columns)
    out = out.drop_duplicates("timestamp", keep="last")
    out = out[(out["timestamp"] >= start_ms) & (out["timestamp"] <= end_ms)].sort_values("timestamp")
    out["timestamp"] = _utc(out["timestamp"].to_numpy(dtype=np.int64)).to_numpy()
    return out.reset_index(drop=True)


async def history_fetch(
    *,
    client: DeribitClient,
    currency: str,
    start: datetime,
    end: datetime,
    resolution: str = "60",
    instrument_name: str | None = None,
    page_candles: int = DEFAULT_PAGE_CANDLES,
    on_page: PageHook | None = None,
) -> pd.DataFrame:
    """Price candles of ``instrument_name`` (default ``{CURRENCY}-PERPETUAL``) and DVOL candles of
    ``currency`` from ``start`` to ``end`` (aware UTC, inclusive), joined on the candle time."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    if end < start:
        raise ValueError("end is before start")
    currency = currency.upper()
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    prices, dvol = await asyncio.gather(
        chart_candles_fetch(
            client=client,
            instrument_name=instrument_name or f"{currency}-PERPETUAL",
            start_ms=start_ms,
            end_ms=end_ms,
            resolution=resolution,
            page_candles=page_candles,
            on_page=on_page,
        ),
        dvol_candles_fetch(
            client=client,
            currency=currency,
            start_ms=start_ms,
            end_ms=end_ms,
            resolution=resolution,
            on_page=on_page,
        ),
    )
    out = prices.merge(dvol, on="timestamp", how="outer").sort_values("timestamp").reset_index(drop=True)
    return out.loc[:, list(HISTORY_COLUMNS)]


def _csv(frame: pd.DataFrame, path: Path) -> bytes:
    text = frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    if path.name.endswith(".gz"):
        import gzip

        return gzip.compress(text.encode(), mtime=0)
    return text.encode()


def history_write(frame: pd.DataFrame, path: Path | str) -> Path:
    """Save a history table crash-safely: Parquet for ``.parquet``, CSV for ``.csv``/``.csv.gz``."""
    path = Path(path)
    if path.suffix == ".parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        data = sink.getvalue()
    elif path.name.endswith((".csv", ".csv.gz")):
        data = _csv(frame, path)
    else:
        raise ValueError(f"{path}: use a .parquet, .csv or .csv.gz file name")

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    atomic_write(path, write)
    return path


def history_read(path: Path | str) -> pd.DataFrame:
    """A table written by :func:`history_write`."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    frame = pd.read_csv(path)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("ns")
    return frame
