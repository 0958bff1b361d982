"""Market sources for the backtester: a :class:`SourceSpec` in, engine steps out.

``open_source(spec)`` returns a :class:`MarketSource`: ``n_steps``, lazy iteration of
``(time, {currency: StepChain})`` in time order, ``provenance``, ``description``, ``index_path``
and ``notes``. Problems raise :class:`SourceError` with the ``field`` of the spec to change.
"""

from backtests.sources.base import MarketSource, SourceError, SourceStep
from backtests.sources.factory import open_source
from backtests.sources.spec import HistoryOrigin, SourceKind, SourceSpec

__all__ = [
    "HistoryOrigin",
    "MarketSource",
    "SourceError",
    "SourceKind",
    "SourceSpec",
    "SourceStep",
    "open_source",
]
