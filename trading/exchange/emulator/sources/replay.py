"""Replay of real Deribit chain snapshots (the SVCJ ``csv.gz`` format, see deribit_data/README.md).

Between snapshots the market holds still (a step function). The files carry no book sizes, so
top-of-book sizes are drawn deterministically per (instrument, snapshot). Delivery prices come
from the index in the last snapshot before expiry (the files hold no 07:30-08:00 TWAP).

History (chart data on the perpetuals, DVOL candles) exists only within the files: from the
first snapshot on, sampled from the snapshots' index and DVOL, which are remembered per file
once read so that history requests do not parse the same files again.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from trading.exchange.emulator.market import MIN_TRADE_AMOUNT, CurrencyMarket, MarketSnapshot, OptionQuote

__all__ = ["ReplaySource"]

_NAME_TS = re.compile(r"(\d{8}T\d{6})Z")
_COLUMNS = (
    "timestamp",
    "instrument_name",
    "underlying",
    "underlying_name",
    "option_type",
    "strike",
    "expiry_datetime",
    "bid_price",
    "ask_price",
    "mark_price",
    "implied_volatility",
    "open_interest",
    "volume",
    "currency",
    "index_price",
    "volume_usd",
)


_NUMERIC = (
    "strike",
    "bid_price",
    "ask_price",
    "mark_price",
    "implied_volatility",
    "underlying",
    "open_interest",
    "volume",
    "volume_usd",
)


def _file_ms(path: Path) -> int:
    match = _NAME_TS.search(path.name)
    if match:
        when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)
    first = pd.read_csv(path, nrows=1, usecols=["timestamp"])
    return int(pd.Timestamp(first["timestamp"].iloc[0]).timestamp() * 1000)


def _period(expiry: datetime) -> str:
    """Deribit's settlement period: Friday expiries are weekly, the last Friday of a month monthly."""
    if expiry.weekday() != 4:
        return "day"
    return "month" if (expiry + timedelta(days=7)).month != expiry.month else "week"


