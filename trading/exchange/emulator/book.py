"""Instruments as the emulator lists them, their emulated books, and market-data wire objects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trading.exchange.emulator.market import (
    MIN_TRADE_AMOUNT,
    OPTION_TICK,
    OPTION_TICK_STEPS,
    OptionQuote,
    ceil_to_tick,
    floor_to_tick,
    option_tick,
)
from trading.exchange.emulator.pricing import MS_PER_YEAR, greeks, implied_vol_coin

__all__ = ["InstrumentRecord", "Level", "price_band", "solve_quote_vols"]

Level = tuple[float, float]  # (price coin, amount coin)

# depth synthesised behind the quoted top of book: (ticks away, size multiple)
_DEPTH = ((0, 1.0), (2, 1.5), (5, 3.0))


def price_band(mark_price: float) -> tuple[float, float]:
    """(min_price, max_price) an order may carry, around the mark (inferred from real tickers)."""
    low = max(OPTION_TICK, floor_to_tick(max(mark_price - max(0.0175, 0.42 * mark_price), 0.0)))
    high = floor_to_tick(mark_price + max(0.0175, 0.5 * mark_price))
    return low, max(high, low)


def _r(value: Any, digits: int = 8) -> float:
    return round(float(value), digits)


@dataclass
class InstrumentRecord:
    """One listed option and what the emulator remembers about it."""

    name: str
    currency: str
    strike: float
    option_type: str
    expiration_ms: int
    creation_ms: int
    settlement_period: str
    instrument_id: int
    quote: OptionQuote
    min_trade_amount: float = 0.1
    maker_commission: float = 0.0003
    taker_commission: float = 0.0003
    settlement_price: float | None = None
    delivery_price: float | None = None
    expired: bool = False
    last_price: float | None = None
    first_price: float | None = None
    traded_volume: float = 0.0
    high: float | None = None
    low: float | None = None
    trade_seq: int = 0
    #: when ``quote`` was taken from the market: the time its implied vols are solved at
    quote_ms: int = 0
    consumed: dict[tuple[str, float], float] = field(default_factory=dict)
    #: implied vol (decimal, NaN if none) by price, for the current quote
    _ivs: dict[float, float] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_quote(cls, quote: OptionQuote, *, instrument_id: int, now_ms: int) -> InstrumentRecord:
        return cls(
            quote_ms=now_ms,
            name=quote.instrument_name,
            currency=quote.currency,
            strike=quote.strike,
            option_type=quote.option_type,
            expiration_ms=quote.expiration_ms,
            creation_ms=min(quote.creation_ms, now_ms) if quote.creation_ms is not None else now_ms,
            settlement_period=quote.settlement_period,
            instrument_id=instrument_id,
            quote=quote,
            min_trade_amount=MIN_TRADE_AMOUNT.get(quote.currency, 1.0),
            settlement_price=quote.mark_price,
        )

    @property
    def index_name(self) -> str:
        return f"{self.currency.lower()}_usd"

    def is_on_tick(self, price: float) -> bool:
        tick = option_tick(price)
        return abs(price / tick - round(price / tick)) < 1e-6

    def wire(self) -> dict[str, Any]:
        """The ``get_instruments`` object, in the shape of the real 2025 objects (DERIBIT.md §2.1)."""
        return {
            "price_index": self.index_name,
            "rfq": False,
            "kind": "option",
            "instrument_name": self.name,
            "maker_commission": self.maker_commission,
            "taker_commission": self.taker_commission,
            "instrument_type": "reversed",
            "expiration_timestamp": self.expiration_ms,
            "creation_timestamp": self.creation_ms,
            "is_active": not self.expired,
            "option_type": self.option_type,
            "contract_size": 1,
            "tick_size": OPTION_TICK,
            "strike": int(self.strike) if float(self.strike).is_integer() else self.strike,
            "instrument_id": self.instrument_id,
            "settlement_period": self.settlement_period,
            "min_trade_amount": int(self.min_trade_amount)
            if self.min_trade_amount >= 1
            else self.min_trade_amount,
            "block_trade_commission": self.maker_commission,
            "block_trade_min_trade_amount": 25 if self.currency == "BTC" else 250,
            "block_trade_tick_size": OPTION_TICK,
            "settlement_currency": self.currency,
            "base_currency": self.currency,
            "counter_currency": "USD",
            "quote_currency": self.currency,
            "tick_size_steps": [
                {"tick_size": step, "above_price": above} for above, step in OPTION_TICK_STEPS
            ],
        }

    # ------------------------------------------------------------------ book

    def market_levels(self, side: str) -> list[Level]:
        """Market liquidity left on ``side`` ("bids"/"asks") after this account's fills."""
        q = self.quote
        best = q.best_ask_price if side == "asks" else q.best_bid_price
        size = q.best_ask_amount if side == "asks" else q.best_bid_amount
        if best is None or size <= 0:
            return []
        levels: list[Level] = []
        for ticks, mult in _DEPTH:
            if side == "asks":
                price = ceil_to_tick(best + ticks * option_tick(best))
            else:
                price = floor_to_tick(best - ticks * option_tick(best))
            if price < OPTION_TICK - 1e-12:
                break
            lot = self.min_trade_amount
            amount = math.floor(size * mult / lot + 1e-9) * lot
            left = round(amount - self.consumed.get((side, price), 0.0), 8)
            if left > 1e-9:
                levels.append((price, left))
        return levels

    def consume(self, side: str, price: float, amount: float) -> None:
        key = (side, price)
        self.consumed[key] = round(self.consumed.get(key, 0.0) + amount, 8)

    def set_quote(self, quote: OptionQuote, *, at_ms: int, market_changed: bool) -> None:
        self.quote = quote
        self.quote_ms = at_ms
        self._ivs.clear()
        if market_changed:
            self.consumed.clear()

    def implied_vol_at(self, price: float) -> float:
        """The implied vol (decimal; NaN if none fits) of ``price`` (coin) under the current quote,
        solved at the quote's time. Top-of-book prices are solved for the whole chain at once when
        the market steps (:func:`solve_quote_vols`); other prices once, then remembered."""
        iv = self._ivs.get(price)
        if iv is None:
            q = self.quote
            iv = float(
                implied_vol_coin(
                    price,
                    q.underlying_price,
                    self.strike,
                    self.t_years(self.quote_ms),
                    self.option_type == "call",
                )[0]
            )
            self._ivs[price] = iv
        return iv

    # ------------------------------------------------------------------ wire objects

    def price_change_pct(self) -> float:
        """Change of the last trade price against the first one seen, in percent (0 without trades)."""
        if self.first_price is None or self.last_price is None:
            return 0.0
        return round((self.last_price / self.first_price - 1.0) * 100.0, 4)

    def t_years(self, now_ms: int) -> float:
        return max(self.expiration_ms - now_ms, 0) / MS_PER_YEAR

    def ticker(
        self, *, now_ms: int, index_price: float, own_bids: list[Level], own_asks: list[Level]
    ) -> dict[str, Any]:
        """``public/ticker`` result (option fields as in the real 2025 ticker)."""
        q = self.quote
        bids = merge_levels(self.market_levels("bids"), own_bids, descending=True)
        asks = merge_levels(self.market_levels("asks"), own_asks, descending=False)
        t = self.t_years(now_ms)
        is_call = self.option_type == "call"
        g = greeks(q.underlying_price, self.strike, t, q.mark_iv / 100.0, is_call)
        bid_iv = self.implied_vol_at(bids[0][0]) if bids else math.nan
        ask_iv = self.implied_vol_at(asks[0][0]) if asks else math.nan
        low, high = price_band(q.mark_price)

        def iv_pct(x: float) -> float:
            return 0.0 if not math.isfinite(x) else round(x * 100.0, 2)

        return {
            "timestamp": now_ms,
            "state": "closed" if self.expired else "open",
            "stats": {
                "high": self.high,
                "low": self.low,
                "price_change": self.price_change_pct(),
                "volume": _r(q.volume + self.traded_volume, 4),
                "volume_usd": _r((q.volume + self.traded_volume) * index_price * max(q.mark_price, 0.0), 2),
            },
            "greeks": {
                "delta": _r(g["delta"], 5),
                "gamma": _r(g["gamma"], 5),
                "vega": _r(g["vega"], 5),
                "theta": _r(g["theta"], 5),
                "rho": _r(g["rho"], 5),
            },
            "index_price": index_price,
            "instrument_name": self.name,
            "last_price": self.last_price,
            "settlement_price": self.settlement_price if self.settlement_price is not None else q.mark_price,
            "min_price": low,
            "max_price": high,
            "open_interest": q.open_interest,
            "mark_price": q.mark_price,
            "best_bid_price": bids[0][0] if bids else 0.0,
            "best_ask_price": asks[0][0] if asks else 0.0,
            "interest_rate": 0.0,
            "mark_iv": q.mark_iv,
            "bid_iv": iv_pct(bid_iv),
            "ask_iv": iv_pct(ask_iv),
            "underlying_price": q.underlying_price,
            "underlying_index": q.underlying_index,
            "estimated_delivery_price": index_price,
            "best_ask_amount": asks[0][1] if asks else 0.0,
            "best_bid_amount": bids[0][1] if bids else 0.0,
        }

    def order_book(
        self,
        *,
        now_ms: int,
        index_price: float,
        own_bids: list[Level],
        own_asks: list[Level],
        depth: int,
        change_id: int,
    ) -> dict[str, Any]:
        book = self.ticker(now_ms=now_ms, index_price=index_price, own_bids=own_bids, own_asks=own_asks)
        bids = merge_levels(self.market_levels("bids"), own_bids, descending=True)[:depth]
        asks = merge_levels(self.market_levels("asks"), own_asks, descending=False)[:depth]
        book["bids"] = [[p, a] for p, a in bids]
        book["asks"] = [[p, a] for p, a in asks]
        book["change_id"] = change_id
        return book

    def book_summary(self, *, now_ms: int, index_price: float) -> dict[str, Any]:
        """``get_book_summary_by_currency`` item (same fields as the real 2020 option row)."""
        q = self.quote
        bids = self.market_levels("bids")
        asks = self.market_levels("asks")
        bid = bids[0][0] if bids else None
        ask = asks[0][0] if asks else None
        return {
            "volume": _r(q.volume + self.traded_volume, 4),
            "underlying_price": q.underlying_price,
            "underlying_index": q.underlying_index,
            "quote_currency": self.currency,
            "price_change": self.price_change_pct(),
            "open_interest": q.open_interest,
            "mid_price": _r((bid + ask) / 2.0, 8) if bid is not None and ask is not None else None,
            "mark_price": q.mark_price,
            "mark_iv": q.mark_iv,
            "low": self.low,
            "last": self.last_price,
            "interest_rate": 0.0,
            "instrument_name": self.name,
            "high": self.high,
            "estimated_delivery_price": index_price,
            "creation_timestamp": now_ms,
            "bid_price": bid,
            "base_currency": self.currency,
            "ask_price": ask,
            "volume_usd": _r(q.volume_usd, 2),
        }


def solve_quote_vols(records: Sequence[InstrumentRecord]) -> None:
    """Solve the implied vols of every record's best bid and ask in one vectorised pass (the
    prices a ticker or a taker fill most often asks about), each at its quote's time."""
    if not records:
        return
    prices: list[float] = []
    owners: list[InstrumentRecord] = []
    for rec in records:
        q = rec.quote
        for price in (q.best_bid_price, q.best_ask_price):
            if price is not None:
                prices.append(price)
                owners.append(rec)
    if not prices:
        return
    ivs = implied_vol_coin(
        prices,
        [r.quote.underlying_price for r in owners],
        [r.strike for r in owners],
        [r.t_years(r.quote_ms) for r in owners],
        [r.option_type == "call" for r in owners],
    )
    for rec, price, iv in zip(owners, prices, ivs.tolist(), strict=True):
        rec._ivs[price] = iv


def merge_levels(market: list[Level], own: list[Level], *, descending: bool) -> list[Level]:
    """Aggregate market and own levels by price, best first."""
    total: dict[float, float] = {}
    for price, amount in (*market, *own):
        total[price] = round(total.get(price, 0.0) + amount, 8)
    return sorted(total.items(), key=lambda level: -level[0] if descending else level[0])
