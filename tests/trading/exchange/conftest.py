"""Fixtures: a loopback emulator on a manual clock, and clients for both transports."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig, Credentials, RateLimitConfig, RetryPolicy
from trading.exchange.emulator import DeribitEmulator, ManualClock, SyntheticSource
from trading.exchange.emulator.accounting import AccountConfig

CLIENT_ID = "bot-key-7f3a"
CLIENT_SECRET = "s3cr3t-Emulat0r-XYZ-9981"  # a distinctive value the redaction tests search for
START_MS = SyntheticSource().config.start_ms + 3_600_000  # 2026-01-05 09:00 UTC

TRANSPORTS = ["http", "ws"]


class RecordingSleep:
    """Injected into the client: records each requested delay and yields without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def account() -> AccountConfig:
    return AccountConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, balances={"BTC": 10.0, "ETH": 100.0}
    )


@pytest.fixture
async def emulator(account: AccountConfig) -> AsyncIterator[DeribitEmulator]:
    emu = DeribitEmulator(
        source=SyntheticSource(),
        clock=ManualClock(START_MS),
        accounts=[account],
        heartbeat_time_scale=0.01,
        publish_interval_s=0.02,
    )
    async with emu:
        yield emu


ClientFactory = Callable[..., Awaitable[DeribitClient]]


@pytest.fixture
async def make_client(emulator: DeribitEmulator) -> AsyncIterator[ClientFactory]:
    """``await make_client(transport, **config_overrides)`` → a connected client (closed after)."""
    clients: list[DeribitClient] = []

    async def factory(
        transport: str = "ws", *, sleep: Any = None, authenticated: bool = True, **overrides: Any
    ) -> DeribitClient:
        fields: dict[str, Any] = {
            "transport": transport,
            "base_url": emulator.base_url,
            "credentials": Credentials.of(CLIENT_ID, CLIENT_SECRET) if authenticated else None,
            "request_timeout_s": 2.0,
            "retry": RetryPolicy(
                max_attempts=4, base_delay_s=0.01, max_delay_s=0.05, jitter=0.5, rate_limit_delay_s=0.02
            ),
            "rate_limits": RateLimitConfig(matching_rate_per_s=1000, matching_burst=1000),
            "submit_lookup_grace_s": 0.0,
            "reconnect_base_delay_s": 0.01,
        }
        fields.update(overrides)
        client = DeribitClient(ClientConfig(**fields), sleep=sleep or RecordingSleep(), rng=random.Random(7))
        await client.connect()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


async def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll ``predicate`` until true (for asynchronous deliveries over a real socket)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def pick_option(
    emulator: DeribitEmulator, currency: str = "BTC", *, want_bid: bool = True, min_price: float = 0.005
) -> str:
    """A listed option with a two-sided book whose bid is at least ``min_price`` (deterministic)."""
    names = sorted(
        name
        for name, rec in emulator.engine.instruments.items()
        if rec.currency == currency
        and not rec.expired
        and rec.quote.best_ask_price is not None
        and (not want_bid or (rec.quote.best_bid_price or 0) >= min_price)
        and rec.quote.best_bid_amount >= 1.0
        and rec.quote.best_ask_amount >= 1.0
        and rec.expiration_ms - emulator.engine.now_ms > 5 * 86_400_000
    )
    assert names, "no suitable option listed"
    return names[len(names) // 2]
