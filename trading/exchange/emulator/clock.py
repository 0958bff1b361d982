"""Emulator clocks: exchange time in ms since the epoch, injectable so tests control it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["AcceleratedClock", "Clock", "ManualClock", "RealClock", "ms_from_datetime"]


def ms_from_datetime(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware (UTC)")
    return round(value.timestamp() * 1000)


class Clock(Protocol):
    def now_ms(self) -> int: ...


class RealClock:
    """Wall-clock time."""

    speed = 1.0

    def now_ms(self) -> int:
        return int(time.time() * 1000)


class AcceleratedClock:
    """Starts at ``start_ms`` and runs ``speed`` times faster than real time."""

    def __init__(self, start_ms: int, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start_ms = start_ms
        self._speed = speed
        self._t0 = time.monotonic()

    def now_ms(self) -> int:
        return self._start_ms + int((time.monotonic() - self._t0) * 1000 * self._speed)

    @property
    def speed(self) -> float:
        return self._speed


class ManualClock:
    """Moves only when told to (tests)."""

    def __init__(self, start: int | datetime) -> None:
        self._now_ms = ms_from_datetime(start) if isinstance(start, datetime) else int(start)

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now_ms += round(seconds * 1000)
        return self._now_ms

    def set(self, when: int | datetime) -> int:
        target = ms_from_datetime(when) if isinstance(when, datetime) else int(when)
        if target < self._now_ms:
            raise ValueError("a clock does not go backwards")
        self._now_ms = target
        return self._now_ms

    def __repr__(self) -> str:
        return f"ManualClock({datetime.fromtimestamp(self._now_ms / 1000, UTC).isoformat()})"
