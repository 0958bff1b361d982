"""Replay what the live agent saw: its stored market snapshots as backtest steps.

Each tick stored one ``trading.models.MarketSnapshot`` per currency with the daily history it used
(realised vol, DVOL a day earlier, the 30-day high). A step per tick time holds the currencies whose
snapshot passed its quality checks, as the tick's market did; snapshots whose rows were pruned are
left out. Expiries the agent settled are settled at their recorded delivery prices.
"""

from __future__ import annotations

from datetime import datetime

from backtests.engine import RecordedSnapshot, Step
from trading.models import MarketSnapshot, Position


def recorded_steps(
    *, currencies: tuple[str, ...], start: datetime, end: datetime, environment: str | None = None
) -> list[Step]:
    """The stored snapshots taken in ``[start, end)`` as steps keyed by the tick's time."""
    rows = MarketSnapshot.objects.filter(
        currency__in=currencies,
        taken_at__gte=start,
        taken_at__lt=end,
        quality_ok=True,
        rows_format=MarketSnapshot.RowsFormat.PARQUET,
    ).order_by("taken_at", "currency", "pk")
    if environment is not None:
        rows = rows.filter(environment=environment)
    by_time: dict[datetime, dict[str, RecordedSnapshot]] = {}
    for row in rows.iterator():
        by_time.setdefault(row.taken_at, {})[row.currency] = RecordedSnapshot(
            frame=row.frame(),
            observed_at=row.data_timestamp,
            rv=row.realized_vol,
            dvol_before=row.dvol_before,
            index_high_usd=row.index_high,
            history_known=row.history_known,
        )
    return [(t, by_time[t]) for t in sorted(by_time)]


def recorded_delivery_prices(*, currencies: tuple[str, ...]) -> dict[tuple[str, datetime], float]:
    """Delivery prices the agent settled positions at, by (currency, expiry)."""
    out: dict[tuple[str, datetime], float] = {}
    for p in Position.objects.filter(currency__in=currencies, delivery_price_usd__isnull=False):
        if p.delivery_price_usd is not None:
            out[(p.currency, p.expiry)] = float(p.delivery_price_usd)
    return out
