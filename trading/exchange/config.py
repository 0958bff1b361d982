"""Client configuration: environment, transport, credentials, limits, retries.

Safe by default: testnet, no credentials. Mainnet only with ``environment="mainnet"``.
Credentials never appear in a repr; :func:`redact` masks secrets in dicts before logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr

__all__ = [
    "MAINNET_HTTP_URL",
    "MAINNET_WS_URL",
    "TESTNET_HTTP_URL",
    "TESTNET_WS_URL",
    "ClientConfig",
    "Credentials",
    "RateLimitConfig",
    "RetryPolicy",
    "redact",
]

TESTNET_HTTP_URL = "https://test.deribit.com/api/v2"
TESTNET_WS_URL = "wss://test.deribit.com/ws/api/v2"
MAINNET_HTTP_URL = "https://www.deribit.com/api/v2"
MAINNET_WS_URL = "wss://www.deribit.com/ws/api/v2"

_SECRET_KEYS = frozenset(
    {"client_secret", "access_token", "refresh_token", "signature", "authorization", "password", "secret"}
)


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-bearing key (at any depth) replaced by ``"***"``."""
    if isinstance(value, Mapping):
        return {k: ("***" if str(k).lower() in _SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, SecretStr):
        return "***"
    return value


@dataclass(frozen=True, slots=True)
class Credentials:
    """An API key pair. ``client_secret`` is a :class:`SecretStr`; the repr shows neither."""

    client_id: str
    client_secret: SecretStr

    @classmethod
    def of(cls, client_id: str, client_secret: str) -> Credentials:
        return cls(client_id=client_id, client_secret=SecretStr(client_secret))

    def __repr__(self) -> str:
        return "Credentials(client_id='***', client_secret='***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Capped exponential backoff with jitter for reads and cancels.

    delay(attempt) = min(max_delay_s, base_delay_s * 2**attempt) * (1 - jitter + jitter * U[0,1));
    a rate-limit error waits at least ``rate_limit_delay_s``.
    """

    max_attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    jitter: float = 0.5
    rate_limit_delay_s: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitConfig:
    """Deribit's credit system (DERIBIT.md §1.5): each request costs credits from a bucket.

    Non-matching-engine: 500 credits a request, 50,000 pool, 10,000/s refill (~20 req/s, burst 100).
    Matching-engine (buy/sell/edit/cancel...): ``matching_rate_per_s`` with ``matching_burst``.
    """

    non_matching_cost: float = 500.0
    non_matching_capacity: float = 50_000.0
    non_matching_refill_per_s: float = 10_000.0
    matching_rate_per_s: float = 5.0
    matching_burst: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    """How a :class:`~trading.exchange.client.DeribitClient` connects.

    ``base_url`` overrides the host (``http://127.0.0.1:8765`` for the emulator): the HTTP API is
    then ``{base_url}/api/v2`` and the WebSocket ``ws(s)://…/ws/api/v2``.
    """

    environment: Literal["testnet", "mainnet"] = "testnet"
    transport: Literal["http", "ws"] = "ws"
    base_url: str | None = None
    credentials: Credentials | None = None
    scope: str | None = None
    request_timeout_s: float = 10.0
    connect_timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    #: seconds between server heartbeats (Deribit's minimum is 10); None disables them
    heartbeat_interval_s: int | None = 30
    #: close a silent socket after this many seconds (default 2.5 heartbeat intervals)
    watchdog_timeout_s: float | None = None
    #: enable cancel-on-disconnect for an authenticated WebSocket session
    cancel_on_disconnect: bool = True
    #: refresh the token when this fraction of ``expires_in`` has passed
    token_refresh_fraction: float = 0.8
    #: wait before looking a label up after a lost submit response (lets a late request land)
    submit_lookup_grace_s: float = 0.5
    reconnect_base_delay_s: float = 0.2
    reconnect_max_delay_s: float = 10.0

    def __post_init__(self) -> None:
        if self.environment not in ("testnet", "mainnet"):
            raise ValueError(f"unknown environment {self.environment!r}")
        if self.transport not in ("http", "ws"):
            raise ValueError(f"unknown transport {self.transport!r}")
        if self.request_timeout_s <= 0:
            raise ValueError("request_timeout_s must be positive")
        if not 0 < self.token_refresh_fraction < 1:
            raise ValueError("token_refresh_fraction must be in (0, 1)")

    @property
    def http_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/") + "/api/v2"
        return MAINNET_HTTP_URL if self.environment == "mainnet" else TESTNET_HTTP_URL

    @property
    def ws_url(self) -> str:
        if self.base_url:
            base = self.base_url.rstrip("/")
            if base.startswith("https://"):
                base = "wss://" + base.removeprefix("https://")
            elif base.startswith("http://"):
                base = "ws://" + base.removeprefix("http://")
            return base + "/ws/api/v2"
        return MAINNET_WS_URL if self.environment == "mainnet" else TESTNET_WS_URL
