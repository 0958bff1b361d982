"""Credit buckets (Deribit's rate-limit model) and capped exponential backoff.

Used by the client (to stay under the limits) and by the emulator (to enforce them).
Time and sleep are injectable so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from trading.exchange.config import RetryPolicy

__all__ = ["AsyncCreditLimiter", "Backoff", "CreditBucket"]

SleepFn = Callable[[float], Awaitable[None]]


class CreditBucket:
    """A token bucket holding up to ``capacity`` credits, refilled at ``refill_per_s``."""

    def __init__(
        self, *, capacity: float, refill_per_s: float, time_fn: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity <= 0 or refill_per_s <= 0:
            raise ValueError("capacity and refill_per_s must be positive")
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self._time = time_fn
        self._credits = capacity
        self._stamp = time_fn()

    def _refill(self) -> None:
        now = self._time()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._credits = min(self.capacity, self._credits + elapsed * self.refill_per_s)

    @property
    def credits(self) -> float:
        self._refill()
        return self._credits

    def try_take(self, cost: float) -> bool:
        """Take ``cost`` credits if available; returns whether it did."""
        self._refill()
        if self._credits + 1e-9 >= cost:
            self._credits -= cost
            return True
        return False

    def wait_time(self, cost: float) -> float:
        """Seconds until ``cost`` credits will be available (0 if now)."""
        self._refill()
        missing = cost - self._credits
        return 0.0 if missing <= 1e-9 else missing / self.refill_per_s


class AsyncCreditLimiter:
    """Waits (with the injected ``sleep``) until a request's credits are available."""

    def __init__(self, bucket: CreditBucket, *, cost: float, sleep: SleepFn = asyncio.sleep) -> None:
        self.bucket = bucket
        self.cost = cost
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while not self.bucket.try_take(self.cost):
                await self._sleep(max(self.bucket.wait_time(self.cost), 1e-3))


class Backoff:
    """Delays for retry ``attempt`` (0-based) per a :class:`RetryPolicy`; seeded rng → deterministic."""

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()

    def delay(self, attempt: int, *, rate_limited: bool = False) -> float:
        p = self.policy
        raw = min(p.max_delay_s, p.base_delay_s * (2**attempt))
        jittered = raw * (1.0 - p.jitter + p.jitter * self._rng.random())
        if rate_limited:
            jittered = max(jittered, p.rate_limit_delay_s)
        return jittered
