"""Exposure accounting for the risk engine: per coin (account) and per strategy, with contributions.

Monotone amounts (short contracts, calls against coins, strike value of puts, initial margin,
contracts per expiry, per-strategy contracts, notional and instruments) only grow with opens; a
close does not free room for others in the same tick (it may not fill). Deltas, which move both
ways, are kept as an interval ``[lo, hi]`` holding every subset of the contributions counted, so
whichever of the approved orders fill, the delta stays inside what was checked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from trading.risk.margin import short_option_im_coin
from trading.strategies.base import Leg, LegIntent, OptionPosition
from trading.strategies.market import Quote


@dataclass
class Interval:
    lo: float = 0.0
    hi: float = 0.0

    def add(self, x: float) -> None:
        if x < 0.0:
            self.lo += x
        else:
            self.hi += x

    def shift(self, x: float) -> None:
        self.lo += x
        self.hi += x


@dataclass
class CoinBook:
    """Account-wide exposure in one coin."""

    short_calls: float = 0.0
    put_strike_usd: float = 0.0
    initial_margin_coin: float = 0.0
    delta: Interval = field(default_factory=Interval)
    per_expiry: defaultdict[datetime, float] = field(default_factory=lambda: defaultdict(float))


@dataclass
class StrategyBook:
    """One strategy's exposure across coins."""

    contracts: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    notional_usd: float = 0.0
    instruments: dict[str, float] = field(default_factory=dict)
    """Instrument -> contracts held (absolute)."""
    delta: defaultdict[str, Interval] = field(default_factory=lambda: defaultdict(Interval))


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one leg changes. ``netting`` entries apply only to the check of its own roll."""

    currency: str
    leg: Leg
    quote: Quote
    strategy: str

    @property
    def signed_delta(self) -> float:
        sign = -1.0 if self.leg.intent is LegIntent.OPEN else 1.0  # sell to open: short; buy to close
        return sign * self.leg.size_contracts * self.quote.delta

    @property
    def initial_margin_coin(self) -> float:
        q = self.quote
        return self.leg.size_contracts * short_option_im_coin(
            option_type=q.option_type,
            strike_usd=q.strike_usd,
            index_usd=q.index_price_usd,
            mark_coin=q.mark_coin,
        )


def add_position(
    coin: CoinBook, strat: StrategyBook | None, pos: OptionPosition, quote: Quote | None
) -> None:
    """Count an existing position (``quote`` None: no delta known, e.g. expired awaiting settlement)."""
    size = abs(pos.size_contracts)
    if pos.is_short:
        coin.per_expiry[pos.expiry] += size
        if pos.option_type == "call":
            coin.short_calls += size
        else:
            coin.put_strike_usd += size * pos.strike_usd
    delta = pos.size_contracts * quote.delta if quote is not None else 0.0
    coin.delta.shift(delta)
    if strat is not None:
        strat.contracts[pos.currency] += size
        strat.notional_usd += size * (quote.index_price_usd if quote is not None else 0.0)
        strat.instruments[pos.instrument_name] = strat.instruments.get(pos.instrument_name, 0.0) + size
        strat.delta[pos.currency].shift(delta)


def apply_open(coin: CoinBook, strat: StrategyBook, c: Contribution) -> None:
    size = c.leg.size_contracts
    coin.per_expiry[c.leg.expiry] += size
    if c.leg.option_type == "call":
        coin.short_calls += size
    else:
        coin.put_strike_usd += size * c.leg.strike_usd
    coin.initial_margin_coin += c.initial_margin_coin
    coin.delta.add(c.signed_delta)
    strat.contracts[c.currency] += size
    strat.notional_usd += size * c.quote.index_price_usd
    strat.instruments[c.leg.instrument_name] = strat.instruments.get(c.leg.instrument_name, 0.0) + size
    strat.delta[c.currency].add(c.signed_delta)


def apply_close_delta(coin: CoinBook, strat: StrategyBook, c: Contribution) -> None:
    """A close changes only the delta interval of the shared books."""
    coin.delta.add(c.signed_delta)
    strat.delta[c.currency].add(c.signed_delta)


def net_roll_close(coin: CoinBook, strat: StrategyBook, c: Contribution) -> None:
    """Remove the closed leg from monotone amounts: for the check of its own roll only."""
    size = c.leg.size_contracts
    coin.per_expiry[c.leg.expiry] -= size
    if c.leg.option_type == "call":
        coin.short_calls -= size
    else:
        coin.put_strike_usd -= size * c.leg.strike_usd
    strat.contracts[c.currency] -= size
    strat.notional_usd -= size * c.quote.index_price_usd
    left = strat.instruments.get(c.leg.instrument_name, 0.0) - size
    if left <= 1e-9:
        strat.instruments.pop(c.leg.instrument_name, None)
    else:
        strat.instruments[c.leg.instrument_name] = left


def copy_coin(b: CoinBook) -> CoinBook:
    return CoinBook(
        short_calls=b.short_calls,
        put_strike_usd=b.put_strike_usd,
        initial_margin_coin=b.initial_margin_coin,
        delta=Interval(b.delta.lo, b.delta.hi),
        per_expiry=defaultdict(float, b.per_expiry),
    )


def copy_strategy(b: StrategyBook) -> StrategyBook:
    return StrategyBook(
        contracts=defaultdict(float, b.contracts),
        notional_usd=b.notional_usd,
        instruments=dict(b.instruments),
        delta=defaultdict(Interval, {k: Interval(v.lo, v.hi) for k, v in b.delta.items()}),
    )
