"""Market data: chain snapshots, their quality, the Parquet snapshot store, the chain harvester,
historical candles, and the importers of option-chain files (harvest, Tardis, SVCJ).

Every snapshot, wherever it comes from, is one DataFrame with the columns of
:data:`trading.marketdata.frame.SNAPSHOT_COLUMNS` and ``OPTIONAL_COLUMNS`` (units there), which
``trading.quant.candidates.chain_from_snapshot`` turns into a chain with one call.

``frame``, ``quality``, ``fetch``, ``store``, ``harvester``, ``history``, ``tardis``,
``tardis_download`` and ``importers`` import no Django, so backtests and remote workers use them as
they are; ``services`` and ``selectors`` are the Django side (the ``MarketSnapshot`` table, the
settings, the data folder).
"""
