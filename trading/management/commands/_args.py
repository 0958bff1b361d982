"""Argument parsing shared by the market-data commands."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import CommandError


def parse_day_or_time(text: str, *, end: bool) -> datetime:
    """``2024-01-01`` (the whole day: its start, or its last millisecond when ``end``) or an ISO
    time; naive times are UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                return datetime.combine(day + timedelta(days=1), time.min, UTC) - timedelta(milliseconds=1)
            return datetime.combine(day, time.min, UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
