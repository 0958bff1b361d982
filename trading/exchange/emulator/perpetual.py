"""The inverse perpetuals ``BTC-PERPETUAL`` and ``ETH-PERPETUAL``: listed, quoted and charted,
not traded.

They exist so a client can read the underlying's history the way it would on Deribit
(``get_tradingview_chart_data`` on the perpetual). Everything is derived from the market source
at the time asked: the perpetual trades at the index (its chart is the index path, volume 0),
its mark carries a small constant funding premium, its book is one tick wide. Orders on them
are refused with 10020 ``invalid_or_unsupported_instrument`` (the emulator matches options
only). The instrument objects follow the perpetual in the spec's ``get_instruments`` example
(DERIBIT.md §2.1); the ticker follows the spec's ``BTC-PERPETUAL`` ticker (§2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trading.exchange.emulator.history import CandleRange, history_start_ms, index_candles
from trading.exchange.emulator.market import MarketSource

__all__ = [
    "FUNDING_8H",
    "PERPETUAL_SPECS",
    "PerpetualSpec",
    "PerpetualView",
    "perpetual_currency",
    "perpetual_name",
]

SUFFIX = "-PERPETUAL"
EXPIRATION_MS = 32_503_708_800_000  # 3000-01-01, what Deribit gives a perpetual
FUNDING_8H = 2.74e-05  # a 3 % a year premium of the mark over the index, paid every 8 hours
BAND = 0.015  # min_price / max_price: the mark -/+ 1.5 % (as in the spec's perpetual ticker)
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class PerpetualSpec:
    """Contract terms; amounts and contract sizes in USD (inverse contracts)."""

    instrument_id: int
    tick_size: float
    contract_size: int
    min_trade_amount: int
    block_trade_min_trade_amount: int
    book_amount: int  # what each of the emulated book's levels shows


PERPETUAL_SPECS: dict[str, PerpetualSpec] = {
    # BTC: the spec example's terms; the ids are the emulator's (options start at 500001)
    "BTC": PerpetualSpec(124972, 0.5, 10, 10, 200_000, 250_000),
    "ETH": PerpetualSpec(124973, 0.05, 1, 1, 100_000, 100_000),
}


def perpetual_name(currency: str) -> str:
    return f"{currency}{SUFFIX}"


def perpetual_currency(name: str, currencies: tuple[str, ...] | list[str]) -> str | None:
    """The currency of ``name`` if it is the perpetual of one of ``currencies``, else None."""
    if not name.endswith(SUFFIX):
        return None
    currency = name.removesuffix(SUFFIX)
    return currency if currency in currencies and currency in PERPETUAL_SPECS else None


def _on_tick(price: float, tick: float) -> float:
    return round(round(price / tick) * tick, 2)


class PerpetualView:
    """One perpetual at one time, from ``source`` and the index the engine shows."""

    def __init__(self, source: MarketSource, currency: str, *, now_ms: int, index_price: float) -> None:
        self.source = source
        self.currency = currency
        self.spec = PERPETUAL_SPECS[currency]
        self.now_ms = now_ms
        self.index_price = index_price
        self.name = perpetual_name(currency)
        tick = self.spec.tick_size
        self.mark_price = _on_tick(index_price * (1.0 + FUNDING_8H), tick)
        self.best_bid_price = self.mark_price  # a one-tick book at the mark
        self.best_ask_price = round(self.mark_price + tick, 2)

    def wire(self) -> dict[str, Any]:
        """The ``get_instruments`` object (field set of the spec's BTC-PERPETUAL)."""
        spec, cur = self.spec, self.currency
        return {
            "tick_size": spec.tick_size,
            "tick_size_steps": [],
            "taker_commission": 0.0005,
            "settlement_period": "perpetual",
            "settlement_currency": cur,
            "quote_currency": "USD",
            "price_index": f"{cur.lower()}_usd",
            "min_trade_amount": spec.min_trade_amount,
            "max_liquidation_commission": 0.0075,
            "max_leverage": 50,
            "maker_commission": 0.0,
            "kind": "future",
            "is_active": True,
            "instrument_name": self.name,
            "instrument_id": spec.instrument_id,
            "instrument_type": "reversed",
            "expiration_timestamp": EXPIRATION_MS,
            "creation_timestamp": history_start_ms(self.source, cur),
            "counter_currency": "USD",
            "contract_size": spec.contract_size,
            "block_trade_tick_size": 0.01,
            "block_trade_min_trade_amount": spec.block_trade_min_trade_amount,
            "block_trade_commission": 0.00025,
            "base_currency": cur,
            "state": "open",
        }

    def _day(self) -> tuple[float, float, float]:
        """(high, low, open) of the index over the last 24 hours (or since the history began)."""
        start = max(self.now_ms - DAY_MS + 1, history_start_ms(self.source, self.currency))
        window = CandleRange(
            ticks=np.array([start], dtype=np.int64),
            step_ms=self.now_ms - start + 1,
            end_ms=self.now_ms,
            older=False,
        )
        o, h, low, _ = index_candles(self.source, self.currency, window)[0]
        return float(h), float(low), float(o)

    def ticker(self) -> dict[str, Any]:
        """``public/ticker`` (fields of the spec's BTC-PERPETUAL ticker)."""
        high, low, first = self._day()
        settlement = self.source.index_price(self.currency, _last_0800(self.now_ms))
        return {
            "best_ask_amount": float(self.spec.book_amount),
            "best_ask_price": self.best_ask_price,
            "best_bid_amount": float(self.spec.book_amount),
            "best_bid_price": self.best_bid_price,
            "current_funding": 0.0,
            "estimated_delivery_price": self.index_price,
            "funding_8h": FUNDING_8H,
            "index_price": self.index_price,
            "instrument_name": self.name,
            "interest_value": 0.0,
            "last_price": _on_tick(self.index_price, self.spec.tick_size),
            "mark_price": self.mark_price,
            "max_price": round(self.mark_price * (1.0 + BAND), 2),
            "min_price": round(self.mark_price * (1.0 - BAND), 2),
            "open_interest": 0.0,
            "settlement_price": settlement,
            "state": "open",
            "stats": {
                "high": high,
                "low": low,
                "price_change": round((self.index_price / first - 1.0) * 100.0, 4) if first else 0.0,
                "volume": 0.0,
                "volume_usd": 0.0,
            },
            "timestamp": self.now_ms,
        }

    def order_book(self, *, depth: int, change_id: int) -> dict[str, Any]:
        """``public/get_order_book``: the ticker plus a few levels a tick apart each side."""
        tick, amount = self.spec.tick_size, float(self.spec.book_amount)
        levels = range(min(depth, 5))
        book = self.ticker()
        book["bids"] = [[round(self.best_bid_price - i * tick, 2), amount] for i in levels]
        book["asks"] = [[round(self.best_ask_price + i * tick, 2), amount] for i in levels]
        book["change_id"] = change_id
        return book

    def book_summary(self) -> dict[str, Any]:
        """``get_book_summary_by_currency`` row of a future."""
        high, low, first = self._day()
        return {
            "volume": 0.0,
            "volume_usd": 0.0,
            "volume_notional": 0.0,
            "quote_currency": "USD",
            "price_change": round((self.index_price / first - 1.0) * 100.0, 4) if first else 0.0,
            "open_interest": 0.0,
            "mid_price": round((self.best_bid_price + self.best_ask_price) / 2.0, 4),
            "mark_price": self.mark_price,
            "low": low,
            "last": _on_tick(self.index_price, self.spec.tick_size),
            "instrument_name": self.name,
            "high": high,
            "funding_8h": FUNDING_8H,
            "estimated_delivery_price": self.index_price,
            "current_funding": 0.0,
            "creation_timestamp": self.now_ms,
            "bid_price": self.best_bid_price,
            "base_currency": self.currency,
            "ask_price": self.best_ask_price,
        }


def _last_0800(now_ms: int) -> int:
    hour8 = 8 * 3_600_000
    return (now_ms - hour8) // DAY_MS * DAY_MS + hour8
