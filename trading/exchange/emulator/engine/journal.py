"""What the engine tells a state store: which of its objects changed since the last save
(:class:`Changes`), and the image a restarted engine resumes from (:class:`EngineImage`).

The engine only marks and restores; encoding and the file are the business of
:mod:`trading.exchange.emulator.persistence`.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trading.exchange.emulator.accounting import AccountState
from trading.exchange.emulator.book import InstrumentRecord
from trading.exchange.emulator.orders import EmuOrder

__all__ = ["Changes", "EngineImage", "IdSequence", "TradeRow", "market_token"]

TradeRow = tuple[str, str, dict[str, Any]]  # (account_id, currency, the trade in wire shape)


def market_token(key: Hashable) -> str:
    """A stable text form of a snapshot key, to tell after a restart whether the market moved."""
    return json.dumps(key, default=repr, separators=(",", ":"))


class IdSequence:
    """An increasing id source (``next(seq)``) whose next value can be read and saved."""

    def __init__(self, first: int) -> None:
        self.value = first

    def __next__(self) -> int:
        value = self.value
        self.value += 1
        return value

    def __iter__(self) -> IdSequence:
        return self

    def resume_at(self, value: int) -> None:
        """Never go back: an id once handed out is not reused."""
        self.value = max(self.value, value)


@dataclass
class Changes:
    """Keys of the objects changed since the last save. Trades are append-only, so the store
    keeps its own watermark into ``engine.trades`` instead."""

    accounts: set[str] = field(default_factory=set)
    positions: set[tuple[str, str]] = field(default_factory=set)  # (account_id, instrument_name)
    orders: set[str] = field(default_factory=set)
    instruments: set[str] = field(default_factory=set)
    delivery_prices: bool = False

    def fill(self, account_id: str, instrument_name: str) -> None:
        self.accounts.add(account_id)
        self.positions.add((account_id, instrument_name))
        self.instruments.add(instrument_name)

    def account(self, account: AccountState) -> None:
        """The account and every position it holds (daily settlement, expiry)."""
        self.accounts.add(account.account_id)
        self.positions.update((account.account_id, name) for name in account.positions)

    def __bool__(self) -> bool:
        return bool(
            self.accounts or self.positions or self.orders or self.instruments or self.delivery_prices
        )

    def take(self) -> Changes:
        """These changes, leaving this set empty."""
        taken = Changes(self.accounts, self.positions, self.orders, self.instruments, self.delivery_prices)
        self.accounts, self.positions, self.orders, self.instruments = set(), set(), set(), set()
        self.delivery_prices = False
        return taken

    @classmethod
    def everything(
        cls,
        accounts: Iterable[AccountState],
        orders: Iterable[str],
        instruments: Iterable[str],
    ) -> Changes:
        out = cls(orders=set(orders), instruments=set(instruments), delivery_prices=True)
        for account in accounts:
            out.account(account)
        return out


@dataclass
class EngineImage:
    """Everything an engine needs to resume where a saved one stopped.

    ``market_token`` is :func:`market_token` of the snapshot key in force when saved: if the
    source gives the same key on restart, the liquidity already taken (``consumed`` of the
    instruments) still counts; otherwise the market has moved and resting orders are matched.
    """

    now_ms: int
    accounts: list[AccountState]
    instruments: list[InstrumentRecord]
    orders: list[EmuOrder]
    trades: list[TradeRow]
    delivery_prices: dict[str, dict[str, float]]
    next_order_id: int
    next_trade_id: int
    next_instrument_id: int
    next_change_id: int
    market_token: str | None
    market_ms: int
