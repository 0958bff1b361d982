"""The backtest's own coin-margined account: balances per coin, option positions, trades.

Equity of a coin = balance + the value of its open options at mark (short positions subtract).
Margin: Deribit's standard initial and maintenance margin of the short options
(``trading.risk.margin``), at the step's mark and index; bought options need none.
Settlement: a position whose expiry (08:00 UTC) has passed is settled at the first step that has
its currency, at that snapshot's index price, which stands in for Deribit's delivery price (the
30-minute TWAP of the index before 08:00); with snapshots taken after 08:00 this is an
approximation that grows with the gap.

Every position is followed from its first fill until it is flat again and then reported as a
:class:`~backtests.engine.records.RoundTrip`, with its P&L attributed to the greeks step by step
(see ``backtests.engine.records``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from backtests.engine.fills import DELIVERY_PRICE, SETTLEMENT, Trade
from backtests.engine.records import ATTRIBUTION_PARTS, RoundTrip
from trading.quant.black76 import SECONDS_PER_YEAR
from trading.quant.settlement import settlement_fee_coin, settlement_value_coin
from trading.risk.margin import short_option_im_coin, short_option_mm_coin
from trading.strategies.base import AccountView, CurrencyAccount, Leg, LegIntent, OptionPosition, Side
from trading.strategies.contracts import option_fee_coin
from trading.strategies.market import CurrencyMarket, MarketSnapshot

_DUST = 1e-9
_SECONDS_PER_DAY = 86_400.0


def _dec(x: float) -> Decimal:
    return Decimal(repr(x))


@dataclass(frozen=True, slots=True)
class _Greeks:
    """One contract's state at a step, for the attribution of the next step's change."""

    at: datetime
    index: float
    forward: float
    mark_coin: float
    iv: float
    delta: float
    gamma: float
    vega: float
    theta: float

    @property
    def value_usd(self) -> float:
        return self.mark_coin * self.index


def _greeks_of(market: CurrencyMarket, name: str, now: datetime) -> _Greeks | None:
    row = market.row(name)
    if row is None:
        return None
    a = market.arrays
    mark = float(a["mark_coin"][row])
    index = float(a["index_price"][row])
    if not (math.isfinite(mark) and math.isfinite(index) and index > 0.0):
        return None
    return _Greeks(
        now,
        index,
        float(a["forward"][row]),
        mark,
        float(a["mark_iv"][row]),
        float(a["delta"][row]),
        float(a["gamma"][row]),
        float(a["vega"][row]),
        float(a["theta"][row]),
    )


@dataclass
class _Life:
    """A position being followed until it is flat."""

    opened_at: datetime
    short: bool
    iv_entry: float
    max_size: float = 0.0
    bought: float = 0.0
    """Contracts bought and their total price (coin), for average prices."""
    bought_coin: float = 0.0
    sold: float = 0.0
    sold_coin: float = 0.0
    fees_coin: float = 0.0
    cash_coin: float = 0.0
    cash_usd: float = 0.0
    bars: int = 0
    last: _Greeks | None = None
    rv_sum_r2: float = 0.0
    rv_sum_dt: float = 0.0
    rv_returns: int = 0
    parts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ATTRIBUTION_PARTS, 0.0))

    def carry(self, now: datetime, g: _Greeks, size: float) -> None:
        """Attribute the change of the position's USD value from ``last`` to ``g`` (``size`` signed)."""
        p = self.last
        self.last = g
        if p is None or now <= p.at:
            return
        both_fwd = math.isfinite(g.forward) and math.isfinite(p.forward)
        ds = g.forward - p.forward if both_fwd else g.index - p.index
        d_iv = 100.0 * (g.iv - p.iv) if math.isfinite(g.iv) and math.isfinite(p.iv) else 0.0
        dt_days = (now - p.at).total_seconds() / _SECONDS_PER_DAY
        parts = {
            "delta": p.delta * ds * p.index / p.forward if p.forward > 0 else p.delta * ds,
            "gamma": 0.5 * p.gamma * ds * ds,
            "vega": p.vega * d_iv,
            "theta": p.theta * dt_days,
        }
        parts = {k: v if math.isfinite(v) else 0.0 for k, v in parts.items()}
        change = g.value_usd - p.value_usd
        for k, v in parts.items():
            self.parts[k] += size * v
        self.parts["residual"] += size * (change - sum(parts.values()))
        if g.index > 0 and p.index > 0:
            self.rv_sum_r2 += math.log(g.index / p.index) ** 2
            self.rv_sum_dt += (now - p.at).total_seconds() / SECONDS_PER_YEAR
            self.rv_returns += 1


