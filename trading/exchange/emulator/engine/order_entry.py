"""Order entry: placing, editing and cancelling orders with Deribit's checks (amount lots,
price ticks and band, post-only, reduce-only, funds, the settlement pause), and the order and
trade queries of an account."""

from __future__ import annotations

import math
from typing import Any, Literal

from trading.exchange.emulator.accounting import AccountState, RpcError
from trading.exchange.emulator.book import InstrumentRecord, price_band
from trading.exchange.emulator.engine.account import AccountLedger
from trading.exchange.emulator.engine.core import floor_lot
from trading.exchange.emulator.engine.matching import Matching
from trading.exchange.emulator.market import OPTION_TICK, option_tick
from trading.exchange.emulator.orders import EmuOrder

__all__ = ["OrderEntry"]


class OrderEntry(AccountLedger, Matching):
    def place_order(
        self, account: AccountState, direction: Literal["buy", "sell"], p: dict[str, Any]
    ) -> dict[str, Any]:
        rec = self.instrument(p["instrument_name"], code=10020)
        if rec.expired:
            raise RpcError(10020, data={"param": "instrument_name", "reason": "instrument expired"})
        if self.in_settlement():
            raise RpcError(10041)
        self._check_valid_until(p)
        label = p.get("label") or ""
        if len(label) > 64:
            raise RpcError.invalid_param("label", "label is longer than 64 characters")
        amount = self._checked_amount(rec, p.get("amount"), p.get("contracts"))
        order_type = p.get("type") or "limit"
        tif = p.get("time_in_force") or "good_til_cancelled"
        post_only = bool(p.get("post_only", False))
        reject_post_only = bool(p.get("reject_post_only", False))
        reduce_only = bool(p.get("reduce_only", False))
        if order_type == "market" and post_only:
            raise RpcError(11055)
        if post_only and tif != "good_til_cancelled":
            raise RpcError(11047, data={"reason": "post_only needs good_til_cancelled", "param": "post_only"})
        low, high = price_band(rec.quote.mark_price)
        if order_type == "limit":
            price = self._checked_price(rec, p.get("price"), direction, low, high)
        else:
            price = high if direction == "buy" else low
        if reduce_only:
            amount = self._reduce_only_amount(account, rec, direction, amount)
        if post_only:
            price = self._post_only_price(rec, direction, price, reject_post_only)
        need = self._order_margin(account, rec, direction, amount, price) + rec.taker_commission * amount
        if not reduce_only and need > self.available_funds(account, rec.currency) + 1e-12:
            raise RpcError(10009)
        order = EmuOrder(
            order_id=str(next(self._ids)),
            account_id=account.account_id,
            instrument_name=rec.name,
            currency=rec.currency,
            direction=direction,
            order_type=order_type,
            time_in_force=tif,
            price=price,
            amount=amount,
            label=label,
            post_only=post_only,
            reject_post_only=reject_post_only,
            reduce_only=reduce_only,
            creation_ms=self.now_ms,
            last_update_ms=self.now_ms,
        )
        self._register(order)
        trades: list[dict[str, Any]] = []
        if not post_only:
            if tif == "fill_or_kill" and self._fillable(rec, order) + 1e-9 < amount:
                order.cancel("user_request", self.now_ms)
            else:
                trades = self._take(account, rec, order, cap=tif != "fill_or_kill")
        if order.is_open and (order_type == "market" or tif in ("immediate_or_cancel", "fill_or_kill")):
            order.cancel("user_request", self.now_ms)
        self._emit_order(order)
        return {"order": order.wire(), "trades": trades}

    # ------------------------------------------------------------------ checks

    def _check_valid_until(self, p: dict[str, Any]) -> None:
        """13888 ``timed_out`` when the request's ``valid_until`` (ms) has passed."""
        valid_until = p.get("valid_until")
        if valid_until is not None and self.now_ms > valid_until:
            raise RpcError(13888)

    def _checked_amount(self, rec: InstrumentRecord, amount: float | None, contracts: float | None) -> float:
        if amount is None and contracts is None:
            raise RpcError.invalid_param("amount", "amount or contracts is required")
        if amount is not None and contracts is not None and abs(amount - contracts) > 1e-9:
            raise RpcError.invalid_param("contracts", "amount and contracts do not match")
        value = float(amount if amount is not None else contracts)  # type: ignore[arg-type]
        if not math.isfinite(value) or value <= 0:
            raise RpcError(10021, data={"param": "amount", "reason": "must be positive"})
        lot = rec.min_trade_amount
        if value + 1e-9 < lot:
            raise RpcError(10002, data={"param": "amount", "min_trade_amount": lot})
        if abs(value / lot - round(value / lot)) > 1e-6:
            raise RpcError(10021, data={"param": "amount", "reason": f"must be a multiple of {lot}"})
        return round(round(value / lot) * lot, 8)

    def _checked_price(
        self, rec: InstrumentRecord, price: float | None, direction: str, low: float, high: float
    ) -> float:
        if price is None:
            raise RpcError.invalid_param("price", "price is required for limit orders")
        if not math.isfinite(price) or price <= 0:
            raise RpcError(10023, data={"param": "price"})
        if not rec.is_on_tick(price):
            raise RpcError(10043, data={"param": "price", "tick_size": option_tick(price)})
        if direction == "buy" and price > high + 1e-12:
            raise RpcError(
                10007, message=f"price_too_high {high}", data={"param": "price", "max_price": high}
            )
        if direction == "sell" and price < low - 1e-12:
            raise RpcError(10005, message=f"price_too_low {low}", data={"param": "price", "min_price": low})
        return round(price, 4)

    def _reduce_only_amount(
        self, account: AccountState, rec: InstrumentRecord, direction: str, amount: float
    ) -> float:
        pos = account.positions.get(rec.name)
        size = pos.size if pos is not None else 0.0
        reducible = -size if direction == "buy" else size
        for o in self._open_orders(account_id=account.account_id, instrument_name=rec.name):
            if o.reduce_only and o.direction == direction:
                reducible -= o.remaining
        reducible = floor_lot(max(reducible, 0.0), rec.min_trade_amount)
        if reducible <= 0:
            raise RpcError(
                11030,
                message="other_reject reduce_only",
                data={"reason": "order would not reduce a position"},
            )
        return min(amount, reducible)

    def _post_only_price(self, rec: InstrumentRecord, direction: str, price: float, reject: bool) -> float:
        opposite = rec.market_levels("asks" if direction == "buy" else "bids")
        if not opposite:
            return price
        best = opposite[0][0]
        crosses = price >= best - 1e-12 if direction == "buy" else price <= best + 1e-12
        if not crosses:
            return price
        if reject:
            raise RpcError(11054)
        if direction == "buy":
            repriced = round(best - option_tick(best - 1e-9), 4)
            if repriced < OPTION_TICK - 1e-12:
                raise RpcError(11054)
            return repriced
        return round(best + option_tick(best), 4)

    # ------------------------------------------------------------------ edits and cancels

    def edit_order(self, account: AccountState, p: dict[str, Any]) -> dict[str, Any]:
        self._check_valid_until(p)
        return self._edit(account, self._owned(account, p["order_id"]), p)

    def edit_by_label(self, account: AccountState, p: dict[str, Any]) -> dict[str, Any]:
        """Edit the one open order of ``account`` labelled ``p["label"]`` on ``p["instrument_name"]``
        (10004 if none, 13032 ``non_unique_order_label`` if several)."""
        self._check_valid_until(p)
        rec = self.instrument(p["instrument_name"])
        label = p["label"]
        matches = [
            o
            for o in self._open_orders(account_id=account.account_id, instrument_name=rec.name)
            if o.label == label
        ]
        if not matches:
            raise RpcError(10004, data={"param": "label"})
        if len(matches) > 1:
            raise RpcError(13032, data={"param": "label", "reason": f"{len(matches)} open orders match"})
        return self._edit(account, matches[0], p)

    def _edit(self, account: AccountState, order: EmuOrder, p: dict[str, Any]) -> dict[str, Any]:
        if not order.is_open:
            raise RpcError(11044)
        if self.in_settlement():
            raise RpcError(10041)
        rec = self.instruments[order.instrument_name]
        amount = self._checked_amount(rec, p.get("amount"), p.get("contracts"))
        if amount + 1e-9 < order.filled_amount:
            raise RpcError(10021, data={"param": "amount", "reason": "below the filled amount"})
        low, high = price_band(rec.quote.mark_price)
        price = self._checked_price(rec, p.get("price"), order.direction, low, high)
        post_only = bool(p.get("post_only", order.post_only))
        if post_only:
            price = self._post_only_price(
                rec, order.direction, price, bool(p.get("reject_post_only", order.reject_post_only))
            )
        old = self._order_margin(account, rec, order.direction, order.remaining, order.price)
        new = self._order_margin(account, rec, order.direction, amount - order.filled_amount, price)
        if not order.reduce_only and new - old > self.available_funds(account, rec.currency) + 1e-12:
            raise RpcError(10009)
        order.amount, order.price, order.post_only = amount, price, post_only
        order.replaced = True
        order.last_update_ms = self.now_ms
        if order.remaining <= 1e-9:
            order.state = "filled"
        trades = [] if post_only or not order.is_open else self._take(account, rec, order)
        self._emit_order(order)
        return {"order": order.wire(), "trades": trades}

    def _owned(self, account: AccountState, order_id: str) -> EmuOrder:
        order = self.orders.get(order_id)
        if order is None or order.account_id != account.account_id:
            raise RpcError(10004, data={"param": "order_id"})
        return order

    def cancel(self, account: AccountState, order_id: str) -> dict[str, Any]:
        order = self._owned(account, order_id)
        if not order.is_open:
            raise RpcError(11044)
        order.cancel("user_request", self.now_ms)
        self._emit_order(order)
        return order.wire()

    def cancel_where(
        self,
        account: AccountState,
        *,
        label: str | None = None,
        currency: str | None = None,
        instrument_name: str | None = None,
        reason: str = "user_request",
    ) -> int:
        count = 0
        for order in self._open_orders(account_id=account.account_id, instrument_name=instrument_name):
            if (label is None or order.label == label) and (currency is None or order.currency == currency):
                order.cancel(reason, self.now_ms)
                self._emit_order(order)
                count += 1
        return count

    # ------------------------------------------------------------------ queries

    def order_state(self, account: AccountState, order_id: str) -> dict[str, Any]:
        return self._owned(account, order_id).wire()

    def orders_by_label(
        self, account: AccountState, currency: str, label: str | None
    ) -> list[dict[str, Any]]:
        return [
            o.wire()
            for o in self._orders_labelled(label)
            if o.account_id == account.account_id and o.currency == currency
        ]

    def open_orders(
        self,
        account: AccountState,
        currency: str | None,
        kind: str | None,
        *,
        instrument_name: str | None = None,
    ) -> list[dict[str, Any]]:
        if kind not in (None, "option", "any"):
            return []
        return [
            o.wire()
            for o in self._open_orders(account_id=account.account_id, instrument_name=instrument_name)
            if currency in (None, "any", o.currency)
        ]

    def order_history(
        self,
        account: AccountState,
        *,
        currency: str | None,
        kind: str | None,
        instrument_name: str | None,
        count: int,
        offset: int,
        include_unfilled: bool,
    ) -> list[dict[str, Any]]:
        """Orders no longer open, newest first: those with fills, and with ``include_unfilled``
        also those cancelled or rejected without any."""
        if kind not in (None, "option", "any"):
            return []
        rows = [
            o
            for o in self.orders.values()
            if o.account_id == account.account_id
            and not o.is_open
            and currency in (None, "any", o.currency)
            and (instrument_name is None or o.instrument_name == instrument_name)
            and (include_unfilled or o.filled_amount > 0)
        ]
        rows.sort(key=lambda o: (o.last_update_ms, int(o.order_id)), reverse=True)
        return [o.wire() for o in rows[offset : offset + count]]

    def user_trades(
        self,
        account: AccountState,
        *,
        currency: str,
        kind: str | None,
        count: int,
        start_ms: int | None,
        end_ms: int | None,
        sorting: str | None,
        order_id: str | None = None,
        instrument_name: str | None = None,
    ) -> dict[str, Any]:
        rows = [
            t
            for acc, cur, t in self.trades
            if acc == account.account_id
            and currency in ("any", cur)
            and kind in (None, "option", "any")
            and (start_ms is None or t["timestamp"] >= start_ms)
            and (end_ms is None or t["timestamp"] <= end_ms)
            and (order_id is None or t["order_id"] == order_id)
            and (instrument_name is None or t["instrument_name"] == instrument_name)
        ]
        rows = rows[::-1] if sorting != "asc" else rows
        return {"trades": rows[:count], "has_more": len(rows) > count}
