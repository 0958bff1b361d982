"""The engine's state (instruments, index, accounts, orders, trades, events), the lookups every
part of it shares, and its restoration from a saved :class:`~.journal.EngineImage`."""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from trading.exchange.emulator.accounting import AccountConfig, AccountState, RpcError
from trading.exchange.emulator.book import InstrumentRecord, Level
from trading.exchange.emulator.engine.journal import Changes, EngineImage, IdSequence, TradeRow
from trading.exchange.emulator.market import MarketSource
from trading.exchange.emulator.orders import EmuOrder, EngineEvent
from trading.exchange.emulator.perpetual import perpetual_currency

__all__ = ["DAY_MS", "HOUR8_MS", "EngineConfig", "EngineCore", "floor_lot", "last_0800"]

DAY_MS = 86_400_000
HOUR8_MS = 8 * 3_600_000

log = logging.getLogger(__name__)


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
        self.trades: list[TradeRow] = []
        self.events: list[EngineEvent] = []
        self.delivery_prices: dict[str, dict[str, float]] = {}
        #: fault: cap each fill pass at this fraction of the order amount (None = off)
        self.partial_fill_fraction: float | None = None
        #: what changed since a state store last saved (see :mod:`.journal`)
        self.changes = Changes()
        self._ids = IdSequence(31_000_001)
        self._trade_ids = IdSequence(9_000_001)
        self._instrument_ids = IdSequence(500_001)
        self._change_ids = IdSequence(1)
        self._snap_key: object = None
        self._token: tuple[object, str | None] = (None, None)  # (snapshot key, its market token)
        self._market_ms = start_ms  # when the market in force was taken from the source
        # open orders (closed ones are dropped lazily) and every order by label: lookups that
        # stay fast however long the order history grows
        self._live: dict[str, EmuOrder] = {}
        self._by_label: dict[str, list[EmuOrder]] = {}

    def in_settlement(self) -> bool:
        """Whether trading is paused for the daily 08:00 UTC settlement (error 10041)."""
        return self.now_ms - last_0800(self.now_ms) < self.config.settlement_pause_ms

    # ------------------------------------------------------------------ lookups

    def account(self, account_id: str) -> AccountState:
        return self.accounts[account_id]

    def instrument(self, name: str, *, code: int = 13020) -> InstrumentRecord:
        """A listed option; a perpetual is refused with 10020 (quoted by the emulator, not traded)."""
        rec = self.instruments.get(name)
        if rec is None:
            if perpetual_currency(name, list(self.index)) is not None:
                raise RpcError(
                    10020,
                    data={"param": "instrument_name", "reason": "the emulator trades options only"},
                )
            raise RpcError(code, data={"param": "instrument_name", "reason": "instrument not found"})
        return rec

    def _open_orders(
        self, *, account_id: str | None = None, instrument_name: str | None = None
    ) -> list[EmuOrder]:
        live = [o for o in self._live.values() if o.is_open]
        if len(live) < len(self._live):
            self._live = {o.order_id: o for o in live}
        return [
            o
            for o in live
            if (account_id is None or o.account_id == account_id)
            and (instrument_name is None or o.instrument_name == instrument_name)
        ]

    def _orders_labelled(self, label: str | None) -> list[EmuOrder]:
        """Orders (any state, oldest first) carrying ``label``; every order if ``label`` is None."""
        if label is None:
            return list(self.orders.values())
        return list(self._by_label.get(label, ()))

    def _register(self, order: EmuOrder) -> None:
        self.orders[order.order_id] = order
        self._by_label.setdefault(order.label, []).append(order)
        if order.is_open:
            self._live[order.order_id] = order

    def own_levels(self, instrument_name: str) -> tuple[list[Level], list[Level]]:
        """Price levels of the open orders on ``instrument_name``: (bids, asks)."""
        bids: list[Level] = []
        asks: list[Level] = []
        for o in self._open_orders(instrument_name=instrument_name):
            (bids if o.direction == "buy" else asks).append((o.price, o.remaining))
        return bids, asks

    def next_change_id(self) -> int:
        return next(self._change_ids)

    def id_counters(self) -> dict[str, int]:
        """The next order, trade, instrument and book change ids (saved so none is reused)."""
        return {
            "next_order_id": self._ids.value,
            "next_trade_id": self._trade_ids.value,
            "next_instrument_id": self._instrument_ids.value,
            "next_change_id": self._change_ids.value,
        }

    def fund(self, account_id: str, currency: str, amount: float) -> None:
        """Add ``amount`` coin to an account's balance (a deposit; negative withdraws)."""
        account = self.accounts[account_id]
        account.balances[currency] = account.balances.get(currency, 0.0) + amount
        self.changes.accounts.add(account_id)

    def _emit_order(self, order: EmuOrder) -> None:
        """Every change of an order ends here: tell the subscribers and mark it for saving."""
        self.changes.orders.add(order.order_id)
        self.events.append(
            EngineEvent("order", order.account_id, order.currency, order.instrument_name, order.wire())
        )

    # ------------------------------------------------------------------ restore

    def _load_image(self, image: EngineImage) -> None:
        """Take over a saved engine's state. Accounts configured now keep their configuration
        (the secret is never saved); saved accounts no longer configured are kept with their
        orders and positions but get an unknown secret, so nobody can log in to them."""
        self.now_ms = image.now_ms
        for saved in image.accounts:
            current = self.accounts.get(saved.account_id)
            if current is None:
                config = AccountConfig(
                    client_id=saved.account_id,
                    client_secret=secrets.token_urlsafe(32),
                    balances={},
                    max_scope=saved.config.max_scope,
                    username=saved.config.username,
                    user_id=saved.config.user_id,
                )
                log.warning(
                    "account %s from the saved state is not configured: kept, locked", config.client_id
                )
            else:
                config = current.config
            saved.config = config
            self.accounts[saved.account_id] = saved
        self.instruments = {rec.name: rec for rec in sorted(image.instruments, key=lambda r: r.instrument_id)}
        self.orders, self._live, self._by_label = {}, {}, {}
        for order in sorted(image.orders, key=lambda o: int(o.order_id)):
            self._register(order)
        self.trades = list(image.trades)
        self.delivery_prices = {k: dict(v) for k, v in image.delivery_prices.items()}
        self._ids.resume_at(image.next_order_id)
        self._trade_ids.resume_at(image.next_trade_id)
        self._instrument_ids.resume_at(image.next_instrument_id)
        self._change_ids.resume_at(image.next_change_id)
        if self.orders:
            self._ids.resume_at(max(int(o) for o in self.orders) + 1)
        if self.trades:
            self._trade_ids.resume_at(max(int(t["trade_id"]) for _, _, t in self.trades) + 1)
        if self.instruments:
            self._instrument_ids.resume_at(max(r.instrument_id for r in self.instruments.values()) + 1)
