"""Fixtures: the emulator on a manual clock (in the test's loop or in a thread of its own for sync
code), public-data clients, market sources that break the market on purpose, and Tardis rows."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig, RetryPolicy
from trading.exchange.emulator import DeribitEmulator, ManualClock, SyntheticSource
from trading.exchange.emulator.market import CurrencyMarket, MarketSnapshot, MarketSource
from trading.quant.instruments import format_expiry_code

START_MS = SyntheticSource().config.start_ms + 3_600_000  # 2026-01-05 09:00 UTC
FAST_RETRY = RetryPolicy(
    max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, jitter=0.0, rate_limit_delay_s=0.01
)


class ThinSource:
    """A synthetic market with only ``keep`` options per currency, optionally without any quotes."""

    def __init__(self, inner: MarketSource | None = None, *, keep: int = 5, quotes: bool = True) -> None:
        self.inner = inner or SyntheticSource()
        self.keep = keep
        self.quotes = quotes

    @property
    def currencies(self) -> tuple[str, ...]:
        return self.inner.currencies

    def start_ms(self) -> int | None:
        return self.inner.start_ms()

    def snapshot(self, at_ms: int) -> MarketSnapshot:
        snap = self.inner.snapshot(at_ms)
        markets = {}
        for cur, market in snap.currencies.items():
            names = sorted(market.options)[: self.keep]
            options = {n: market.options[n] for n in names}
            if not self.quotes:
                options = {
                    n: replace(
                        q, best_bid_price=None, best_ask_price=None, best_bid_amount=0.0, best_ask_amount=0.0
                    )
                    for n, q in options.items()
                }
            markets[cur] = CurrencyMarket(
                currency=cur, index_price=market.index_price, dvol=market.dvol, options=options
            )
        return MarketSnapshot(
            key=(snap.key, self.keep, self.quotes), timestamp_ms=snap.timestamp_ms, currencies=markets
        )

    def index_price(self, currency: str, at_ms: int) -> float:
        return self.inner.index_price(currency, at_ms)

    def dvol(self, currency: str, at_ms: int) -> float:
        return self.inner.dvol(currency, at_ms)

    def mark_price(self, instrument_name: str, at_ms: int) -> float | None:
        return self.inner.mark_price(instrument_name, at_ms)


def client_config(emulator: DeribitEmulator) -> ClientConfig:
    return ClientConfig(transport="http", base_url=emulator.base_url, request_timeout_s=5.0, retry=FAST_RETRY)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[DeribitEmulator]:
    async with DeribitEmulator(source=SyntheticSource(), clock=clock, publish_interval_s=0.05) as emu:
        yield emu


@pytest.fixture
async def client(emulator: DeribitEmulator) -> AsyncIterator[DeribitClient]:
    async with DeribitClient(client_config(emulator)) as c:
        yield c


@contextmanager
def emulator_in_thread(**kwargs: Any) -> Iterator[DeribitEmulator]:
    """An emulator served from a thread with its own event loop, for synchronous code under test."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="emulator", daemon=True)
    thread.start()
    emu = DeribitEmulator(publish_interval_s=0.05, **kwargs)
    asyncio.run_coroutine_threadsafe(emu.start(), loop).result(10)
    try:
        yield emu
    finally:
        asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture
def threaded_emulator(clock: ManualClock) -> Iterator[DeribitEmulator]:
    with emulator_in_thread(source=SyntheticSource(), clock=clock) as emu:
        yield emu


# --- Tardis options_chain rows -----------------------------------------------------------------

TARDIS_HEADER = (
    "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,"
    "bid_price,bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,"
    "underlying_price,delta,gamma,vega,theta,rho"
)


def tardis_rows(
    *,
    start: str,
    minutes: int,
    every_s: int = 60,
    strikes: tuple[int, ...] = (9000, 10000, 11000),
    expiries: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Plausible Tardis rows: BTC options of two expiries (default the next day's and the one 18 days
    on, at 08:00), a quote per instrument every ``every_s`` seconds from ``start`` for ``minutes``
    minutes (µs times, IV in percent, coin prices)."""
    t0 = int(pd.Timestamp(start, tz="UTC").value // 1000)
    day = pd.Timestamp(start, tz="UTC").normalize() + pd.Timedelta(hours=8)
    if expiries:
        when = [pd.Timestamp(e, tz="UTC") for e in expiries]
    else:
        when = [day + pd.Timedelta(days=d) for d in (1, 18)]
    by_code = {format_expiry_code(e): e for e in when}
    rows = []
    for step in range(0, minutes * 60, every_s):
        for e, (code, expiry) in enumerate(by_code.items()):
            for k, strike in enumerate(strikes):
                for kind in ("call", "put"):
                    ts = t0 + step * 1_000_000 + (e * 10 + k * 2 + (kind == "put")) * 1000
                    fwd = 9750.0 + e * 20 + step / 600
                    mark = (
                        max(0.0005, (fwd - strike) / fwd if kind == "call" else (strike - fwd) / fwd) + 0.01
                    )
                    rows.append(
                        {
                            "exchange": "deribit",
                            "symbol": f"BTC-{code}-{strike}-{'C' if kind == 'call' else 'P'}",
                            "timestamp": ts,
                            "local_timestamp": ts + 150_000,
                            "type": kind,
                            "strike_price": strike,
                            "expiration": int(expiry.value // 1000),
                            "open_interest": 10.0 + k,
                            "last_price": "",
                            "bid_price": round(mark - 0.0005, 4),
                            "bid_amount": 1.0,
                            "bid_iv": 60.0,
                            "ask_price": round(mark + 0.0005, 4),
                            "ask_amount": 2.0,
                            "ask_iv": 66.0,
                            "mark_price": round(mark, 8),
                            "mark_iv": 63.0 + k,
                            "underlying_index": f"SYN.BTC-{code}" if e == 0 else f"BTC-{code}",
                            "underlying_price": fwd,
                            "delta": 0.5,
                            "gamma": 0.001,
                            "vega": 2.0,
                            "theta": -50.0,
                            "rho": 0.1,
                        }
                    )
    return pd.DataFrame(rows).sort_values("local_timestamp", kind="stable").reset_index(drop=True)


def write_tardis(path: Path, rows: pd.DataFrame) -> Path:
    rows.to_csv(path, index=False, compression="gzip" if path.name.endswith(".gz") else None)
    return path


@pytest.fixture
def make_tardis(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "deribit_options_chain_2020-06-08_OPTIONS.csv.gz", **kwargs: Any) -> Path:
        rows = kwargs.pop("rows", None)
        return write_tardis(tmp_path / name, rows if rows is not None else tardis_rows(**kwargs))

    return make


def finite(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]
