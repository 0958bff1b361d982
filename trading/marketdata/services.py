"""Market data with Django: the exchange the settings point at, the ``MarketSnapshot`` table, and
the harvester's run. The pure parts live in the sibling modules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
from asgiref.sync import sync_to_async
from django.conf import settings

from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig
from trading.marketdata.fetch import ChainSnapshot, chain_snapshot_fetch
from trading.marketdata.frame import frame_to_parquet_bytes
from trading.marketdata.harvester import HarvestReport, chains_harvest, run_sync
from trading.marketdata.history import DEFAULT_PAGE_CANDLES, PageHook, history_fetch, history_write
from trading.models import MarketSnapshot
from trading.services.exchange import exchange_client_config

__all__ = [
    "chains_dir",
    "chains_harvest_run",
    "harvest_dir",
    "history_dir",
    "history_fetch_run",
    "market_snapshot_prune",
    "market_snapshot_record",
    "market_snapshot_take",
    "market_snapshot_take_sync",
    "tardis_dir",
]


def harvest_dir() -> Path:
    """Where the harvester records snapshots: ``<data dir>/harvest``."""
    return Path(settings.DATA_DIR) / "harvest"


def chains_dir() -> Path:
    """Where ``import_chain`` puts imported snapshots by default: ``<data dir>/chains``."""
    return Path(settings.DATA_DIR) / "chains"


def history_dir() -> Path:
    """Where ``fetch_history`` saves index and DVOL candles by default: ``<data dir>/history``."""
    return Path(settings.DATA_DIR) / "history"


def tardis_dir() -> Path:
    """Where downloaded Tardis files go by default: ``<data dir>/tardis``."""
    return Path(settings.DATA_DIR) / "tardis"


def _decimal(value: float | None, places: int) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, places)))


def market_snapshot_record(
    *,
    snapshot: ChainSnapshot,
    history: tuple[float | None, float | None, float | None] | None = None,
) -> MarketSnapshot:
    """Store a taken snapshot (rows as compressed Parquet) and return the row.

    ``history`` is what a tick used besides the chain: (realised vol, DVOL a day earlier, 30-day
    index high), each ``None`` when unknown; stored so a backtest can replay the tick exactly.
    """
    rows = frame_to_parquet_bytes(snapshot.frame)
    rv, dvol_before, index_high = history if history is not None else (None, None, None)
    return MarketSnapshot.objects.create(
        history_known=history is not None,
        realized_vol=rv,
        dvol_before=dvol_before,
        index_high=index_high,
        currency=snapshot.currency,
        taken_at=snapshot.taken_at,
        data_timestamp=snapshot.timestamp,
        source=snapshot.source,
        environment=snapshot.environment,
        index_price=_decimal(snapshot.index_price, 8),
        dvol=_decimal(snapshot.dvol, 4),
        row_count=snapshot.row_count,
        quality_ok=snapshot.quality.ok,
        problems=list(snapshot.quality.problems),
        warnings=list(snapshot.quality.warnings),
        rows_format=MarketSnapshot.RowsFormat.PARQUET,
        rows=rows,
        rows_sha256=hashlib.sha256(rows).hexdigest(),
    )


async def market_snapshot_take(*, client: DeribitClient, currency: str, now: datetime) -> MarketSnapshot:
    """Fetch ``currency``'s chain, index and DVOL once, judge them at ``now`` and store the result.

    Thresholds come from ``MARKET_SNAPSHOT_MAX_AGE_SECONDS`` and ``MARKET_SNAPSHOT_MIN_INSTRUMENTS``.
    Raises :class:`~trading.exchange.errors.ExchangeError` when the chain itself cannot be read.
    """
    snapshot = await chain_snapshot_fetch(
        client=client,
        currency=currency,
        now=now,
        max_age_s=float(settings.MARKET_SNAPSHOT_MAX_AGE_SECONDS),
        min_instruments=settings.MARKET_SNAPSHOT_MIN_INSTRUMENTS,
    )
    return await sync_to_async(market_snapshot_record)(snapshot=snapshot)


def market_snapshot_take_sync(
    *, currency: str, now: datetime | None = None, config: ClientConfig | None = None
) -> MarketSnapshot:
    """:func:`market_snapshot_take` for synchronous callers (Celery), with a client of its own."""

    async def fetch() -> ChainSnapshot:
        async with DeribitClient(config or exchange_client_config(authenticated=False)) as client:
            return await chain_snapshot_fetch(
                client=client,
                currency=currency,
                now=now or datetime.now(UTC),
                max_age_s=float(settings.MARKET_SNAPSHOT_MAX_AGE_SECONDS),
                min_instruments=settings.MARKET_SNAPSHOT_MIN_INSTRUMENTS,
            )

    return market_snapshot_record(snapshot=run_sync(fetch()))


def market_snapshot_prune(*, older_than: datetime) -> int:
    """Drop the rows (not the summary) of snapshots taken before ``older_than``; returns how many.

    Idempotent. The summary stays so decisions that point at a snapshot keep their reference.
    """
    return MarketSnapshot.objects.filter(
        taken_at__lt=older_than, rows_format=MarketSnapshot.RowsFormat.PARQUET
    ).update(rows=b"", rows_format=MarketSnapshot.RowsFormat.PRUNED)


def chains_harvest_run(
    *,
    now: datetime | None = None,
    currencies: list[str] | None = None,
    root: Path | None = None,
    config: ClientConfig | None = None,
) -> HarvestReport:
    """One harvester run against the exchange the settings name, into ``<data dir>/harvest``."""
    return chains_harvest(
        config=config or exchange_client_config(authenticated=False),
        currencies=currencies or list(settings.HARVEST_CURRENCIES),
        root=root or harvest_dir(),
        now=now,
        max_age_s=float(settings.MARKET_SNAPSHOT_MAX_AGE_SECONDS),
        min_instruments=settings.MARKET_SNAPSHOT_MIN_INSTRUMENTS,
    )


def history_fetch_run(
    *,
    currency: str,
    start: datetime,
    end: datetime,
    resolution: str = "60",
    instrument_name: str | None = None,
    out: Path | None = None,
    config: ClientConfig | None = None,
    page_candles: int = DEFAULT_PAGE_CANDLES,
    on_page: PageHook | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Fetch index (perpetual) and DVOL candles from the exchange the settings name and save them.

    ``out`` defaults to ``<data dir>/history/{CUR}_{instrument}_{resolution}_{start}_{end}.parquet``.
    """
    instrument = instrument_name or f"{currency.upper()}-PERPETUAL"

    async def fetch() -> pd.DataFrame:
        async with DeribitClient(config or exchange_client_config(authenticated=False)) as client:
            return await history_fetch(
                client=client,
                currency=currency,
                start=start,
                end=end,
                resolution=resolution,
                instrument_name=instrument,
                page_candles=page_candles,
                on_page=on_page,
            )

    frame = run_sync(fetch())
    path = out or history_dir() / (
        f"{currency.upper()}_{instrument}_{resolution}_{start:%Y%m%d}_{end:%Y%m%d}.parquet"
    )
    return history_write(frame, path), frame
