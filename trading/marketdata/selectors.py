"""Reads of the ``MarketSnapshot`` table."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from trading.models import MarketSnapshot

__all__ = ["market_snapshot_latest", "market_snapshots_between"]


def market_snapshot_latest(*, currency: str, usable_only: bool = False) -> MarketSnapshot | None:
    """The newest snapshot of ``currency`` (only those without problems if ``usable_only``)."""
    qs = MarketSnapshot.objects.filter(currency=currency.upper())
    if usable_only:
        qs = qs.filter(quality_ok=True)
    return qs.order_by("-taken_at").first()


def market_snapshots_between(*, currency: str, start: datetime, end: datetime) -> QuerySet[MarketSnapshot]:
    """Snapshots of ``currency`` taken in [start, end], oldest first (rows loaded lazily)."""
    return (
        MarketSnapshot.objects.filter(currency=currency.upper(), taken_at__gte=start, taken_at__lte=end)
        .defer("rows")
        .order_by("taken_at")
    )
