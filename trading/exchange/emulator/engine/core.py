"""The engine's state (instruments, index, accounts, orders, trades, events) and the lookups
every part of it shares."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trading.exchange.emulator.accounting import AccountConfig, AccountState, RpcError
from trading.exchange.emulator.book import InstrumentRecord, Level
from trading.exchange.emulator.market import MarketSource
from trading.exchange.emulator.orders import EmuOrder, EngineEvent

__all__ = ["DAY_MS", "HOUR8_MS", "EngineConfig", "EngineCore", "floor_lot", "last_0800"]

DAY_MS = 86_400_000
HOUR8_MS = 8 * 3_600_000


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    #: trading pauses this long after 08:00 UTC (Deribit: "a few seconds", error 10041)
    settlement_pause_ms: int = 2_000
    delivery_fee_rate: float = 0.00015
    twap_minutes: int = 30


def floor_lot(amount: float, lot: float) -> float:
    """``amount`` rounded down to a whole number of lots."""
    return round(math.floor(amount / lot + 1e-9) * lot, 8)


def last_0800(now_ms: int) -> int:
    """The latest 08:00 UTC at or before ``now_ms`` (ms)."""
    return (now_ms - HOUR8_MS) // DAY_MS * DAY_MS + HOUR8_MS


class EngineCore:
    """Shared state. Nothing here moves the market or changes an order."""

    def __init__(
        self,
        source: MarketSource,
        accounts: Sequence[AccountConfig],
        *,
        start_ms: int,
        config: EngineConfig | None = None,
    ) -> None:
        self.source = source
        self.config = config or EngineConfig()
        self.now_ms = start_ms
        self.instruments: dict[str, InstrumentRecord] = {}
        self.index: dict[str, float] = {}
        self.dvol: dict[str, float] = {}
        self.accounts = {
            a.client_id: AccountState(config=a, balances=dict(a.balances), creation_ms=start_ms)
            for a in accounts
        }
        self.orders: dict[str, EmuOrder] = {}
        self.trades: list[tuple[str, str, dict[str, Any]]] = []  # (account_id, currency, trade)
        self.events: list[EngineEvent] = []
        self.delivery_prices: dict[str, dict[str, float]] = {}
        #: fault: cap each fill pass at this fraction of the order amount (None = off)
        self.partial_fill_fraction: float | None = None
        self._ids = itertools.count(31_000_001)
        self._trade_ids = itertools.count(9_000_001)
        self._instrument_ids = itertools.count(500_001)
        self._change_ids = itertools.count(1)
        self._snap_key: object = None

    def in_settlement(self) -> bool:
        """Whether trading is paused for the daily 08:00 UTC settlement (error 10041)."""
        return self.now_ms - last_0800(self.now_ms) < self.config.settlement_pause_ms

    # ------------------------------------------------------------------ lookups

    def account(self, account_id: str) -> AccountState:
        return self.accounts[account_id]

    def instrument(self, name: str, *, code: int = 13020) -> InstrumentRecord:
        rec = self.instruments.get(name)
        if rec is None:
            raise RpcError(code, data={"param": "instrument_name", "reason": "instrument not found"})
        return rec

    def _open_orders(
        self, *, account_id: str | None = None, instrument_name: str | None = None
    ) -> list[EmuOrder]:
        return [
            o
            for o in self.orders.values()
            if o.is_open
            and (account_id is None or o.account_id == account_id)
            and (instrument_name is None or o.instrument_name == instrument_name)
        ]

    def own_levels(self, instrument_name: str) -> tuple[list[Level], list[Level]]:
        """Price levels of the open orders on ``instrument_name``: (bids, asks)."""
        bids: list[Level] = []
        asks: list[Level] = []
        for o in self._open_orders(instrument_name=instrument_name):
            (bids if o.direction == "buy" else asks).append((o.price, o.remaining))
        return bids, asks

    def next_change_id(self) -> int:
        return next(self._change_ids)

    def _emit_order(self, order: EmuOrder) -> None:
        self.events.append(
            EngineEvent("order", order.account_id, order.currency, order.instrument_name, order.wire())
        )
