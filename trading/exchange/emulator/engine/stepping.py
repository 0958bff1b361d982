"""Time passing: the market refresh from the source, resting-order matching on every change,
and at each 08:00 UTC the expiry delivery (30-minute index TWAP) and the daily settlement;
and resuming from a saved image on the market the source shows then."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trading.exchange.emulator.accounting import delivery_fee, option_payoff_coin
from trading.exchange.emulator.book import InstrumentRecord, solve_quote_vols
from trading.exchange.emulator.engine.core import DAY_MS, last_0800
from trading.exchange.emulator.engine.journal import EngineImage, market_token
from trading.exchange.emulator.engine.matching import Matching
from trading.exchange.emulator.market import MarketSnapshot

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
        self._market_ms = at_ms
        self._apply_snapshot(snap, at_ms, market_changed=True)
        return True

    def _apply_snapshot(self, snap: MarketSnapshot, at_ms: int, *, market_changed: bool) -> None:
        updated: list[InstrumentRecord] = []
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
                    self.changes.instruments.add(name)
                elif not rec.expired:
                    rec.set_quote(quote, at_ms=at_ms, market_changed=market_changed)
                else:
                    continue
                updated.append(rec)
        solve_quote_vols(updated)

    def _restore(self, image: EngineImage) -> None:
        """Resume from ``image`` on the market the source shows at the saved time. The same
        market (snapshot key) keeps the liquidity taken before; a moved one matches resting
        orders, as a market step would have."""
        self._load_image(image)
        snap = self.source.snapshot(self.now_ms)
        same = image.market_token is not None and market_token(snap.key) == image.market_token
        self._snap_key = snap.key
        self._market_ms = image.market_ms if same else self.now_ms
        self._apply_snapshot(snap, self._market_ms, market_changed=not same)
        if not same:
            self._match_resting()

    @property
    def market_ms(self) -> int:
        """When the market in force was taken from the source (its quotes' time)."""
        return self._market_ms

    def market_token(self) -> str | None:
        """:func:`~.journal.market_token` of the market in force (None before the first)."""
        if self._snap_key is None:
            return None
        if self._token[0] is not self._snap_key:
            self._token = (self._snap_key, market_token(self._snap_key))
        return self._token[1]

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
            self.changes.instruments.add(rec.name)
            self.changes.delivery_prices = True
            for order in self._open_orders(instrument_name=rec.name):
                order.cancel("settlement", self.now_ms)
                self._emit_order(order)
            payoff = option_payoff_coin(rec.option_type, rec.strike, delivery)
            for account in self.accounts.values():
                pos = account.positions.get(rec.name)
                if pos is None or pos.size == 0:
                    continue
                self.changes.fill(account.account_id, rec.name)
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
                self.changes.instruments.add(rec.name)
        for account in self.accounts.values():
            self.changes.account(account)  # before dropping flat positions, so their rows go too
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
