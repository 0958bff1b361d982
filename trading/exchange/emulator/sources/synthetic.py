"""A synthetic Deribit-like market: a seeded GBM index path, Deribit's listing schedule and a
smile, priced with Black-76 on the forward (the same formula Deribit's marks follow).

The index also has a past: ``history_days`` before the start it follows the same GBM run
backwards from the start price (:mod:`.gbm_path`), so chart data and DVOL can be asked for
before the clock started and join the live path at the start. Options are listed from the start
only. DVOL is the 30-day ATM vol the chain is priced on, a function of the index level, before
and after the start alike.

``trading/quant/synthetic.py`` is the project's synthetic-chain library. This source keeps the
emulator self-contained: :func:`quant_synthetic_available` tells whether that library is
importable, and any object satisfying :class:`~trading.exchange.emulator.market.MarketSource`
can replace this one (``DeribitEmulator(source=...)``).
"""

from __future__ import annotations

import calendar
import hashlib
import importlib.util
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from trading.exchange.emulator.market import (
    MIN_TRADE_AMOUNT,
    CurrencyMarket,
    MarketSnapshot,
    OptionQuote,
    ceil_to_tick,
    floor_to_tick,
    instrument_name,
)
from trading.exchange.emulator.pricing import MS_PER_YEAR, price_coin
from trading.exchange.emulator.sources.gbm_path import GbmLogPath

__all__ = ["SyntheticConfig", "SyntheticSource", "listing_expiries", "quant_synthetic_available"]

DAY_MS = 86_400_000
_EXPIRY_HOUR = 8


def quant_synthetic_available() -> bool:
    return importlib.util.find_spec("trading.quant.synthetic") is not None


def _expiry_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, _EXPIRY_HOUR, tzinfo=UTC).timestamp() * 1000)


def _last_friday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - 4) % 7)


def listing_expiries(
    now_ms: int, *, n_daily: int = 4, n_weekly: int = 4, n_monthly: int = 3, n_quarterly: int = 4
) -> dict[int, str]:
    """Expiries listed at ``now_ms`` → settlement period (``day``/``week``/``month``).

    Deribit lists dailies, Friday weeklies, last-Friday monthlies and quarterlies (Mar/Jun/Sep/Dec),
    all expiring at 08:00 UTC.
    """
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    first = now.date() if now.hour < _EXPIRY_HOUR else now.date() + timedelta(days=1)
    out: dict[int, str] = {}
    for i in range(n_daily):
        out[_expiry_ms(first + timedelta(days=i))] = "day"
    friday = first + timedelta(days=(4 - first.weekday()) % 7)
    for i in range(n_weekly):
        out[_expiry_ms(friday + timedelta(weeks=i))] = "week"
    year, month = first.year, first.month
    monthly: list[date] = []
    quarterly: list[date] = []
    while len(monthly) < n_monthly or len(quarterly) < n_quarterly:
        lf = _last_friday(year, month)
        if lf >= first:
            if len(monthly) < n_monthly:
                monthly.append(lf)
            if month % 3 == 0 and len(quarterly) < n_quarterly:
                quarterly.append(lf)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    for d in (*monthly, *quarterly):
        out[_expiry_ms(d)] = "month"
    return dict(sorted(out.items()))


@dataclass(frozen=True, kw_only=True)
class SyntheticConfig:
    """Parameters of the synthetic market (vols as decimals, prices in USD). ``history_days``:
    how far before ``start_ms`` the index and DVOL have history (chart data, DVOL candles)."""

    seed: int = 20260105
    start_ms: int = 1767600000000  # 2026-01-05 08:00 UTC
    step_s: float = 10.0
    spot: Mapping[str, float] = field(default_factory=lambda: {"BTC": 90_000.0, "ETH": 3_000.0})
    # Options are priced a little above the volatility the index then realises (a volatility risk
    # premium of about 12 %, as in Deribit's own history), which is what option sellers earn.
    path_vol: Mapping[str, float] = field(default_factory=lambda: {"BTC": 0.40, "ETH": 0.535})
    atm_vol: Mapping[str, float] = field(default_factory=lambda: {"BTC": 0.45, "ETH": 0.6})
    skew: float = -0.08
    smile: float = 0.06
    basis_per_year: float = 0.03
    spread_frac: float = 0.04
    min_half_spread_ticks: int = 1
    max_size_lots: int = 100
    n_daily: int = 4
    n_weekly: int = 4
    n_monthly: int = 3
    n_quarterly: int = 4
    strikes_per_side: int = 12
    history_days: int = 365

    def __post_init__(self) -> None:
        if not 0 <= self.history_days <= 3660:
            raise ValueError("history_days must be between 0 and 3660")


