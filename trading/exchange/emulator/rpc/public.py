"""Handlers of the public market-data methods (instruments, tickers, books, index, DVOL,
chart data, delivery prices). Options come from the engine; the perpetuals are derived from the
market source when asked (:mod:`..perpetual`), and so are the index and DVOL candles, before the
clock's start as well (:mod:`..history`)."""

from __future__ import annotations

from typing import Any

from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.book import InstrumentRecord
from trading.exchange.emulator.history import (
    CHART_LIMIT,
    DVOL_PAGE,
    candle_range,
    chart_step_ms,
    dvol_candles,
    dvol_step_ms,
    history_start_ms,
    index_candles,
)
from trading.exchange.emulator.perpetual import PerpetualView, perpetual_currency, perpetual_name
from trading.exchange.emulator.rpc.protocol import CallContext, HandlerBase

__all__ = ["MarketDataMethods"]

_OPTION_KINDS = (None, "option", "any")
_FUTURE_KINDS = (None, "future", "any")


class MarketDataMethods(HandlerBase):
    def _perpetual(self, name: str) -> PerpetualView | None:
        currency = perpetual_currency(name, list(self.engine.index))
        if currency is None:
            return None
        return PerpetualView(
            self.engine.source, currency, now_ms=self.engine.now_ms, index_price=self.engine.index[currency]
        )

    def _perpetuals(self, currency: str) -> list[PerpetualView]:
        views = (self._perpetual(perpetual_name(c)) for c in self.engine.index if currency in ("any", c))
        return [v for v in views if v is not None]

    def _currency_of_index(self, index_name: str) -> str:
        base, _, quote = index_name.partition("_")
        currency = base.upper()
        if quote not in ("usd", "usdc") or currency not in self.engine.index:
            raise RpcError.invalid_param("index_name", "invalid index_name")
        return currency

    def m_public_get_instruments(self, p: dict[str, Any], ctx: CallContext) -> Any:
        kind, expired, cur = p.get("kind"), p.get("expired", False), p.get("currency", "any")
        out: list[dict[str, Any]] = []
        if kind in _FUTURE_KINDS and not expired:
            out.extend(v.wire() for v in self._perpetuals(cur))
        if kind in _OPTION_KINDS:
            out.extend(
                r.wire()
                for r in self.engine.instruments.values()
                if r.expired == expired and cur in ("any", r.currency)
            )
        return out

    def m_public_get_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        perpetual = self._perpetual(p["instrument_name"])
        if perpetual is not None:
            return perpetual.wire()
        return self.engine.instrument(p["instrument_name"]).wire()

    def m_public_get_index_price(self, p: dict[str, Any], ctx: CallContext) -> Any:
        price = self.engine.index[self._currency_of_index(p["index_name"])]
        return {"index_price": price, "estimated_delivery_price": price}

    def m_public_get_index_price_names(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return [f"{c.lower()}_usd" for c in self.engine.index]

    def _live(self, name: str) -> InstrumentRecord:
        return self.engine.instrument(name)

    def m_public_ticker(self, p: dict[str, Any], ctx: CallContext) -> Any:
        perpetual = self._perpetual(p["instrument_name"])
        if perpetual is not None:
            return perpetual.ticker()
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
        perpetual = self._perpetual(p["instrument_name"])
        if perpetual is not None:
            return perpetual.order_book(depth=p.get("depth", 20), change_id=self.engine.next_change_id())
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
        kind, now, cur = p.get("kind"), self.engine.now_ms, p["currency"]
        out: list[dict[str, Any]] = []
        if kind in _FUTURE_KINDS:
            out.extend(v.book_summary() for v in self._perpetuals(cur))
        if kind in _OPTION_KINDS:
            out.extend(
                r.book_summary(now_ms=now, index_price=self.engine.index[r.currency])
                for r in self.engine.instruments.values()
                if not r.expired and r.currency == cur
            )
        return out

    def m_public_get_book_summary_by_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        perpetual = self._perpetual(p["instrument_name"])
        if perpetual is not None:
            return [perpetual.book_summary()]
        rec = self._live(p["instrument_name"])
        return [rec.book_summary(now_ms=self.engine.now_ms, index_price=self.engine.index[rec.currency])]

    def m_public_get_volatility_index_data(self, p: dict[str, Any], ctx: CallContext) -> Any:
        """DVOL candles, the newest :data:`DVOL_PAGE` of the range; ``continuation`` (the next
        ``end_timestamp``) when older ones were left out, as Deribit pages backwards."""
        cur = p["currency"]
        if cur not in self.engine.index:
            return {"data": [], "continuation": None}
        source = self.engine.source
        span = candle_range(
            start_ms=p["start_timestamp"],
            end_ms=p["end_timestamp"],
            step_ms=dvol_step_ms(p["resolution"]),
            now_ms=self.engine.now_ms,
            first_ms=history_start_ms(source, cur),
            limit=DVOL_PAGE,
        )
        ohlc = dvol_candles(source, cur, span).tolist()
        data = [[t, *row] for t, row in zip(span.ticks.tolist(), ohlc, strict=True)]
        continuation = int(span.ticks[0]) - 1 if span.older else None
        return {"data": data, "continuation": continuation}

    def m_public_get_tradingview_chart_data(self, p: dict[str, Any], ctx: CallContext) -> Any:
        step = chart_step_ms(p["resolution"])
        perpetual = self._perpetual(p["instrument_name"])
        if perpetual is not None:
            return self._index_chart(perpetual.currency, p, step)
        rec = self.engine.instrument(p["instrument_name"])
        end = min(p["end_timestamp"], self.engine.now_ms, rec.expiration_ms)
        start = max(-(-p["start_timestamp"] // step) * step, rec.creation_ms // step * step)
        ticks = list(range(start, end + 1, step))[-CHART_LIMIT:]
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

    def _index_chart(self, currency: str, p: dict[str, Any], step: int) -> dict[str, Any]:
        """A perpetual's candles: the index path (USD), no volume (nothing trades on it)."""
        source = self.engine.source
        span = candle_range(
            start_ms=p["start_timestamp"],
            end_ms=p["end_timestamp"],
            step_ms=step,
            now_ms=self.engine.now_ms,
            first_ms=history_start_ms(source, currency),
            limit=CHART_LIMIT,
        )
        ohlc = index_candles(source, currency, span)
        zeros = [0.0] * len(span.ticks)
        return {
            "status": "ok" if len(span.ticks) else "no_data",
            "ticks": span.ticks.tolist(),
            "open": ohlc[:, 0].tolist(),
            "high": ohlc[:, 1].tolist(),
            "low": ohlc[:, 2].tolist(),
            "close": ohlc[:, 3].tolist(),
            "volume": zeros,
            "cost": list(zeros),
        }

    def m_public_get_delivery_prices(self, p: dict[str, Any], ctx: CallContext) -> Any:
        self._currency_of_index(p["index_name"])
        count = p.get("count", 10)
        if not 1 <= count <= 1000:
            raise RpcError.invalid_param("count", "count must be between 1 and 1000")
        return self.engine.delivery_price_page(p["index_name"], p.get("offset", 0), count)
