"""Round-trip latency and throughput of the Deribit client against the in-process emulator.

Run: ``.venv/bin/python -m benchmarks.bench_exchange``. For each transport (HTTP, WebSocket)
and each operation (a ``public/ticker`` read; a resting limit buy submitted then cancelled):

* latency: one request at a time after a warm-up, percentiles of the wall-clock round trip;
* throughput: ``CONCURRENCY`` operations in flight at once, operations per second.

Client and emulator share one event loop and one process on loopback, so a figure is the cost
of the whole stack (client, JSON, sockets, emulator), not of a network. Rate limits are lifted
on both sides so they do not throttle the measurement. Figures are from a single run.

The WebSocket rows are repeated with a state file (``state_path``): saved before every answer,
by default (``ws+state``) and with an fsync per save (``ws+fsync``). A last table gives the
emulator's own cost of a ticker (no client, no socket), the figure its quote cache is about.
"""

from __future__ import annotations

import asyncio
import itertools
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig, Credentials, RateLimitConfig
from trading.exchange.emulator import (
    AccountConfig,
    DeribitEmulator,
    EmulatorRateLimits,
    ManualClock,
    SyntheticSource,
)
from trading.exchange.emulator.rpc import CallContext

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the emulator's loopback account, not a credential
WARMUP = 20
SEQUENTIAL = {"ticker": 500, "submit+cancel": 200}
CONCURRENT = {"ticker": 2_000, "submit+cancel": 400}
CONCURRENCY = 16
START_MS = SyntheticSource().config.start_ms + 3_600_000
RESTING_PRICE = 0.0005  # the minimum tick: a buy here rests far below the market

Operation = Callable[[], Awaitable[object]]


def _option_name(emulator: DeribitEmulator) -> str:
    """A BTC option with a two-sided book (deterministic pick)."""
    names = sorted(
        name
        for name, rec in emulator.engine.instruments.items()
        if rec.currency == "BTC"
        and not rec.expired
        and (rec.quote.best_bid_price or 0.0) > RESTING_PRICE
        and rec.quote.best_ask_price is not None
    )
    return names[len(names) // 2]


def _operations(client: DeribitClient, name: str) -> dict[str, Operation]:
    labels = itertools.count()

    async def ticker() -> object:
        return await client.get_ticker(instrument_name=name)

    async def submit_cancel() -> object:
        placed = await client.buy(
            instrument_name=name, amount=0.1, price=RESTING_PRICE, label=f"bench-{next(labels)}"
        )
        return await client.cancel(order_id=placed.order.order_id)

    return {"ticker": ticker, "submit+cancel": submit_cancel}


async def _latencies_ms(operation: Operation, n: int) -> list[float]:
    for _ in range(WARMUP):
        await operation()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await operation()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


async def _throughput_per_s(operation: Operation, n: int, concurrency: int) -> float:
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            await operation()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - t0)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _bench_transport(
    transport: str, state: Path | None = None, *, fsync: bool = False
) -> list[tuple[str, ...]]:
    emulator = DeribitEmulator(
        source=SyntheticSource(),
        clock=ManualClock(START_MS),
        accounts=[AccountConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)],
        rate_limits=EmulatorRateLimits(enabled=False),
        state_path=state,
        state_fsync=fsync,
    )
    label = transport if state is None else ("ws+fsync" if fsync else "ws+state")
    rows: list[tuple[str, ...]] = []
    async with emulator:
        config = ClientConfig(
            transport="ws" if transport == "ws" else "http",
            base_url=emulator.base_url,
            credentials=Credentials.of(CLIENT_ID, CLIENT_SECRET),
            rate_limits=RateLimitConfig(
                non_matching_capacity=1e12,
                non_matching_refill_per_s=1e12,
                matching_rate_per_s=1e9,
                matching_burst=1e9,
            ),
        )
        async with DeribitClient(config) as client:
            operations = _operations(client, _option_name(emulator))
            for op_name, operation in operations.items():
                lat = await _latencies_ms(operation, SEQUENTIAL[op_name])
                rate = await _throughput_per_s(operation, CONCURRENT[op_name], CONCURRENCY)
                rows.append(
                    (
                        label,
                        op_name,
                        f"{statistics.mean(lat):7.2f}",
                        f"{_percentile(lat, 0.5):7.2f}",
                        f"{_percentile(lat, 0.9):7.2f}",
                        f"{_percentile(lat, 0.99):7.2f}",
                        f"{1e3 / statistics.mean(lat):8.0f}",
                        f"{rate:8.0f}",
                    )
                )
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def _engine_ticker_rows() -> list[tuple[str, ...]]:
    """CPU cost of ``public/ticker`` inside the emulator, right after a market step and later."""
    emulator = DeribitEmulator(source=SyntheticSource(), clock=ManualClock(START_MS))
    engine = emulator.engine
    name = _option_name(emulator)
    handle = emulator.methods.handle
    ctx = CallContext(transport="http", connection_id=None)
    out = []
    for when in ("first call", "repeated"):
        times = []
        for i in range(SEQUENTIAL["ticker"]):
            if when == "first call":
                engine.sync(START_MS + (i + 1) * 10_000)  # a new market step every time
            t0 = time.perf_counter()
            handle("public/ticker", {"instrument_name": name}, ctx)
            times.append((time.perf_counter() - t0) * 1e3)
        out.append((when, f"{statistics.mean(times):6.3f}", f"{_percentile(times, 0.5):6.3f}"))
    return out


async def _run() -> None:
    rows: list[tuple[str, ...]] = []
    for transport in ("http", "ws"):
        rows.extend(await _bench_transport(transport))
    with tempfile.TemporaryDirectory() as folder:
        rows.extend(await _bench_transport("ws", Path(folder) / "state.db"))
        rows.extend(await _bench_transport("ws", Path(folder) / "fsync.db", fsync=True))
    print(
        f"Deribit client <-> in-process emulator on loopback (Python {platform.python_version()}, "
        f"one event loop); submit+cancel = 2 requests"
    )
    print(
        f"latency: {SEQUENTIAL['ticker']} tickers / {SEQUENTIAL['submit+cancel']} submit+cancel one at "
        f"a time after {WARMUP} warm-up; throughput: {CONCURRENCY} in flight"
    )
    _table(
        ("transport", "operation", "mean ms", "p50 ms", "p90 ms", "p99 ms", "seq op/s", "conc op/s"),
        rows,
    )
    print("\npublic/ticker inside the emulator (no client, no socket):")
    _table(("ticker", "mean ms", "p50 ms"), _engine_ticker_rows())


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
