"""A seeded geometric-Brownian index path on a fixed time grid, either side of an origin.

Bucket ``b`` holds the log price at ``origin + b·step``. From the origin forward (``b >= 0``) the
path is the usual GBM; before it (``b < 0``) it is the same GBM run backwards from the origin
price, on its own random stream:
``ln S(b) = ln S(b+1) - (sigma·sqrt(dt)·z - sigma²·dt/2)``. Read forwards in time the past is
then a GBM with the same volatility and drift that ends exactly at the origin price, so the
history before a clock's start joins the path after it without a seam.

Both sides grow lazily by whole blocks of one random stream each, summed block by block, so a
value never depends on which values were asked for before (restarts give the same path).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

__all__ = ["GbmLogPath", "seeded_rng"]

_BLOCK = 4096


def seeded_rng(text: str) -> np.random.Generator:
    """A generator seeded from the SHA-256 of ``text`` (stable across runs and platforms)."""
    digest = hashlib.sha256(text.encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


class _Side:
    """One direction of the path: ``values[k]`` is the log price ``k`` steps away from the origin."""

    def __init__(self, rng: np.random.Generator, log_spot: float, sign: float) -> None:
        self.rng = rng
        self.sign = sign
        self.values = np.array([log_spot])

    def upto(self, k: int, sigma: float, dt: float) -> np.ndarray:
        if len(self.values) <= k:
            n_blocks = -(-(k + 1 - len(self.values)) // _BLOCK)
            shocks = self.rng.standard_normal(n_blocks * _BLOCK)
            steps = (sigma * math.sqrt(dt) * shocks - 0.5 * sigma * sigma * dt).reshape(n_blocks, -1)
            parts, last = [self.values], float(self.values[-1])
            for block in np.cumsum(steps, axis=1):  # summed block by block, whatever was asked
                parts.append(last + self.sign * block)
                last = float(parts[-1][-1])
            self.values = np.concatenate(parts)
        return self.values


class GbmLogPath:
    """The log index of one currency; ``seed_text`` names its forward random stream and
    ``seed_text + ":before-start"`` the one of its past. ``min_bucket`` (<= 0) is the earliest
    bucket kept: earlier buckets read as that one (callers say there is no history then)."""

    def __init__(
        self, *, seed_text: str, spot: float, sigma: float, step_s: float, min_bucket: int = 0
    ) -> None:
        if min_bucket > 0:
            raise ValueError("min_bucket must not be positive")
        self.sigma = sigma
        self.dt = step_s / (365.0 * 86_400.0)
        self.min_bucket = min_bucket
        log_spot = math.log(spot)
        self._forward = _Side(seeded_rng(seed_text), log_spot, 1.0)
        self._past = _Side(seeded_rng(f"{seed_text}:before-start"), log_spot, -1.0)

    def at(self, bucket: int) -> float:
        """The log price of ``bucket``."""
        bucket = max(bucket, self.min_bucket)
        if bucket >= 0:
            return float(self._forward.upto(bucket, self.sigma, self.dt)[bucket])
        return float(self._past.upto(-bucket, self.sigma, self.dt)[-bucket])

    def span(self, first: int, last: int) -> np.ndarray:
        """Log prices of buckets ``first..last`` (inclusive), oldest first; ``first`` is clamped
        to ``min_bucket`` like :meth:`at`."""
        first = max(first, self.min_bucket)
        last = max(last, first)
        parts: list[np.ndarray] = []
        if first < 0:
            past = self._past.upto(-first, self.sigma, self.dt)
            stop = -min(last, -1)  # the past side's index of the newest bucket before 0 asked for
            parts.append(past[stop : -first + 1][::-1])
        if last >= 0:
            forward = self._forward.upto(last, self.sigma, self.dt)
            parts.append(forward[max(first, 0) : last + 1])
        return np.concatenate(parts)
