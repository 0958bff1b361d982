"""Order matching: an incoming order takes the market's liquidity (taker), resting orders fill
at their own price when the market trades through them (maker); every fill books the cash,
the fee, the position and a trade."""

from __future__ import annotations

import math
from typing import Any

from trading.exchange.emulator.accounting import AccountState, trade_fee
from trading.exchange.emulator.book import InstrumentRecord, Level
from trading.exchange.emulator.engine.core import EngineCore, floor_lot
from trading.exchange.emulator.orders import EmuOrder, EngineEvent

__all__ = ["Matching"]


class Matching(EngineCore):
    def _crossing(self, rec: InstrumentRecord, order: EmuOrder) -> list[Level]:
        levels = rec.market_levels("asks" if order.direction == "buy" else "bids")
        if order.direction == "buy":
            return [lv for lv in levels if lv[0] <= order.price + 1e-12]
        return [lv for lv in levels if lv[0] >= order.price - 1e-12]

    def _fillable(self, rec: InstrumentRecord, order: EmuOrder) -> float:
        return sum(a for _, a in self._crossing(rec, order))

    def _cap(self, rec: InstrumentRecord, order: EmuOrder) -> float:
        if self.partial_fill_fraction is None:
            return order.remaining
        return max(
            rec.min_trade_amount, floor_lot(order.amount * self.partial_fill_fraction, rec.min_trade_amount)
        )

    def _take(
        self, account: AccountState, rec: InstrumentRecord, order: EmuOrder, *, cap: bool = True
    ) -> list[dict[str, Any]]:
        """Match an incoming order against the market (taker fills at the market's prices)."""
        side = "asks" if order.direction == "buy" else "bids"
        budget = self._cap(rec, order) if cap else order.remaining
        trades = []
        for price, available in self._crossing(rec, order):
            qty = floor_lot(min(order.remaining, available, budget), rec.min_trade_amount)
            if qty <= 0:
                break
            rec.consume(side, price, qty)
            trades.append(self._fill(account, rec, order, qty, price, "T"))
            budget -= qty
        return trades

    def _match_resting(self) -> None:
        """Resting orders fill (as maker, at their own price) when the market trades through them."""
        for order in sorted(self._open_orders(), key=lambda o: (o.creation_ms, int(o.order_id))):
            rec = self.instruments[order.instrument_name]
            if rec.expired:
                continue
            crossing = self._crossing(rec, order)
            if not crossing:
                continue
            account = self.accounts[order.account_id]
            side = "asks" if order.direction == "buy" else "bids"
            budget = self._cap(rec, order)
            filled = False
            for level_price, available in crossing:
                qty = floor_lot(min(order.remaining, available, budget), rec.min_trade_amount)
                if qty <= 0:
                    break
                rec.consume(side, level_price, qty)
                self._fill(account, rec, order, qty, order.price, "M")
                budget -= qty
                filled = True
            if filled:
                self._emit_order(order)

    def _fill(
        self,
        account: AccountState,
        rec: InstrumentRecord,
        order: EmuOrder,
        qty: float,
        price: float,
        liquidity: str,
    ) -> dict[str, Any]:
        commission = rec.maker_commission if liquidity == "M" else rec.taker_commission
        fee = round(trade_fee(qty, price, commission), 10)
        index = self.index[rec.currency]
        cash = price * qty if order.direction == "sell" else -price * qty
        account.balances[rec.currency] = account.balances.get(rec.currency, 0.0) + cash - fee
        account.fees_paid[rec.currency] = account.fees_paid.get(rec.currency, 0.0) + fee
        realized = account.position(rec.name, rec.currency).apply_fill(order.direction, qty, price, index)
        account.session_rpl[rec.currency] = account.session_rpl.get(rec.currency, 0.0) + realized
        order.record_fill(qty, price, self.now_ms)
        previous = rec.last_price
        rec.first_price = price if rec.first_price is None else rec.first_price
        rec.last_price = price
        rec.high = price if rec.high is None else max(rec.high, price)
        rec.low = price if rec.low is None else min(rec.low, price)
        rec.traded_volume = round(rec.traded_volume + qty, 8)
        rec.trade_seq += 1
        tick_direction = 1 if previous is None or price == previous else (0 if price > previous else 2)
        q = rec.quote
        iv = rec.implied_vol_at(price)
        self.changes.fill(account.account_id, rec.name)
        trade = {
            "trade_seq": rec.trade_seq,
            "trade_id": str(next(self._trade_ids)),
            "timestamp": self.now_ms,
            "tick_direction": tick_direction,
            "state": order.state,
            "reduce_only": order.reduce_only,
            "price": price,
            "post_only": order.post_only,
            "order_type": order.order_type,
            "order_id": order.order_id,
            "matching_id": None,
            "mark_price": q.mark_price,
            "liquidity": liquidity,
            "iv": round(iv * 100.0, 2) if math.isfinite(iv) else q.mark_iv,
            "instrument_name": rec.name,
            "index_price": index,
            "fee_currency": rec.currency,
            "fee": fee,
            "direction": order.direction,
            "amount": qty,
            "contracts": qty,
            "underlying_price": q.underlying_price,
            "api": True,
            "mmp": False,
            "risk_reducing": False,
            "profit_loss": round(realized, 8),
        }
        if order.label:
            trade["label"] = order.label
        self.trades.append((account.account_id, rec.currency, trade))
        self.events.append(EngineEvent("trade", account.account_id, rec.currency, rec.name, trade))
        return trade
