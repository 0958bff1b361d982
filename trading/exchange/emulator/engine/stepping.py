"""Time passing: the market refresh from the source, resting-order matching on every change,
and at each 08:00 UTC the expiry delivery (30-minute index TWAP) and the daily settlement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trading.exchange.emulator.accounting import delivery_fee, option_payoff_coin
from trading.exchange.emulator.book import InstrumentRecord
from trading.exchange.emulator.engine.core import DAY_MS, last_0800
from trading.exchange.emulator.engine.matching import Matching

__all__ = ["MarketStepping"]


class MarketStepping(Matching):
    def sync(self, now_ms: int) -> None:
        """Advance to ``now_ms``: process every 08:00 UTC boundary passed, then refresh and match."""
        if now_ms < self.now_ms:
            return
        boundary = last_0800(self.now_ms) + DAY_MS
        while boundary <= now_ms:
            if self._refresh(boundary - 1):
                self._match_resting()
            self.now_ms = boundary
            self._expire(boundary)
            self._daily_settlement()
            boundary += DAY_MS
        self.now_ms = now_ms
        if self._refresh(now_ms):
            self._match_resting()

    def _refresh(self, at_ms: int) -> bool:
        """Load the market at ``at_ms``; returns whether it changed (resting orders then match)."""
        snap = self.source.snapshot(at_ms)
        if snap.key == self._snap_key:
            return False
        self._snap_key = snap.key
        for cur, market in snap.currencies.items():
            self.index[cur] = market.index_price
            self.dvol[cur] = market.dvol
            for name, quote in market.options.items():
                rec = self.instruments.get(name)
                if rec is None:
                    rec = InstrumentRecord.from_quote(
                        quote, instrument_id=next(self._instrument_ids), now_ms=at_ms
                    )
                    self.instruments[name] = rec
                elif not rec.expired:
                    rec.set_quote(quote, market_changed=True)
        return True

    # ------------------------------------------------------------------ 08:00 UTC

    def _expire(self, at_ms: int) -> None:
        due = [r for r in self.instruments.values() if not r.expired and r.expiration_ms <= at_ms]
        prices: dict[str, float] = {}
        for rec in due:
            if rec.currency not in prices:
                prices[rec.currency] = self._twap(rec.currency, rec.expiration_ms)
                day = datetime.fromtimestamp(rec.expiration_ms / 1000, UTC).date().isoformat()
                self.delivery_prices.setdefault(rec.index_name, {})[day] = prices[rec.currency]
            delivery = prices[rec.currency]
            rec.expired = True
            rec.delivery_price = delivery
            for order in self._open_orders(instrument_name=rec.name):
                order.cancel("settlement", self.now_ms)
                self._emit_order(order)
            payoff = option_payoff_coin(rec.option_type, rec.strike, delivery)
            for account in self.accounts.values():
                pos = account.positions.get(rec.name)
                if pos is None or pos.size == 0:
                    continue
                fee = delivery_fee(abs(pos.size), payoff, self.config.delivery_fee_rate)
                cash = pos.size * payoff
                account.balances[rec.currency] = account.balances.get(rec.currency, 0.0) + cash - fee
                account.fees_paid[rec.currency] = account.fees_paid.get(rec.currency, 0.0) + fee
                realized = pos.size * (payoff - pos.avg_price)
                pos.realized += realized
                pos.session_realized += realized
                pos.size = 0.0

    def _twap(self, currency: str, expiry_ms: int) -> float:
        start = expiry_ms - self.config.twap_minutes * 60_000
        samples = [
            self.source.index_price(currency, start + k * 60_000) for k in range(self.config.twap_minutes + 1)
        ]
        return round(sum(samples) / len(samples), 2)

    def _daily_settlement(self) -> None:
        for rec in self.instruments.values():
            if not rec.expired:
                rec.settlement_price = rec.quote.mark_price
        for account in self.accounts.values():
            account.session_rpl.clear()
            for name in [n for n, p in account.positions.items() if p.size == 0]:
                del account.positions[name]
            for pos in account.positions.values():
                pos.session_realized = 0.0

    def delivery_price_page(self, index_name: str, offset: int, count: int) -> dict[str, Any]:
        """``public/get_delivery_prices``: the newest first."""
        days = sorted(self.delivery_prices.get(index_name, {}).items(), reverse=True)
        data = [{"date": d, "delivery_price": p} for d, p in days[offset : offset + count]]
        return {"data": data, "records_total": len(days)}