class ReplaySource:
    """Serves the snapshot files under ``paths`` (files or folders of ``*.csv.gz``)."""

    def __init__(
        self, paths: Path | str | Iterable[Path | str], *, cache_size: int = 4, max_size_lots: int = 100
    ):
        items = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
        #: the files and folders served, as given (absolute), so a restart can serve them again
        self.paths: tuple[str, ...] = tuple(str(item.resolve()) for item in items)
        self.max_size_lots = max_size_lots
        files: list[Path] = []
        for item in items:
            files.extend(sorted(item.glob("*.csv.gz")) if item.is_dir() else [item])
        if not files:
            raise FileNotFoundError(f"no snapshot files under {[str(p) for p in items]}")
        stamped = sorted((_file_ms(f), f) for f in files)
        self._times = [t for t, _ in stamped]
        self._files = [f for _, f in stamped]
        self._cache: OrderedDict[int, MarketSnapshot] = OrderedDict()
        self._levels: dict[int, dict[str, tuple[float, float]]] = {}  # file -> currency -> (index, dvol)
        self._cache_size = cache_size
        self._max_lots = max_size_lots
        self._currencies: tuple[str, ...] = ("BTC", "ETH")

    @property
    def currencies(self) -> tuple[str, ...]:
        return self._currencies

    @property
    def snapshot_times_ms(self) -> tuple[int, ...]:
        return tuple(self._times)

    def start_ms(self) -> int | None:
        return self._times[0]

    def _index_of(self, at_ms: int) -> int:
        return max(0, bisect.bisect_right(self._times, at_ms) - 1)

    def _load(self, i: int) -> MarketSnapshot:
        snap = self._cache.get(i)
        if snap is not None:
            self._cache.move_to_end(i)
            return snap
        frame = pd.read_csv(self._files[i], usecols=list(_COLUMNS))
        snap = self._build(i, frame)
        self._cache[i] = snap
        self._levels[i] = {c: (m.index_price, m.dvol) for c, m in snap.currencies.items()}
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return snap

    def _build(self, i: int, frame: pd.DataFrame) -> MarketSnapshot:
        ts = self._times[i]
        markets: dict[str, CurrencyMarket] = {}
        for currency, rows in frame.groupby("currency"):
            cur = str(currency)
            lot = MIN_TRADE_AMOUNT.get(cur, 1.0)
            digest = hashlib.sha256(f"replay:{cur}:{ts}".encode()).digest()
            lots = np.random.default_rng(int.from_bytes(digest[:8], "big")).integers(
                1, self._max_lots + 1, size=(len(rows), 2)
            )
            options: dict[str, OptionQuote] = {}
            expiries = pd.to_datetime(rows["expiry_datetime"], utc=True)
            expiry_ms = expiries.dt.as_unit("ms").astype("int64").to_numpy()
            num = {c: rows[c].to_numpy(dtype=np.float64) for c in _NUMERIC}
            names = rows["instrument_name"].astype(str).to_numpy()
            kinds = rows["option_type"].astype(str).to_numpy()
            underlyings = rows["underlying_name"].astype(str).to_numpy()
            for j in range(len(rows)):
                bid_raw, ask_raw = float(num["bid_price"][j]), float(num["ask_price"][j])
                bid = bid_raw if math.isfinite(bid_raw) and bid_raw > 0 else None
                ask = ask_raw if math.isfinite(ask_raw) and ask_raw > 0 else None
                expiry = datetime.fromtimestamp(int(expiry_ms[j]) / 1000, UTC)
                name = str(names[j])
                options[name] = OptionQuote(
                    instrument_name=name,
                    currency=cur,
                    strike=float(num["strike"][j]),
                    expiration_ms=int(expiry_ms[j]),
                    option_type="call" if kinds[j] == "call" else "put",
                    mark_price=float(num["mark_price"][j]),
                    mark_iv=round(float(num["implied_volatility"][j]) * 100.0, 2),
                    underlying_price=float(num["underlying"][j]),
                    underlying_index=str(underlyings[j]),
                    best_bid_price=bid,
                    best_bid_amount=round(float(lots[j, 0]) * lot, 4) if bid is not None else 0.0,
                    best_ask_price=ask,
                    best_ask_amount=round(float(lots[j, 1]) * lot, 4) if ask is not None else 0.0,
                    open_interest=float(num["open_interest"][j]),
                    volume=float(num["volume"][j]),
                    volume_usd=float(num["volume_usd"][j]),
                    settlement_period=_period(expiry),
                )
            index = float(rows["index_price"].median())
            markets[cur] = CurrencyMarket(
                currency=cur, index_price=index, dvol=self._dvol(options, ts), options=options
            )
        return MarketSnapshot(key=("replay", i), timestamp_ms=ts, currencies=markets)

    @staticmethod
    def _dvol(options: dict[str, OptionQuote], at_ms: int) -> float:
        """30-day ATM IV (vol points), interpolated in total variance between bracketing expiries."""
        by_expiry: dict[int, tuple[float, float]] = {}
        for q in options.values():
            gap = abs(q.strike - q.underlying_price)
            best = by_expiry.get(q.expiration_ms)
            if best is None or gap < best[0]:
                by_expiry[q.expiration_ms] = (gap, q.mark_iv)
        points = sorted(
            ((e - at_ms) / 86_400_000 / 365.0, iv / 100.0) for e, (_, iv) in by_expiry.items() if e > at_ms
        )
        if not points:
            return 0.0
        target = 30 / 365.0
        lower = [p for p in points if p[0] <= target]
        upper = [p for p in points if p[0] >= target]
        if not lower or not upper:
            return round((lower or upper)[-1 if lower else 0][1] * 100.0, 2)
        (t1, v1), (t2, v2) = lower[-1], upper[0]
        if t2 == t1:
            return round(v1 * 100.0, 2)
        w1, w2 = v1 * v1 * t1, v2 * v2 * t2
        var = w1 + (w2 - w1) * (target - t1) / (t2 - t1)
        return round(math.sqrt(var / target) * 100.0, 2)

    def snapshot(self, at_ms: int) -> MarketSnapshot:
        base = self._load(self._index_of(at_ms))
        markets = {}
        live_count = 0
        for cur, market in base.currencies.items():
            live = {n: q for n, q in market.options.items() if q.expiration_ms > at_ms}
            live_count += len(live)
            markets[cur] = CurrencyMarket(
                currency=cur, index_price=market.index_price, dvol=market.dvol, options=live
            )
        # the key changes with the file and whenever an expiry drops options out of it
        return MarketSnapshot(key=(base.key, live_count), timestamp_ms=at_ms, currencies=markets)

    def _level(self, currency: str, at_ms: int) -> tuple[float, float] | None:
        i = self._index_of(at_ms)
        if i not in self._levels:
            self._load(i)
        return self._levels[i].get(currency)

    def index_price(self, currency: str, at_ms: int) -> float:
        level = self._level(currency, at_ms)
        if level is None:
            raise KeyError(currency)
        return level[0]

    def dvol(self, currency: str, at_ms: int) -> float:
        level = self._level(currency, at_ms)
        return level[1] if level is not None else 0.0

    def mark_price(self, instrument_name: str, at_ms: int) -> float | None:
        currency = instrument_name.split("-", 1)[0]
        market = self._load(self._index_of(at_ms)).currencies.get(currency)
        quote = market.options.get(instrument_name) if market is not None else None
        return quote.mark_price if quote is not None and quote.expiration_ms > at_ms else None
