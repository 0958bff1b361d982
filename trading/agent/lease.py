"""Single-flight for the agent's tick: a lease row taken with compare-and-set updates.

Whoever takes the lease gets a fencing token one higher than any before. A tick checks that its
token is still the current one right before every order it sends (:func:`lease_is_current`), so a
tick that overran its lease, or a duplicate fire of the schedule, can never submit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from trading.models import AgentLease

TICK_LEASE = "agent-tick"


@dataclass(frozen=True)
class Lease:
    name: str
    token: int
    holder: str
    expires_at: datetime


def lease_acquire(*, name: str = TICK_LEASE, holder: str, now: datetime, ttl: timedelta) -> Lease | None:
    """Take the lease if it is free or expired; ``None`` when someone else holds it."""
    try:
        with transaction.atomic():
            AgentLease.objects.get_or_create(name=name)
    except IntegrityError:  # created concurrently by another process: fine
        pass
    expires = now + ttl
    taken = AgentLease.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__lte=now), name=name).update(
        token=F("token") + 1, holder=holder, acquired_at=now, expires_at=expires
    )
    if taken != 1:
        return None
    row = AgentLease.objects.get(name=name)
    if row.holder != holder:  # pragma: no cover - only if two holders share a name
        return None
    return Lease(name=name, token=row.token, holder=holder, expires_at=expires)


def lease_is_current(*, lease: Lease, now: datetime) -> bool:
    """True while ``lease`` is still held by its holder with its token and has not expired."""
    return AgentLease.objects.filter(
        name=lease.name, token=lease.token, holder=lease.holder, expires_at__gt=now
    ).exists()


def lease_extend(*, lease: Lease, now: datetime, ttl: timedelta) -> Lease | None:
    """Push the expiry out if the lease is still ours; ``None`` when it was lost."""
    expires = now + ttl
    updated = AgentLease.objects.filter(
        name=lease.name, token=lease.token, holder=lease.holder, expires_at__gt=now
    ).update(expires_at=expires)
    if updated != 1:
        return None
    return Lease(name=lease.name, token=lease.token, holder=lease.holder, expires_at=expires)


def lease_release(*, lease: Lease) -> bool:
    """Give the lease back (only if still ours); the token is kept, so it keeps growing."""
    return (
        AgentLease.objects.filter(name=lease.name, token=lease.token, holder=lease.holder).update(
            expires_at=None, holder=""
        )
        == 1
    )
