"""Take one chain snapshot from Deribit (or the emulator): the "fetch market data once" of a tick.

Three public calls, sent together: ``get_book_summary_by_currency(kind=option)`` (the whole chain
in one response), ``get_index_price`` and the last minute of ``get_volatility_index_data``. No
Django: the result is a plain :class:`ChainSnapshot`; ``trading.marketdata.services`` stores it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from trading.exchange.client import DeribitClient
from trading.exchange.errors import ExchangeError
from trading.exchange.models import BookSummary, IndexPrice, VolatilityIndexData
from trading.marketdata.frame import frame_from_book_summaries
from trading.marketdata.quality import (
    DEFAULT_MAX_AGE_S,
    DEFAULT_MIN_INSTRUMENTS,
    SnapshotQuality,
    snapshot_quality,
)

__all__ = ["ChainSnapshot", "chain_snapshot_fetch", "client_environment"]

_DVOL_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    """One currency's option chain at one time, with its index, DVOL and quality verdict.

    ``timestamp`` is the exchange's time of the data, ``taken_at`` the caller's clock when it was
    taken; ``frame`` is a snapshot frame (:mod:`trading.marketdata.frame`). ``index_price`` is in
    USD, ``dvol`` in vol points; either is None when it could not be read (see ``quality``).
    """

    currency: str
    timestamp: datetime
    taken_at: datetime
    index_price: float | None
    dvol: float | None
    frame: pd.DataFrame
    quality: SnapshotQuality
    source: str = "book_summary"
    environment: str = ""

    @property
    def row_count(self) -> int:
        return len(self.frame)


def client_environment(client: DeribitClient) -> str:
    """``emulator`` when the client talks to a custom base URL (sim mode), else testnet/mainnet."""
    return "emulator" if client.config.base_url else client.config.environment


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


async def chain_snapshot_fetch(
    *,
    client: DeribitClient,
    currency: str,
    now: datetime,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    min_instruments: int = DEFAULT_MIN_INSTRUMENTS,
) -> ChainSnapshot:
    """Fetch ``currency``'s option chain, index and DVOL and judge them at ``now`` (aware UTC).

    A failing book summary raises (:class:`~trading.exchange.errors.ExchangeError`): there is no
    snapshot without it. A failing index or DVOL call is recorded in ``quality`` instead.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    currency = currency.upper()
    now_ms = _ms(now)
    book, index, dvol = await asyncio.gather(
        client.get_book_summary_by_currency(currency=currency, kind="option"),
        client.get_index_price(index_name=f"{currency.lower()}_usd"),
        client.get_volatility_index_data(
            currency=currency,
            start_timestamp=now_ms - int(_DVOL_WINDOW.total_seconds() * 1000),
            end_timestamp=now_ms,
            resolution="60",
        ),
        return_exceptions=True,
    )
    if isinstance(book, BaseException):
        raise book
    summaries: list[BookSummary] = book
    index_price: float | None = None
    index_error: str | None = None
    if isinstance(index, IndexPrice):
        index_price = index.index_price
    elif isinstance(index, ExchangeError):
        index_error = _reason(index)
    elif isinstance(index, BaseException):
        raise index
    dvol_value: float | None = None
    dvol_error: str | None = None
    if isinstance(dvol, VolatilityIndexData):
        if dvol.data:
            dvol_value = max(dvol.data, key=lambda candle: candle[0])[4]
        else:
            dvol_error = "the exchange returned no DVOL candle for the last minutes"
    elif isinstance(dvol, ExchangeError):
        dvol_error = _reason(dvol)
    elif isinstance(dvol, BaseException):
        raise dvol
    if summaries:
        timestamp = datetime.fromtimestamp(max(s.creation_timestamp for s in summaries) / 1000, UTC)
    else:
        timestamp = now.astimezone(UTC)
    frame = frame_from_book_summaries(
        summaries, currency=currency, timestamp=timestamp, index_price=index_price, dvol=dvol_value
    )
    quality = snapshot_quality(
        frame,
        now=now,
        max_age_s=max_age_s,
        min_instruments=min_instruments,
        index_price=index_price,
        index_error=index_error,
        dvol_error=dvol_error,
    )
    return ChainSnapshot(
        currency=currency,
        timestamp=timestamp,
        taken_at=now.astimezone(UTC),
        index_price=index_price,
        dvol=dvol_value,
        frame=frame,
        quality=quality,
        environment=client_environment(client),
    )
