"""The backtest's own coin-margined account: balances per coin, option positions, trades.

Equity of a coin = balance + the value of its open options at mark (short positions subtract).
Settlement: a position whose expiry (08:00 UTC) has passed is settled at the first step that has
its currency, at that snapshot's index price, which stands in for Deribit's delivery price (the
30-minute TWAP of the index before 08:00); with snapshots taken after 08:00 this is an
approximation that grows with the gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from backtests.engine.fills import SETTLEMENT, Trade
from trading.quant.settlement import settlement_fee_coin, settlement_value_coin
from trading.strategies.base import AccountView, CurrencyAccount, Leg, LegIntent, OptionPosition, Side
from trading.strategies.contracts import option_fee_coin
from trading.strategies.market import MarketSnapshot

_DUST = 1e-9


def _dec(x: float) -> Decimal:
    return Decimal(repr(x))


@dataclass
class Book:
    """Mutable state of one backtest run; only the engine changes it."""

    balances_coin: dict[str, float]
    positions: dict[tuple[str, str], OptionPosition] = field(default_factory=dict)
    """By (strategy, instrument)."""
    trades: list[Trade] = field(default_factory=list)
    marks_coin: dict[str, float] = field(default_factory=dict)
    """Last known mark of each instrument held, coin (kept when a snapshot lacks it)."""

    def position_tuple(self) -> tuple[OptionPosition, ...]:
        return tuple(self.positions[k] for k in sorted(self.positions))

    def update_marks(self, market: MarketSnapshot) -> None:
        for p in self.positions.values():
            q = market.quote(p.currency, p.instrument_name)
            if q is not None and math.isfinite(q.mark_coin):
                self.marks_coin[p.instrument_name] = q.mark_coin

    def equity_coin(self, currency: str) -> float:
        value = sum(
            p.size_contracts * self.marks_coin.get(p.instrument_name, p.open_price_coin)
            for p in self.positions.values()
            if p.currency == currency
        )
        return self.balances_coin.get(currency, 0.0) + value

    def account(self, now: datetime) -> AccountView:
        """The account as strategies and the risk engine see it (margins not modelled: 0)."""
        return AccountView(
            now,
            {
                c: CurrencyAccount(c, b, self.equity_coin(c), 0.0, 0.0)
                for c, b in sorted(self.balances_coin.items())
            },
        )

    def _book(self, trade: Trade, pos: OptionPosition | None, leg_like: OptionPosition) -> None:
        self.balances_coin[trade.currency] = self.balances_coin.get(trade.currency, 0.0) + trade.cash_coin
        delta = trade.size_contracts if trade.side is Side.BUY else -trade.size_contracts
        key = (trade.strategy, trade.instrument_name)
        old = pos.size_contracts if pos is not None else 0.0
        new = old + delta
        if abs(new) < _DUST:
            self.positions.pop(key, None)
            self.marks_coin.pop(trade.instrument_name, None)
        else:
            same_way = pos is not None and (old > 0) == (delta > 0)
            price = (
                (abs(old) * pos.open_price_coin + abs(delta) * trade.price_coin) / (abs(old) + abs(delta))
                if same_way and pos is not None
                else (pos.open_price_coin if pos is not None else trade.price_coin)
            )
            self.positions[key] = replace(leg_like, size_contracts=new, open_price_coin=price)
        self.trades.append(trade)

    def fill(
        self,
        *,
        strategy: str,
        leg: Leg,
        price_coin: float,
        at: datetime,
        index_price_usd: float,
        provenance: str,
        proposal_id: str,
    ) -> Trade | None:
        """Book ``leg`` filled at ``price_coin``; a close leg is cut to the position it reduces."""
        pos = self.positions.get((strategy, leg.instrument_name))
        size = leg.size_contracts
        if leg.intent is LegIntent.CLOSE:
            held = abs(pos.size_contracts) if pos is not None else 0.0
            reduces = pos is not None and (pos.size_contracts < 0) == (leg.side is Side.BUY)
            size = min(size, held) if reduces else 0.0
        if size <= _DUST:
            return None
        trade = Trade(
            at=at,
            strategy=strategy,
            currency=leg.currency,
            instrument_name=leg.instrument_name,
            side=leg.side,
            kind=leg.intent.value,
            size_contracts=size,
            price_coin=price_coin,
            fee_coin=option_fee_coin(price_coin, size),
            index_price_usd=index_price_usd,
            provenance=provenance,
            limit_price_coin=leg.limit_price_coin,
            proposal_id=proposal_id,
        )
        like = OptionPosition(
            strategy, leg.instrument_name, leg.currency, leg.option_type, leg.strike_usd, leg.expiry, 0.0, 0.0
        )
        self._book(trade, pos, like)
        return trade

    def settle_expired(self, *, now: datetime, index_usd: dict[str, float]) -> list[Trade]:
        """Settle every position expired by ``now`` whose currency has an index in this step."""
        out: list[Trade] = []
        for key in sorted(self.positions):
            p = self.positions[key]
            delivery = index_usd.get(p.currency)
            if p.expiry > now or delivery is None or not math.isfinite(delivery) or delivery <= 0.0:
                continue
            value = settlement_value_coin(
                option_type=p.option_type, strike_usd=_dec(p.strike_usd), delivery_price_usd=_dec(delivery)
            )
            fee = settlement_fee_coin(value_coin=value, contracts=_dec(p.size_contracts))
            trade = Trade(
                at=p.expiry,
                strategy=p.strategy,
                currency=p.currency,
                instrument_name=p.instrument_name,
                side=Side.BUY if p.is_short else Side.SELL,
                kind="settle",
                size_contracts=abs(p.size_contracts),
                price_coin=float(value),
                fee_coin=float(fee),
                index_price_usd=delivery,
                provenance=SETTLEMENT,
            )
            self._book(trade, p, p)
            out.append(trade)
        return out
