"""The chain harvester: records BTC and ETH option-chain snapshots to Parquet day files, so that a
user builds a dataset over time from public data (no API key).

Each run takes one snapshot per currency (:func:`~trading.marketdata.fetch.chain_snapshot_fetch`)
and merges it into ``{root}/{CURRENCY}/{YYYY-MM-DD}.parquet`` (:mod:`trading.marketdata.store`):
crash-safe, and running twice for the same exchange time stores the snapshot once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig
from trading.exchange.errors import ExchangeError
from trading.marketdata.fetch import chain_snapshot_fetch
from trading.marketdata.frame import SnapshotFrameError
from trading.marketdata.quality import DEFAULT_MAX_AGE_S, DEFAULT_MIN_INSTRUMENTS, SnapshotQuality
from trading.marketdata.store import snapshots_append

__all__ = ["HarvestReport", "HarvestResult", "chains_harvest", "chains_harvest_async", "run_sync"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code (a Celery task, a command)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise RuntimeError("an event loop is running in this thread: await the async function instead")


@dataclass(frozen=True, slots=True)
class HarvestResult:
    """What one currency's harvest did: the file written and the snapshot's quality, or the error."""

    currency: str
    timestamp: datetime | None = None
    rows: int = 0
    path: Path | None = None
    quality: SnapshotQuality | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "rows": self.rows,
            "path": str(self.path) if self.path else None,
            "quality": self.quality.as_dict() if self.quality else None,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class HarvestReport:
    results: list[HarvestResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.error is None for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "results": [r.as_dict() for r in self.results]}


async def _harvest_one(
    *,
    client: DeribitClient,
    currency: str,
    root: Path,
    now: datetime,
    max_age_s: float,
    min_instruments: int,
) -> HarvestResult:
    try:
        snap = await chain_snapshot_fetch(
            client=client, currency=currency, now=now, max_age_s=max_age_s, min_instruments=min_instruments
        )
    except (ExchangeError, SnapshotFrameError) as exc:
        log.warning("harvest %s: no snapshot: %s", currency, exc)
        return HarvestResult(currency=currency, error=f"{type(exc).__name__}: {exc}")
    if not snap.quality.ok:
        log.warning("harvest %s: recorded with problems: %s", currency, snap.quality)
    if snap.frame.empty:
        return HarvestResult(
            currency=currency,
            timestamp=snap.timestamp,
            quality=snap.quality,
            error="empty chain: nothing written",
        )
    try:
        paths = await asyncio.to_thread(snapshots_append, root=root, frame=snap.frame)
    except OSError as exc:
        log.error("harvest %s: cannot write under %s: %s", currency, root, exc)
        return HarvestResult(currency=currency, timestamp=snap.timestamp, error=f"cannot write: {exc}")
    return HarvestResult(
        currency=currency,
        timestamp=snap.timestamp,
        rows=snap.row_count,
        path=paths[0] if paths else None,
        quality=snap.quality,
    )


async def chains_harvest_async(
    *,
    client: DeribitClient,
    currencies: Sequence[str],
    root: Path | str,
    now: datetime,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    min_instruments: int = DEFAULT_MIN_INSTRUMENTS,
) -> HarvestReport:
    """Snapshot each currency (concurrently) and append it to its day file under ``root``.

    One currency failing does not stop the others; its result carries the error.
    """
    results = await asyncio.gather(
        *(
            _harvest_one(
                client=client,
                currency=c.upper(),
                root=Path(root),
                now=now,
                max_age_s=max_age_s,
                min_instruments=min_instruments,
            )
            for c in currencies
        )
    )
    return HarvestReport(results=list(results))


def chains_harvest(
    *,
    config: ClientConfig,
    currencies: Sequence[str],
    root: Path | str,
    now: datetime | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    min_instruments: int = DEFAULT_MIN_INSTRUMENTS,
) -> HarvestReport:
    """Synchronous harvest with a client of its own (for Celery and commands)."""

    async def run() -> HarvestReport:
        async with DeribitClient(config) as client:
            return await chains_harvest_async(
                client=client,
                currencies=currencies,
                root=root,
                now=now or datetime.now(UTC),
                max_age_s=max_age_s,
                min_instruments=min_instruments,
            )

    return run_sync(run())
