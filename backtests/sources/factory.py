"""Open the market a :class:`~backtests.sources.spec.SourceSpec` describes."""

from __future__ import annotations

from collections.abc import Mapping

from backtests.sources.base import MarketSource
from backtests.sources.files import FilesMarket
from backtests.sources.spec import SourceKind, SourceSpec
from backtests.sources.synthetic import SyntheticMarket
from trading.quant.synthetic import SyntheticChainConfig


def open_source(
    spec: SourceSpec,
    *,
    max_dte_days: float | None = None,
    chain_bases: Mapping[str, SyntheticChainConfig] | None = None,
) -> MarketSource:
    """The steps of ``spec``'s market; reads and checks any files now, prices chains lazily.

    ``max_dte_days``: synthetic chains list only expiries up to that far (strategies that never
    look further lose nothing and the backtest runs faster); recorded chains are kept whole.
    ``chain_bases``: per currency, the synthetic chain model to start from (the calibrated
    parameters in use); by default the generator's defaults. Recorded chains ignore it.

    Raises :class:`~backtests.sources.base.SourceError` (``.field`` names the spec field to change)
    when the data is missing, unreadable or does not cover the requested range.
    """
    if spec.kind is SourceKind.FILES:
        return FilesMarket(spec)
    return SyntheticMarket(spec, max_dte_days=max_dte_days, chain_bases=chain_bases)
