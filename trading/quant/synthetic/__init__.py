"""Synthetic Deribit-like markets: a seeded index history and option chains along any path.

Public API: :class:`UnderlyingConfig`, :func:`simulate_underlying` (OHLC bars),
:class:`SyntheticChainConfig`, :func:`iter_synthetic_chains` / :func:`synthetic_chains`
(columnar chains, :class:`SyntheticChain`), and the building blocks in ``surface``.
"""

from trading.quant.synthetic.chain import (
    SyntheticChain,
    iter_synthetic_chains,
    synthetic_chains,
    trailing_realized_vol,
)
from trading.quant.synthetic.config import SyntheticChainConfig, UnderlyingConfig
from trading.quant.synthetic.surface import round_to_tick, tick_size
from trading.quant.synthetic.underlying import simulate_underlying

__all__ = [
    "SyntheticChain",
    "SyntheticChainConfig",
    "UnderlyingConfig",
    "iter_synthetic_chains",
    "round_to_tick",
    "simulate_underlying",
    "synthetic_chains",
    "tick_size",
    "trailing_realized_vol",
]