@dataclass
class Book:
    """Mutable state of one backtest run; only the engine changes it."""

    balances_coin: dict[str, float]
    positions: dict[tuple[str, str], OptionPosition] = field(default_factory=dict)
    """By (strategy, instrument)."""
    trades: list[Trade] = field(default_factory=list)
    marks_coin: dict[str, float] = field(default_factory=dict)
    """Last known mark of each instrument held, coin (kept when a snapshot lacks it)."""
    index_usd: dict[str, float] = field(default_factory=dict)
    """Last known index of each currency."""
    round_trips: list[RoundTrip] = field(default_factory=list)
    _lives: dict[tuple[str, str], _Life] = field(default_factory=dict)

    def position_tuple(self) -> tuple[OptionPosition, ...]:
        return tuple(self.positions[k] for k in sorted(self.positions))

    def update_marks(self, market: MarketSnapshot, now: datetime) -> None:
        """Take this step's marks and index; attribute each held position's change since the last step."""
        for c, m in market.markets.items():
            if math.isfinite(m.index_price_usd) and m.index_price_usd > 0.0:
                self.index_usd[c] = m.index_price_usd
        for key, p in self.positions.items():
            held_in = market.get(p.currency)
            g = _greeks_of(held_in, p.instrument_name, now) if held_in is not None else None
            if g is None:
                continue
            self.marks_coin[p.instrument_name] = g.mark_coin
            life = self._lives.get(key)
            if life is not None:
                life.carry(now, g, p.size_contracts)

    def count_bars(self) -> None:
        for life in self._lives.values():
            life.bars += 1

    def equity_coin(self, currency: str) -> float:
        value = sum(
            p.size_contracts * self.marks_coin.get(p.instrument_name, p.open_price_coin)
            for p in self.positions.values()
            if p.currency == currency
        )
        return self.balances_coin.get(currency, 0.0) + value

    def margin_coin(self, currency: str) -> tuple[float, float]:
        """Initial and maintenance margin of the short options of ``currency``, coin."""
        index = self.index_usd.get(currency, math.nan)
        im = mm = 0.0
        if not math.isfinite(index):
            return im, mm
        for p in self.positions.values():
            if p.currency != currency or not p.is_short:
                continue
            mark = self.marks_coin.get(p.instrument_name, p.open_price_coin)
            size = abs(p.size_contracts)
            im += size * short_option_im_coin(
                option_type=p.option_type, strike_usd=p.strike_usd, index_usd=index, mark_coin=mark
            )
            mm += size * short_option_mm_coin(option_type=p.option_type, mark_coin=mark)
        return im, mm

    def contracts(self, currency: str) -> float:
        return sum(abs(p.size_contracts) for p in self.positions.values() if p.currency == currency)

    def account(self, now: datetime) -> AccountView:
        """The account as strategies and the risk engine see it."""
        out = {}
        for c, b in sorted(self.balances_coin.items()):
            im, mm = self.margin_coin(c)
            out[c] = CurrencyAccount(c, b, self.equity_coin(c), im, mm)
        return AccountView(now, out)

    def _book(self, trade: Trade, pos: OptionPosition | None, leg_like: OptionPosition) -> None:
        self.balances_coin[trade.currency] = self.balances_coin.get(trade.currency, 0.0) + trade.cash_coin
        delta = trade.size_contracts if trade.side is Side.BUY else -trade.size_contracts
        key = (trade.strategy, trade.instrument_name)
        old = pos.size_contracts if pos is not None else 0.0
        new = old + delta
        life = self._lives.get(key)
        if life is None:
            iv = trade.iv if trade.iv is not None else math.nan
            life = self._lives[key] = _Life(trade.at, delta < 0, iv)
        self._life_add(life, trade, old)
        if abs(new) < _DUST:
            self.positions.pop(key, None)
            self.marks_coin.pop(trade.instrument_name, None)
            self._close_life(key, life, leg_like, trade)
        else:
            same_way = pos is not None and (old > 0) == (delta > 0)
            price = (
                (abs(old) * pos.open_price_coin + abs(delta) * trade.price_coin) / (abs(old) + abs(delta))
                if same_way and pos is not None
                else (pos.open_price_coin if pos is not None else trade.price_coin)
            )
            self.positions[key] = replace(leg_like, size_contracts=new, open_price_coin=price)
            life.max_size = max(life.max_size, abs(new))
        self.trades.append(trade)

    @staticmethod
    def _life_add(life: _Life, trade: Trade, held_before: float) -> None:
        """Add ``trade`` to ``life``; ``held_before`` is the signed position before it."""
        if trade.side is Side.BUY:
            life.bought += trade.size_contracts
            life.bought_coin += trade.size_contracts * trade.price_coin
        else:
            life.sold += trade.size_contracts
            life.sold_coin += trade.size_contracts * trade.price_coin
        life.fees_coin += trade.fee_coin
        life.cash_coin += trade.cash_coin
        life.cash_usd += trade.cash_coin * trade.index_price_usd
        life.max_size = max(life.max_size, trade.size_contracts)
        # the fee and the fill's edge against the mark at that moment stay outside the greeks
        life.parts["fees"] -= trade.fee_coin * trade.index_price_usd
        mark = trade.mark_coin if trade.mark_coin is not None else trade.price_coin
        sign = 1.0 if trade.side is Side.SELL else -1.0
        edge_coin = sign * (trade.price_coin - mark) * trade.size_contracts
        life.parts["residual"] += edge_coin * trade.index_price_usd
        if trade.kind != "open" and life.last is not None:
            # the whole position's move from the last step to this exit, on the last step's greeks
            last = life.last
            settled = trade.kind == "settle"
            exit_state = _Greeks(
                trade.at,
                trade.index_price_usd,
                trade.index_price_usd if settled else last.forward * trade.index_price_usd / last.index,
                mark,
                last.iv,
                last.delta,
                last.gamma,
                last.vega,
                last.theta,
            )
            life.carry(trade.at, exit_state, held_before)

    def _close_life(self, key: tuple[str, str], life: _Life, p: OptionPosition, last: Trade) -> None:
        del self._lives[key]
        opened_short = life.short
        entry = (
            (life.sold_coin / life.sold if life.sold else 0.0)
            if opened_short
            else (life.bought_coin / life.bought if life.bought else 0.0)
        )
        exit_ = (
            (life.bought_coin / life.bought if life.bought else 0.0)
            if opened_short
            else (life.sold_coin / life.sold if life.sold else 0.0)
        )
        settled = last.kind == "settle"
        itm = (last.price_coin > 0.0) if settled else None
        rv = (
            math.sqrt(life.rv_sum_r2 / life.rv_sum_dt)
            if life.rv_returns >= 2 and life.rv_sum_dt > 0.0
            else math.nan
        )
        # parts add up to the cash P&L in USD: put the remainder of unequal index values there
        parts = dict(life.parts)
        parts["residual"] += life.cash_usd - sum(parts.values())
        self.round_trips.append(
            RoundTrip(
                strategy=p.strategy,
                currency=p.currency,
                instrument_name=p.instrument_name,
                option_type=p.option_type,
                strike_usd=p.strike_usd,
                expiry=p.expiry,
                short=opened_short,
                opened_at=life.opened_at,
                closed_at=last.at,
                exit="settle" if settled else ("roll" if last.roll else "close"),
                size_contracts=life.max_size,
                entry_price_coin=entry,
                exit_price_coin=exit_,
                premium_coin=life.sold_coin if opened_short else 0.0,
                fees_coin=life.fees_coin,
                pnl_coin=life.cash_coin,
                pnl_usd=life.cash_usd,
                bars=max(life.bars, 1),
                itm_at_expiry=itm,
                iv_entry=life.iv_entry,
                rv_hold=rv,
                attribution_usd=parts,
            )
        )

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
        size_contracts: float | None = None,
        mark_coin: float | None = None,
        iv: float | None = None,
        roll: bool = False,
    ) -> Trade | None:
        """Book ``leg`` filled at ``price_coin``; a close leg is cut to the position it reduces.

        ``size_contracts`` (at most the leg's) books a partial fill.
        """
        pos = self.positions.get((strategy, leg.instrument_name))
        size = leg.size_contracts if size_contracts is None else min(size_contracts, leg.size_contracts)
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
            mark_coin=mark_coin,
            iv=iv,
            roll=roll,
        )
        like = OptionPosition(
            strategy, leg.instrument_name, leg.currency, leg.option_type, leg.strike_usd, leg.expiry, 0.0, 0.0
        )
        self._book(trade, pos, like)
        return trade

    def settle_expired(
        self,
        *,
        now: datetime,
        index_usd: Mapping[str, float],
        delivery_usd: Mapping[tuple[str, datetime], float] | None = None,
    ) -> list[Trade]:
        """Settle every position expired by ``now`` at its known delivery price, else at the index
        of this step when it has the currency."""
        out: list[Trade] = []
        for key in sorted(self.positions):
            p = self.positions[key]
            known = (delivery_usd or {}).get((p.currency, p.expiry))
            delivery = known if known is not None else index_usd.get(p.currency)
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
                provenance=SETTLEMENT if known is None else DELIVERY_PRICE,
                mark_coin=float(value),
            )
            self._book(trade, p, p)
            out.append(trade)
        return out
