"""The emulator's state file: what a real exchange remembers across a restart (accounts,
positions, orders, trades, ids, settlements, the market and the clock), so an emulator started
again on the same file carries on where the last one stopped.

Layout: :mod:`.store` (the SQLite file: open, lock, create, transactional saves),
:mod:`.codec` (engine objects ↔ rows), :mod:`.recorder` (what changed → one save; reading a
file back), :mod:`.setup` (the market source and the clock).
"""

from trading.exchange.emulator.persistence.recorder import StateRecorder, open_state
from trading.exchange.emulator.persistence.setup import (
    SavedState,
    build_source,
    clock_speed,
    describe_source,
    market_summary,
    source_for,
)
from trading.exchange.emulator.persistence.store import StateFileError, StateStore

__all__ = [
    "SavedState",
    "StateFileError",
    "StateRecorder",
    "StateStore",
    "build_source",
    "clock_speed",
    "describe_source",
    "market_summary",
    "open_state",
    "source_for",
]
