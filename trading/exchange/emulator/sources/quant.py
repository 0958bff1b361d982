"""A :class:`MarketSource` over the project's synthetic-chain library ``trading.quant.synthetic``.

The index path comes from ``simulate_underlying`` (a fixed horizon of ``days`` from ``start_ms``,
after which the market holds still), the chains from ``iter_synthetic_chains`` one listing day
(08:00 to 08:00 UTC) at a time; the step in force at a time is the last one at or before it.
Top-of-book sizes, which the library does not model, are drawn deterministically per step.

History: ``history_days`` before the start the index is a second path of the same model (its
own seed), scaled to end at the start price. DVOL is the library's 30-day ATM anchor, trailing
realised vol times the VRP factor, computed over the past and the live path together and given
to the chains as their anchor, so DVOL runs on across the start (up to the chains' IV noise).
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from trading.exchange.emulator.market import MIN_TRADE_AMOUNT, CurrencyMarket, MarketSnapshot, OptionQuote
from trading.quant.instruments import expiry_kind
from trading.quant.synthetic import (
    SyntheticChain,
    SyntheticChainConfig,
    UnderlyingConfig,
    iter_synthetic_chains,
    simulate_underlying,
)
from trading.quant.synthetic.chain import trailing_realized_vol

__all__ = ["QuantSourceConfig", "QuantSyntheticSource"]

_PERIOD = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "month"}


@dataclass(frozen=True, kw_only=True)
class QuantSourceConfig:
    start_ms: int = 1767600000000  # 2026-01-05 08:00 UTC
    days: int = 7
    bar: str = "5min"
    seed: int = 0
    spot: Mapping[str, float] = field(default_factory=lambda: {"BTC": 90_000.0, "ETH": 3_000.0})
    max_size_lots: int = 100
    history_days: int = 90


class _Chains:
    """One currency: its path and a forward-only cursor over the daily chain batches."""

    def __init__(self, currency: str, cfg: QuantSourceConfig, n_bars: int, bars_per_day: int) -> None:
        self.currency = currency
        self.cfg = cfg
        start = datetime.fromtimestamp(cfg.start_ms / 1000, UTC)
        underlying = UnderlyingConfig(spot0=cfg.spot[currency])
        self.seed = cfg.seed * 7919 + sorted(cfg.spot).index(currency)  # one path per currency
        self.bars = simulate_underlying(
            start=start, n_bars=n_bars, bar=cfg.bar, config=underlying, seed=self.seed
        )
        self.times_ms = [int(t.value // 1_000_000) for t in self.bars.index]
        self.close = self.bars["close"].to_numpy(dtype=np.float64)
        self.chain_config = SyntheticChainConfig.model_validate({"currency": currency})
        self._past(start, bars_per_day)
        self._iter: Iterator[SyntheticChain] | None = None
        self.batch: SyntheticChain | None = None
        self._first = 0
        self._last = -1

    def _past(self, start: datetime, bars_per_day: int) -> None:
        """The path before the start and the DVOL (percent) along past and live path alike."""
        n_past = self.cfg.history_days * bars_per_day
        past_close = np.empty(0)
        self.past_times_ms: list[int] = []
        if n_past > 0:
            past = simulate_underlying(
                start=start - timedelta(days=self.cfg.history_days),
                n_bars=n_past,
                bar=self.cfg.bar,
                config=UnderlyingConfig(spot0=self.cfg.spot[self.currency]),
                seed=self.seed + 104_729,  # a stream of its own
            )
            raw = past["close"].to_numpy(dtype=np.float64)
            # as on the live path, a bar shows its close; the last one closes at the start price
            past_close = raw * (self.cfg.spot[self.currency] / raw[-1])
            self.past_times_ms = [int(t.value // 1_000_000) for t in past.index]
        self.past_close = past_close
        cc = self.chain_config
        times = np.array([*self.past_times_ms, *self.times_ms], dtype=np.int64) * 1_000_000
        rv = trailing_realized_vol(
            times,
            np.concatenate([past_close, self.close]),
            window_days=cc.rv_window_days,
            min_returns=cc.rv_min_returns,
        )
        anchor = np.clip(np.where(np.isfinite(rv), rv * cc.vrp_factor, cc.fallback_vol), cc.iv_min, cc.iv_max)
        self.past_dvol = anchor[:n_past] * 100.0
        self.live_dvol = anchor[n_past:] * 100.0

    def _restart(self) -> None:
        self._iter = iter_synthetic_chains(
            pd.DatetimeIndex(self.bars.index),
            self.close,
            config=self.chain_config,
            dvol=self.live_dvol,
            seed=self.seed,
            quote_ivs=False,
        )
        self.batch, self._first, self._last = None, 0, -1

    def batch_for(self, step: int) -> SyntheticChain:
        if self._iter is None or step < self._first:
            self._restart()
        assert self._iter is not None
        while self.batch is None or step > self._last:
            self.batch = next(self._iter)
            steps = np.flatnonzero(np.diff(self.batch.step_offsets) > 0)
            self._first, self._last = int(steps[0]), int(steps[-1])
        return self.batch


class QuantSyntheticSource:
    """Deterministic for a given :class:`QuantSourceConfig`."""

    def __init__(self, config: QuantSourceConfig | None = None) -> None:
        self.config = config or QuantSourceConfig()
        bars_per_day = int(pd.Timedelta("1D") / pd.Timedelta(self.config.bar))
        n_bars = self.config.days * bars_per_day + 1
        self._chains = {c: _Chains(c, self.config, n_bars, bars_per_day) for c in self.config.spot}
        self._cache: dict[tuple[str, int], CurrencyMarket] = {}

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(self.config.spot)

    def start_ms(self) -> int | None:
        return self.config.start_ms

    def history_start_ms(self, currency: str) -> int:
        """The earliest time the index and DVOL have history for."""
        past = self._chains[currency].past_times_ms
        return past[0] if past else self.config.start_ms

    def _step(self, currency: str, at_ms: int) -> int:
        times = self._chains[currency].times_ms
        return min(max(bisect.bisect_right(times, at_ms) - 1, 0), len(times) - 1)

    def _past_step(self, currency: str, at_ms: int) -> int | None:
        """The past bar holding ``at_ms`` (the first one before the history), None from the start."""
        if at_ms >= self.config.start_ms or not self._chains[currency].past_times_ms:
            return None
        return max(bisect.bisect_right(self._chains[currency].past_times_ms, at_ms) - 1, 0)

    def index_price(self, currency: str, at_ms: int) -> float:
        past = self._past_step(currency, at_ms)
        if past is not None:
            return round(float(self._chains[currency].past_close[past]), 2)
        return round(float(self._chains[currency].close[self._step(currency, at_ms)]), 2)

    def dvol(self, currency: str, at_ms: int) -> float:
        chains = self._chains[currency]
        past = self._past_step(currency, at_ms)
        if past is not None:
            return round(float(chains.past_dvol[past]), 2)
        batch = chains.batch if chains.batch is not None else chains.batch_for(0)
        return round(float(batch.atm_anchor_vol[self._step(currency, at_ms)]) * 100.0, 2)

    def _market(self, currency: str, step: int) -> CurrencyMarket:
        cached = self._cache.get((currency, step))
        if cached is not None:
            return cached
        chains = self._chains[currency]
        batch = chains.batch_for(step)
        lo, hi = int(batch.step_offsets[step]), int(batch.step_offsets[step + 1])
        lot = MIN_TRADE_AMOUNT.get(currency, 1.0)
        digest = hashlib.sha256(f"quant:{self.config.seed}:{currency}:{step}".encode()).digest()
        lots = np.random.default_rng(int.from_bytes(digest[:8], "big")).integers(
            1, self.config.max_size_lots + 1, size=(hi - lo, 2)
        )
        options: dict[str, OptionQuote] = {}
        for j, row in enumerate(range(lo, hi)):
            name = str(batch.names[batch.instrument[row]])
            expiry_ms = int(batch.expiry_ns[row] // 1_000_000)
            expiry = datetime.fromtimestamp(expiry_ms / 1000, UTC)
            code = name.split("-")[1]
            kind = expiry_kind(expiry)
            bid = float(batch.bid_price_coin[row])
            ask = float(batch.ask_price_coin[row])
            options[name] = OptionQuote(
                instrument_name=name,
                currency=currency,
                strike=float(batch.strike[row]),
                expiration_ms=expiry_ms,
                option_type="call" if bool(batch.is_call[row]) else "put",
                mark_price=round(float(batch.mark_price_coin[row]), 8),
                mark_iv=round(float(batch.mark_iv[row]) * 100.0, 2),
                underlying_price=round(float(batch.forward[row]), 2),
                underlying_index=f"{currency}-{code}"
                if kind in ("monthly", "quarterly")
                else f"SYN.{currency}-{code}",
                best_bid_price=bid if math.isfinite(bid) and bid > 0 else None,
                best_bid_amount=round(float(lots[j, 0]) * lot, 4) if math.isfinite(bid) and bid > 0 else 0.0,
                best_ask_price=ask if math.isfinite(ask) and ask > 0 else None,
                best_ask_amount=round(float(lots[j, 1]) * lot, 4) if math.isfinite(ask) and ask > 0 else 0.0,
                open_interest=round(float(batch.open_interest[row]), 1),
                settlement_period=_PERIOD[kind],
            )
        index = round(float(chains.close[step]), 2)
        dvol = round(float(batch.atm_anchor_vol[step]) * 100.0, 2)
        market = CurrencyMarket(currency=currency, index_price=index, dvol=dvol, options=options)
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[(currency, step)] = market
        return market

    def snapshot(self, at_ms: int) -> MarketSnapshot:
        markets = {}
        key = []
        for currency in self.currencies:
            step = self._step(currency, at_ms)
            market = self._market(currency, step)
            live = {n: q for n, q in market.options.items() if q.expiration_ms > at_ms}
            markets[currency] = CurrencyMarket(
                currency=currency, index_price=market.index_price, dvol=market.dvol, options=live
            )
            key.append((step, len(live)))
        return MarketSnapshot(key=("quant", tuple(key)), timestamp_ms=at_ms, currencies=markets)

    def mark_price(self, instrument_name: str, at_ms: int) -> float | None:
        currency = instrument_name.split("-", 1)[0]
        if currency not in self._chains:
            return None
        quote = self._market(currency, self._step(currency, at_ms)).options.get(instrument_name)
        return quote.mark_price if quote is not None and quote.expiration_ms > at_ms else None
