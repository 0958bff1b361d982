"""Handlers of the public market-data methods (instruments, tickers, books, index, DVOL,
chart data, delivery prices)."""

from __future__ import annotations

from typing import Any

from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.book import InstrumentRecord
from trading.exchange.emulator.rpc.protocol import CallContext, HandlerBase

__all__ = ["MarketDataMethods"]


def _res_ms(resolution: str, unit_ms: int) -> int:
    return 86_400_000 if resolution == "1D" else int(resolution) * unit_ms


class MarketDataMethods(HandlerBase):
    def _currency_of_index(self, index_name: str) -> str:
        base, _, quote = index_name.partition("_")
        currency = base.upper()
        if quote not in ("usd", "usdc") or currency not in self.engine.index:
            raise RpcError.invalid_param("index_name", "invalid index_name")
        return currency

    def m_public_get_instruments(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if p.get("kind") not in (None, "option", "any"):
            return []
        expired = p.get("expired", False)
        cur = p["currency"]
        return [
            r.wire()
            for r in self.engine.instruments.values()
            if r.expired == expired and cur in ("any", r.currency)
        ]

    def m_public_get_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.instrument(p["instrument_name"]).wire()

    def m_public_get_index_price(self, p: dict[str, Any], ctx: CallContext) -> Any:
        price = self.engine.index[self._currency_of_index(p["index_name"])]
        return {"index_price": price, "estimated_delivery_price": price}

    def m_public_get_index_price_names(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return [f"{c.lower()}_usd" for c in self.engine.index]

    def _live(self, name: str) -> InstrumentRecord:
        return self.engine.instrument(name)

    def m_public_ticker(self, p: dict[str, Any], ctx: CallContext) -> Any:
        rec = self._live(p["instrument_name"])
        bids, asks = self.engine.own_levels(rec.name)
        result = rec.ticker(
            now_ms=self.engine.now_ms,
            index_price=self.engine.index[rec.currency],
            own_bids=bids,
            own_asks=asks,
        )
        if rec.expired:
            result["delivery_price"] = rec.delivery_price
        return result

    def m_public_get_order_book(self, p: dict[str, Any], ctx: CallContext) -> Any:
        rec = self._live(p["instrument_name"])
        bids, asks = self.engine.own_levels(rec.name)
        return rec.order_book(
            now_ms=self.engine.now_ms,
            index_price=self.engine.index[rec.currency],
            own_bids=bids,
            own_asks=asks,
            depth=p.get("depth", 20),
            change_id=self.engine.next_change_id(),
        )

    def m_public_get_book_summary_by_currency(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if p.get("kind") not in (None, "option", "any"):
            return []
        now, cur = self.engine.now_ms, p["currency"]
        return [
            r.book_summary(now_ms=now, index_price=self.engine.index[r.currency])
            for r in self.engine.instruments.values()
            if not r.expired and r.currency == cur
        ]

    def m_public_get_book_summary_by_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        rec = self._live(p["instrument_name"])
        return [rec.book_summary(now_ms=self.engine.now_ms, index_price=self.engine.index[rec.currency])]

    def m_public_get_volatility_index_data(self, p: dict[str, Any], ctx: CallContext) -> Any:
        cur = p["currency"]
        if cur not in self.engine.index:
            return {"data": [], "continuation": None}
        step = _res_ms(p["resolution"], 1000)
        end = min(p["end_timestamp"], self.engine.now_ms)
        start = -(-p["start_timestamp"] // step) * step
        ticks = list(range(start, end + 1, step))
        continuation = None
        if len(ticks) > 1000:
            ticks = ticks[-1000:]
            continuation = ticks[0] - 1
        source = self.engine.source
        data = []
        for t in ticks:
            o = source.dvol(cur, t)
            c = source.dvol(cur, min(t + step - 1, self.engine.now_ms))
            data.append([t, o, max(o, c), min(o, c), c])
        return {"data": data, "continuation": continuation}

    def m_public_get_tradingview_chart_data(self, p: dict[str, Any], ctx: CallContext) -> Any:
        rec = self.engine.instrument(p["instrument_name"])
        step = _res_ms(p["resolution"], 60_000)
        end = min(p["end_timestamp"], self.engine.now_ms, rec.expiration_ms)
        start = max(-(-p["start_timestamp"] // step) * step, rec.creation_ms // step * step)
        ticks = list(range(start, end + 1, step))[-5000:]
        out: dict[str, list[Any]] = {
            k: [] for k in ("ticks", "open", "high", "low", "close", "volume", "cost")
        }
        source = self.engine.source
        trades = [t for _, _, t in self.engine.trades if t["instrument_name"] == rec.name]
        for t in ticks:
            o = source.mark_price(rec.name, t)
            c = source.mark_price(rec.name, min(t + step - 1, end))
            if o is None or c is None:
                continue
            window = [tr for tr in trades if t <= tr["timestamp"] < t + step]
            prices = [o, c, *(tr["price"] for tr in window)]
            out["ticks"].append(t)
            out["open"].append(o)
            out["close"].append(c)
            out["high"].append(max(prices))
            out["low"].append(min(prices))
            volume = sum(tr["amount"] for tr in window)
            out["volume"].append(round(volume, 8))
            out["cost"].append(round(sum(tr["amount"] * tr["price"] for tr in window), 8))
        return {"status": "ok" if out["ticks"] else "no_data", **out}

    def m_public_get_delivery_prices(self, p: dict[str, Any], ctx: CallContext) -> Any:
        self._currency_of_index(p["index_name"])
        count = p.get("count", 10)
        if not 1 <= count <= 1000:
            raise RpcError.invalid_param("count", "count must be between 1 and 1000")
        return self.engine.delivery_price_page(p["index_name"], p.get("offset", 0), count)
