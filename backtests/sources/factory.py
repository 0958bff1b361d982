"""Open the market a :class:`~backtests.sources.spec.SourceSpec` describes."""

from __future__ import annotations

from backtests.sources.base import MarketSource
from backtests.sources.files import FilesMarket
from backtests.sources.spec import SourceKind, SourceSpec
from backtests.sources.synthetic import SyntheticMarket


def open_source(spec: SourceSpec) -> MarketSource:
    """The steps of ``spec``'s market; reads and checks any files now, prices chains lazily.

    Raises :class:`~backtests.sources.base.SourceError` (``.field`` names the spec field to change)
    when the data is missing, unreadable or does not cover the requested range.
    """
    if spec.kind is SourceKind.FILES:
        return FilesMarket(spec)
    return SyntheticMarket(spec)