def _strike_step(currency: str, days: float) -> float:
    btc = currency == "BTC"
    if days <= 2:
        return 500.0 if btc else 25.0
    if days <= 10:
        return 1000.0 if btc else 50.0
    if days <= 40:
        return 2000.0 if btc else 100.0
    return 5000.0 if btc else 200.0


class SyntheticSource:
    """Deterministic for a given :class:`SyntheticConfig` (same seed → same market): the market
    at a time does not depend on which times were asked for before, so an emulator restarted
    with the same config continues the same path."""

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        self.config = config or SyntheticConfig()
        self._step_ms = int(self.config.step_s * 1000)
        self._paths: dict[str, GbmLogPath] = {}
        self._strikes: dict[tuple[str, int], tuple[float, ...]] = {}
        self._listed: dict[int, int] = {}
        self._cache: tuple[int, MarketSnapshot] | None = None

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(self.config.spot)

    def start_ms(self) -> int | None:
        return self.config.start_ms

    # ------------------------------------------------------------------ index path

    def _bucket(self, at_ms: int) -> int:
        """The chain's step holding ``at_ms`` (never before the start: no options listed then)."""
        return max(0, self._path_bucket(at_ms))

    def _path_bucket(self, at_ms: int) -> int:
        return (at_ms - self.config.start_ms) // self._step_ms

    def _path(self, currency: str) -> GbmLogPath:
        path = self._paths.get(currency)
        if path is None:
            cfg = self.config
            path = GbmLogPath(
                seed_text=f"{cfg.seed}:{currency}",
                spot=cfg.spot[currency],
                sigma=cfg.path_vol[currency],
                step_s=cfg.step_s,
                min_bucket=-(cfg.history_days * DAY_MS // self._step_ms),
            )
            self._paths[currency] = path
        return path

    def history_start_ms(self, currency: str) -> int:
        """The earliest time the index and DVOL have history for (``history_days`` before start)."""
        return self.config.start_ms - self.config.history_days * DAY_MS

    def index_price(self, currency: str, at_ms: int) -> float:
        """The index at ``at_ms``, also before the start (down to :meth:`history_start_ms`)."""
        return round(float(math.exp(self._path(currency).at(self._path_bucket(at_ms)))), 2)

    def _atm_of(self, currency: str, index_price: np.ndarray | float) -> np.ndarray:
        """The 30-day ATM vol (decimal) at an index level: it rises as the index falls."""
        base = self.config.atm_vol[currency]
        ratio = np.asarray(index_price, dtype=np.float64) / self.config.spot[currency]
        return np.asarray(np.clip(base * ratio**-0.5, 0.5 * base, 2.5), dtype=np.float64)

    def _atm_vol(self, currency: str, at_ms: int) -> float:
        return float(self._atm_of(currency, self.index_price(currency, at_ms)))

    def dvol(self, currency: str, at_ms: int) -> float:
        """DVOL (vol points) at ``at_ms``: the ATM level the chain is priced on (flat in tenor)."""
        return round(self._atm_vol(currency, at_ms) * 100.0, 2)

    def index_candles(self, currency: str, ticks_ms: np.ndarray, step_ms: int, end_ms: int) -> np.ndarray:
        """OHLC of the index (USD) per candle ``[tick, min(tick + step_ms - 1, end_ms)]``, shape
        (n, 4), from every step of the path inside the candle (ticks increasing, each <= end_ms)."""
        ticks = np.asarray(ticks_ms, dtype=np.int64)
        if len(ticks) == 0:
            return np.empty((0, 4))
        path = self._path(currency)
        step = self._step_ms
        first = np.maximum((ticks - self.config.start_ms) // step, path.min_bucket)
        last = np.maximum((np.minimum(ticks + step_ms - 1, end_ms) - self.config.start_ms) // step, first)
        lo = int(first[0])
        prices = np.round(np.exp(path.span(lo, int(last[-1]))), 2)
        open_at, close_at = first - lo, last - lo
        bounds = np.column_stack([open_at, close_at + 1]).ravel()
        padded = np.append(prices, prices[-1])  # reduceat needs every bound inside the array
        high = np.maximum.reduceat(padded, bounds)[::2]
        low = np.minimum.reduceat(padded, bounds)[::2]
        return np.column_stack([prices[open_at], high, low, prices[close_at]])

    def dvol_candles(self, currency: str, ticks_ms: np.ndarray, step_ms: int, end_ms: int) -> np.ndarray:
        """DVOL OHLC (vol points) per candle, as :meth:`index_candles`. DVOL falls as the index
        rises, so its high is at the index's low and its low at the index's high."""
        ohlc = self.index_candles(currency, ticks_ms, step_ms, end_ms)
        vol = np.round(self._atm_of(currency, ohlc) * 100.0, 2)
        return vol[:, [0, 2, 1, 3]] if len(vol) else vol

    # ------------------------------------------------------------------ chain

    def _listed_ms(self, expiry_ms: int) -> int:
        """When ``expiry_ms`` entered the listing (listings change at 08:00 UTC), not before start."""
        listed = self._listed.get(expiry_ms)
        if listed is None:
            cfg = self.config
            listed = expiry_ms
            probe = expiry_ms - DAY_MS + 1
            while probe >= cfg.start_ms:
                live = listing_expiries(
                    probe,
                    n_daily=cfg.n_daily,
                    n_weekly=cfg.n_weekly,
                    n_monthly=cfg.n_monthly,
                    n_quarterly=cfg.n_quarterly,
                )
                if expiry_ms not in live:
                    break
                listed = probe - 1
                probe -= DAY_MS
            listed = max(cfg.start_ms, min(listed, expiry_ms))
            self._listed[expiry_ms] = listed
        return listed

    def _strike_grid(self, currency: str, expiry_ms: int) -> tuple[float, ...]:
        """Strikes fixed when the expiry is listed, around the index then (no look-ahead)."""
        key = (currency, expiry_ms)
        grid = self._strikes.get(key)
        if grid is None:
            listed = self._listed_ms(expiry_ms)
            spot = self.index_price(currency, listed)
            days = (expiry_ms - listed) / DAY_MS
            step = _strike_step(currency, days)
            center = round(spot / step) * step
            width = max(
                self.config.strikes_per_side,
                int(3 * self.config.atm_vol[currency] * math.sqrt(days / 365) * spot / step),
            )
            width = min(width, 40)
            grid = tuple(center + i * step for i in range(-width, width + 1) if center + i * step > 0)
            self._strikes[key] = grid
        return grid

    def snapshot(self, at_ms: int) -> MarketSnapshot:
        """The market of the step holding ``at_ms``, priced at the step's start: the same however
        the step is reached (options expiring within the step are listed until its end)."""
        bucket = self._bucket(at_ms)
        if self._cache is not None and self._cache[0] == bucket:
            return self._cache[1]
        t_ms = self.config.start_ms + bucket * self._step_ms
        markets = {c: self._chain(c, t_ms, bucket) for c in self.currencies}
        snap = MarketSnapshot(key=("synthetic", bucket), timestamp_ms=t_ms, currencies=markets)
        self._cache = (bucket, snap)
        return snap

    def _chain(self, currency: str, at_ms: int, bucket: int) -> CurrencyMarket:
        cfg = self.config
        spot = self.index_price(currency, at_ms)
        atm = self._atm_vol(currency, at_ms)
        expiries = listing_expiries(
            at_ms,
            n_daily=cfg.n_daily,
            n_weekly=cfg.n_weekly,
            n_monthly=cfg.n_monthly,
            n_quarterly=cfg.n_quarterly,
        )
        names: list[str] = []
        rows: list[tuple[float, int, bool, str, float]] = []
        for expiry_ms, period in expiries.items():
            if expiry_ms <= at_ms:
                continue
            t = (expiry_ms - at_ms) / MS_PER_YEAR
            fwd = round(spot * math.exp(cfg.basis_per_year * t), 2)
            when = datetime.fromtimestamp(expiry_ms / 1000, UTC)
            code = f"{when.day}{when.strftime('%b').upper()}{when.year % 100:02d}"
            underlying = f"{currency}-{code}" if period == "month" else f"SYN.{currency}-{code}"
            for strike in self._strike_grid(currency, expiry_ms):
                for is_call in (True, False):
                    names.append(instrument_name(currency, expiry_ms, strike, "call" if is_call else "put"))
                    rows.append((strike, expiry_ms, is_call, underlying, fwd))
        if not rows:
            return CurrencyMarket(currency=currency, index_price=spot, dvol=round(atm * 100, 2))
        strikes = np.array([r[0] for r in rows])
        t_years = np.array([(r[1] - at_ms) / MS_PER_YEAR for r in rows])
        calls = np.array([r[2] for r in rows])
        fwds = np.array([r[4] for r in rows])
        x = np.log(strikes / fwds) / np.sqrt(np.maximum(t_years, 2.0 / 365.0))
        sigma = np.clip(atm * (1.0 + cfg.skew * x + cfg.smile * x * x), 0.05, 5.0)
        marks = price_coin(fwds, strikes, t_years, sigma, calls)
        digest = hashlib.sha256(f"{cfg.seed}:{currency}:{bucket}".encode()).digest()
        sizes_rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
        lots = sizes_rng.integers(1, cfg.max_size_lots + 1, size=(len(rows), 2))
        lot = MIN_TRADE_AMOUNT.get(currency, 1.0)
        options: dict[str, OptionQuote] = {}
        for i, name in enumerate(names):
            strike, expiry_ms, is_call, underlying, fwd = rows[i]
            mark = float(marks[i])
            half = max(cfg.spread_frac * mark, cfg.min_half_spread_ticks * 0.0001)
            bid = floor_to_tick(mark - half) if mark - half >= 0.0001 else None
            ask = max(ceil_to_tick(mark + half), 0.0001)
            options[name] = OptionQuote(
                instrument_name=name,
                currency=currency,
                strike=strike,
                expiration_ms=expiry_ms,
                option_type="call" if is_call else "put",
                mark_price=round(mark, 8),
                mark_iv=round(float(sigma[i]) * 100.0, 2),
                underlying_price=fwd,
                underlying_index=underlying,
                best_bid_price=bid,
                best_bid_amount=round(float(lots[i, 0]) * lot, 4) if bid is not None else 0.0,
                best_ask_price=ask,
                best_ask_amount=round(float(lots[i, 1]) * lot, 4),
                open_interest=round(float(lots[i, 0] + lots[i, 1]) * lot * 10, 4),
                creation_ms=self._listed_ms(expiry_ms),
                settlement_period=expiries[expiry_ms],
            )
        return CurrencyMarket(currency=currency, index_price=spot, dvol=round(atm * 100, 2), options=options)

    def mark_price(self, instrument_name: str, at_ms: int) -> float | None:
        """One option's mark at ``at_ms`` without building the chain (chart data asks for many times)."""
        parts = instrument_name.split("-")
        if len(parts) != 4 or parts[0] not in self.config.spot or parts[3] not in ("C", "P"):
            return None
        currency, code, strike_text, kind = parts
        try:
            day = datetime.strptime(code.rjust(7, "0"), "%d%b%y").replace(hour=_EXPIRY_HOUR, tzinfo=UTC)
            strike = float(strike_text)
        except ValueError:
            return None
        expiry_ms = int(day.timestamp() * 1000)
        cfg = self.config
        live = listing_expiries(
            at_ms,
            n_daily=cfg.n_daily,
            n_weekly=cfg.n_weekly,
            n_monthly=cfg.n_monthly,
            n_quarterly=cfg.n_quarterly,
        )
        if (
            expiry_ms <= at_ms
            or expiry_ms not in live
            or strike not in self._strike_grid(currency, expiry_ms)
        ):
            return None
        priced_ms = cfg.start_ms + self._bucket(at_ms) * self._step_ms  # as in snapshot()
        spot = self.index_price(currency, priced_ms)
        t = (expiry_ms - priced_ms) / MS_PER_YEAR
        fwd = round(spot * math.exp(cfg.basis_per_year * t), 2)
        x = math.log(strike / fwd) / math.sqrt(max(t, 2.0 / 365.0))
        atm = self._atm_vol(currency, priced_ms)
        sigma = min(max(atm * (1.0 + cfg.skew * x + cfg.smile * x * x), 0.05), 5.0)
        return round(float(price_coin(fwd, strike, t, sigma, kind == "C")), 8)
