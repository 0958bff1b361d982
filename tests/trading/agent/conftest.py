"""The agent against a real Deribit emulator: a loopback server on a thread of its own, with a
manual clock the tests move, and a funded account."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from trading.exchange.config import ClientConfig, Credentials, RateLimitConfig, RetryPolicy
from trading.exchange.emulator import DeribitEmulator, ManualClock, SyntheticSource
from trading.exchange.emulator.accounting import AccountConfig
from trading.services.exchange import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET

# The key the product uses for the simulated exchange, so settings-driven code finds this emulator.
CLIENT_ID, CLIENT_SECRET = EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET
START_MS = SyntheticSource().config.start_ms + 3_600_000


@dataclass
class RunningEmulator:
    emulator: DeribitEmulator
    clock: ManualClock
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def advance(self, seconds: float) -> None:
        self.run(self.emulator.advance(seconds))

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now_ms() / 1000, UTC)

    def config(self, **overrides: Any) -> ClientConfig:
        fields: dict[str, Any] = {
            "transport": "http",
            "base_url": self.emulator.base_url,
            "credentials": Credentials.of(CLIENT_ID, CLIENT_SECRET),
            "request_timeout_s": 5.0,
            "retry": RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05),
            "rate_limits": RateLimitConfig(matching_rate_per_s=1000, matching_burst=1000),
            "submit_lookup_grace_s": 0.0,
        }
        fields.update(overrides)
        return ClientConfig(**fields)

    def positions(self, currency: str) -> dict[str, float]:
        engine = self.emulator.engine
        return (
            {
                name: pos
                for name, pos in self.run(_positions(self.emulator, currency)).items()
                if abs(pos) > 1e-12
            }
            if engine
            else {}
        )


async def _positions(emulator: DeribitEmulator, currency: str) -> dict[str, float]:
    from trading.exchange.client import DeribitClient

    config = ClientConfig(
        transport="http", base_url=emulator.base_url, credentials=Credentials.of(CLIENT_ID, CLIENT_SECRET)
    )
    async with DeribitClient(config) as client:
        return {
            p.instrument_name: p.size for p in await client.get_positions(currency=currency, kind="option")
        }


def start_emulator(*, state_path: str | None = None, clock: ManualClock | None = None) -> RunningEmulator:
    """An emulator serving on a thread of its own; ``stop_emulator`` ends it."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    clock = clock or ManualClock(START_MS)
    emulator = DeribitEmulator(
        source=SyntheticSource(),
        clock=clock,
        accounts=[
            AccountConfig(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, balances={"BTC": 10.0, "ETH": 100.0}
            )
        ],
        state_path=state_path,
    )
    running = RunningEmulator(emulator=emulator, clock=clock, loop=loop)
    running.run(emulator.__aenter__())
    return running


def stop_emulator(running: RunningEmulator) -> None:
    running.run(running.emulator.__aexit__(None, None, None))
    running.loop.call_soon_threadsafe(running.loop.stop)


@pytest.fixture
def exchange() -> Iterator[RunningEmulator]:
    running = start_emulator()
    try:
        yield running
    finally:
        stop_emulator(running)
