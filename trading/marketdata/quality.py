"""Is a snapshot fit to trade on? Stale, partial or broken data, said in words a person can read.

``problems`` make a snapshot unfit (``ok`` is False): the agent must not open positions on it.
``warnings`` are worth knowing but harmless (e.g. no DVOL value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_MAX_AGE_S", "DEFAULT_MIN_INSTRUMENTS", "SnapshotQuality", "snapshot_quality"]

DEFAULT_MAX_AGE_S = 120.0
DEFAULT_MIN_INSTRUMENTS = 20
_FUTURE_TOLERANCE_S = 5.0  # clocks of this machine and the exchange may differ a little
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class SnapshotQuality:
    """The verdict on one snapshot. ``ok`` is True exactly when ``problems`` is empty."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": list(self.problems), "warnings": list(self.warnings)}

    def __str__(self) -> str:
        if self.ok:
            return "ok" + (f" ({'; '.join(self.warnings)})" if self.warnings else "")
        return "; ".join(self.problems)


def _when(ts: pd.Timestamp | datetime) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


def _some(names: pd.Series) -> str:
    shown = ", ".join(names.iloc[:_EXAMPLES].astype(str))
    return shown + (", ..." if len(names) > _EXAMPLES else "")


def _options(n: int) -> str:
    return f"{n} option{'s' if n != 1 else ''}"


def snapshot_quality(
    frame: pd.DataFrame,
    *,
    now: datetime,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    min_instruments: int = DEFAULT_MIN_INSTRUMENTS,
    index_price: float | None = None,
    index_error: str | None = None,
    dvol_error: str | None = None,
) -> SnapshotQuality:
    """Judge one snapshot frame (:mod:`trading.marketdata.frame`) as seen at ``now`` (aware UTC).

    Problems: data older than ``max_age_s`` seconds or from the future, several snapshot times in
    one frame, no index price, fewer than ``min_instruments`` options, no bid or ask anywhere,
    options already expired at the snapshot time, and missing marks, mark IVs or forwards.
    ``index_price`` stands in for the frame's column when the frame is empty; ``index_error`` and
    ``dvol_error`` say why the index or DVOL could not be read, if so.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    problems: list[str] = []
    warnings: list[str] = []
    n = len(frame)
    now_ts = pd.Timestamp(now).tz_convert("UTC")
    times: list[pd.Timestamp] = list(frame["timestamp"].unique()) if n else []
    if len(times) > 1:
        problems.append(f"the frame mixes {len(times)} snapshot times; judge one snapshot at a time")
    if len(times):
        ts = pd.Timestamp(max(times))
        age_s = (now_ts - ts).total_seconds()
        if age_s > max_age_s:
            problems.append(
                f"stale: the data is from {_when(ts)}, {age_s:.0f} s before the check at {_when(now_ts)} "
                f"(limit {max_age_s:.0f} s)"
            )
        elif age_s < -_FUTURE_TOLERANCE_S:
            problems.append(
                f"the data claims to be from {_when(ts)}, {-age_s:.0f} s after the check at {_when(now_ts)}: "
                "the clocks of this machine and the exchange disagree"
            )

    fallback = np.nan if index_price is None else index_price
    index = frame["index_price"].to_numpy(dtype=np.float64) if n else np.array([fallback])
    if not np.isfinite(index).any() or not (index[np.isfinite(index)] > 0).all():
        why = f" ({index_error})" if index_error else ""
        problems.append(f"no index price: the spot index could not be read{why}")

    if n < min_instruments:
        problems.append(
            f"too few instruments: {_options(n)} in the snapshot, at least {min_instruments} expected "
            "(partial or empty chain)"
        )
    if n:
        quoted = frame["bid_price"].notna() | frame["ask_price"].notna()
        if not quoted.any():
            problems.append(f"no quotes at all: none of the {_options(n)} has a bid or an ask")
        expired = frame["expiry_datetime"] <= frame["timestamp"]
        if expired.any():
            problems.append(
                f"{_options(int(expired.sum()))} already expired at the snapshot time: "
                f"{_some(frame.loc[expired, 'instrument_name'])}"
            )
        for column, what in (
            ("mark_price", "no mark price"),
            ("implied_volatility", "no mark IV"),
            ("underlying", "no forward (underlying price)"),
        ):
            bad = frame[column].isna()
            if bad.any():
                problems.append(
                    f"{_options(int(bad.sum()))} with {what}: {_some(frame.loc[bad, 'instrument_name'])}"
                )
        dvol = frame["dvol"].to_numpy(dtype=np.float64) if "dvol" in frame.columns else np.array([np.nan])
        if not np.isfinite(dvol).any():
            why = f" ({dvol_error})" if dvol_error else ""
            warnings.append(f"no DVOL value{why}")
        unquoted = int((~quoted).sum())
        if 0 < unquoted < n:
            warnings.append(f"{_options(unquoted)} without a bid or an ask")
    return SnapshotQuality(problems=problems, warnings=warnings)
