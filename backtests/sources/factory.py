"""Open the market a :class:`~backtests.sources.spec.SourceSpec` describes."""

from __future__ import annotations

from backtests.sources.base import MarketSource
from backtests.sources.files import FilesMarket
from backtests.sources.spec import SourceKind, SourceSpec
from backtests.sources.synthetic import SyntheticMarket


def open_source(spec: SourceSpec, *, max_dte_days: float | None = None) -> MarketSource:
    """The steps of ``spec``'s market; reads and checks any files now, prices chains lazily.

    ``max_dte_days``: synthetic chains list only expiries up to that far (strategies that never
    look further lose nothing and the backtest runs faster); recorded chains are kept whole.

    Raises :class:`~backtests.sources.base.SourceError` (``.field`` names the spec field to change)
    when the data is missing, unreadable or does not cover the requested range.
    """
    if spec.kind is SourceKind.FILES:
        return FilesMarket(spec)
    return SyntheticMarket(spec, max_dte_days=max_dte_days)
