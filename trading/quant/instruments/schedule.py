"""Which option expiries Deribit lists at a given moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from trading.quant.instruments.names import EXPIRY_TIME_UTC

ExpiryKind = Literal["daily", "weekly", "monthly", "quarterly"]


def _at_expiry_time(d: date) -> datetime:
    return datetime.combine(d, EXPIRY_TIME_UTC)


def _last_friday(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    d = nxt - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - 4) % 7)


def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + k
    return idx // 12, idx % 12 + 1


def _series_live(series: list[datetime], now: datetime, count: int, lead: timedelta) -> list[datetime]:
    """Expiries of one series that are listed at ``now``.

    The j-th expiry of a series is listed at (the (j - count)-th expiry) - lead, so ``count``
    expiries are live at any time, plus one more during the ``lead`` before each expiry.
    """
    live = []
    for j, e in enumerate(series):
        if e <= now or j < count:
            continue
        if series[j - count] - lead <= now:
            live.append(e)
    return live


def listed_expiries(
    now: datetime,
    *,
    dailies: int = 4,
    weeklies: int = 3,
    monthlies: int = 3,
    quarterlies: int = 4,
) -> list[datetime]:
    """Expiries (aware UTC datetimes at 08:00, sorted) that Deribit lists for BTC/ETH at ``now``.

    Each series keeps a fixed number of live expiries and lists the next one when one is about to
    expire:

    * dailies, every calendar day: the next ``dailies`` (4) days; the new one is listed at 08:00
      when the nearest expires, so ``D`` is listed at ``D - 4 days``;
    * weeklies, Fridays: ``weeklies`` (3) live, the next listed at 08:00 on the Thursday before
      the nearest one expires (so between Thursday and Friday 08:00 there are 4);
    * monthlies, the last Friday of each month: ``monthlies`` (3) live, the next listed at 08:00
      the day before the nearest expires;
    * quarterlies, the last Friday of March/June/September/December: ``quarterlies`` (4) live,
      the same rule, so they reach about a year out.

    An expiry in several series (a Friday daily, a quarterly that is also a monthly) appears once.

    Checked against every snapshot in ``svcj_deribit_snapshots_2025_2026/daily_0915utc`` (236 days,
    2025-12-30 to 2026-08-22, BTC and ETH): the generated set equals the listed set in 471 of the
    472 (day, currency) chains. The exception is the ETH chain of 2026-06-12, whose collector
    timestamp is 07:59:31, 29 s before an expiry: the rows were fetched after 08:00 (the 12JUN26
    expiry is gone and 16JUN26 is listed), so the schedule for a time after 08:00 matches it.
    Between 2025-12-30 and 2026-08-22 BTC and ETH always had the same expiries.
    """
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass an aware (UTC) time")
    now = now.astimezone(UTC)
    today = now.date()
    out: set[datetime] = set()

    days = [_at_expiry_time(today + timedelta(days=i)) for i in range(-dailies - 2, dailies + 3)]
    out.update(_series_live(days, now, dailies, timedelta(0)))

    first_friday = today - timedelta(days=(today.weekday() - 4) % 7) - timedelta(weeks=weeklies + 1)
    fridays = [_at_expiry_time(first_friday + timedelta(weeks=i)) for i in range(2 * weeklies + 4)]
    out.update(_series_live(fridays, now, weeklies, timedelta(days=1)))

    months = [_add_months(today.year, today.month, k) for k in range(-monthlies - 2, monthlies + 3)]
    monthly = [_at_expiry_time(_last_friday(y, m)) for y, m in months]
    out.update(_series_live(monthly, now, monthlies, timedelta(days=1)))

    quarter_months = [
        (y, m)
        for y, m in (
            _add_months(today.year, today.month, k) for k in range(-3 * quarterlies - 6, 3 * quarterlies + 7)
        )
        if m % 3 == 0
    ]
    quarterly = [_at_expiry_time(_last_friday(y, m)) for y, m in quarter_months]
    out.update(_series_live(quarterly, now, quarterlies, timedelta(days=1)))
    return sorted(out)


def expiry_kind(expiry: datetime | date) -> ExpiryKind:
    """The longest series an expiry date belongs to (quarterly > monthly > weekly > daily)."""
    d = expiry.date() if isinstance(expiry, datetime) else expiry
    if d == _last_friday(d.year, d.month):
        return "quarterly" if d.month % 3 == 0 else "monthly"
    return "weekly" if d.weekday() == 4 else "daily"
