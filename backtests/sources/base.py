"""What every market source gives the engine: the steps, how many there are, where the prices come
from, a sentence for the owner and the index path. Errors name the field of the spec to fix.

Steps cover ``[start, end)``: a step at ``end`` itself is not taken. Step times are aware UTC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from backtests.engine.market import StepChain
from backtests.sources.spec import SourceSpec

SourceStep = tuple[datetime, Mapping[str, StepChain]]
"""One engine step: its time (aware UTC) and, per currency present then, the prepared chain."""


class SourceError(ValueError):
    """A source that cannot be opened as specified; ``field`` names the spec field to change
    (``data_path``, ``start``, ``end``, ``currencies``, ``step``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class MarketSource(ABC):
    """Engine steps in time order, produced lazily: iterating holds about one day of chains.

    Iterating again starts over and yields the same steps.
    """

    spec: SourceSpec
    n_steps: int
    """How many steps iterating yields (known before iterating)."""
    provenance: str
    """Where the prices come from (``backtests.engine.fills`` provenance constants)."""
    description: str
    """One sentence for the owner: what market, how often, over which time."""
    index_path: pd.DataFrame
    """Index price (USD) per currency (columns) at every step time (index, aware UTC); NaN where a
    step has no chain of that currency."""
    notes: tuple[str, ...]
    """Remarks the owner should see (short warm-up, partial coverage, ignored data)."""

    @abstractmethod
    def __iter__(self) -> Iterator[SourceStep]: ...

    def __len__(self) -> int:
        return self.n_steps


def when(ts: datetime | pd.Timestamp) -> str:
    """A time for messages: ``2024-01-01`` at midnight, else ``2024-01-01 09:15`` (UTC)."""
    t = pd.Timestamp(ts).tz_convert("UTC")
    if t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M")


def span(first: datetime | pd.Timestamp, last: datetime | pd.Timestamp) -> str:
    return f"{when(first)} → {when(last)}"


def currency_list(currencies: Sequence[str]) -> str:
    return " and ".join(currencies)


def existing_path(spec: SourceSpec) -> Path:
    """``spec.data_path`` as a path that exists, or a :class:`SourceError` saying it does not."""
    if not spec.data_path:
        raise SourceError("data_path is required for this source", field="data_path")
    path = Path(spec.data_path).expanduser()
    if not path.exists():
        raise SourceError(f"no file or folder at {path}", field="data_path")
    return path


def index_frame(times: pd.DatetimeIndex, prices: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The ``index_path`` table: one column per currency, indexed by step time."""
    frame = pd.DataFrame({c: np.asarray(v, dtype=np.float64) for c, v in prices.items()}, index=times)
    frame.index.name = "timestamp"
    frame.columns.name = "currency"
    return frame


def finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
