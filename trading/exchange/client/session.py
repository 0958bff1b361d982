"""The client's session: transport, authentication, rate limiting and the retry policy.

Every typed method goes through :meth:`RpcSession.call`, which authenticates private calls,
waits for rate-limit credits, and retries per :class:`CallKind` (see the package docstring).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from trading.exchange.config import ClientConfig, redact
from trading.exchange.errors import (
    AuthError,
    DeribitError,
    ExchangeError,
    InternalServerError,
    ProtocolError,
    RateLimitError,
    RequestNotSentError,
    TransportError,
    UnauthorizedError,
    error_for_code,
)
from trading.exchange.models import AuthResult
from trading.exchange.ratelimit import AsyncCreditLimiter, Backoff, CreditBucket
from trading.exchange.subscriptions import SubscriptionRouter, group_channels
from trading.exchange.transport import HttpTransport, RpcTransport, WsTransport

__all__ = ["MATCHING_ENGINE_METHODS", "CallKind", "RpcSession", "SleepFn", "validated", "validated_list"]

log = logging.getLogger(__name__)

MATCHING_ENGINE_METHODS = frozenset(
    {
        "private/buy",
        "private/sell",
        "private/edit",
        "private/edit_by_label",
        "private/cancel",
        "private/cancel_all",
        "private/cancel_all_by_currency",
        "private/cancel_all_by_instrument",
        "private/cancel_by_label",
        "private/close_position",
    }
)

SleepFn = Callable[[float], Awaitable[None]]


class CallKind(enum.Enum):
    READ = "read"  # idempotent: retried on transport and transient errors
    CANCEL = "cancel"  # retried like a read (cancelling twice is harmless)
    SUBMIT = "submit"  # retried only when surely not executed


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def validated(model: type[M], value: Any, method: str) -> M:
    """Parse a result into ``model``; a shape mismatch is a :class:`ProtocolError`."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ProtocolError(f"unexpected result shape from {method}: {exc.error_count()} errors") from None


def validated_list(adapter: TypeAdapter[list[T]], value: Any, method: str) -> list[T]:
    """Parse a list result with ``adapter``; a shape mismatch is a :class:`ProtocolError`."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise ProtocolError(f"unexpected result shape from {method}: {exc.error_count()} errors") from None


def retryable(exc: ExchangeError, kind: CallKind) -> bool:
    """Whether a failed call of ``kind`` may be sent again: a submit only when it surely did
    not execute (never sent, or rejected with a transient code other than 11094)."""
    if kind is CallKind.SUBMIT:
        if isinstance(exc, TransportError):
            return isinstance(exc, RequestNotSentError)
        return isinstance(exc, DeribitError) and exc.retryable and not isinstance(exc, InternalServerError)
    if isinstance(exc, TransportError):
        return True
    return isinstance(exc, DeribitError) and exc.retryable


class RpcSession:
    """One connection to Deribit and the call path every typed method uses.

    ``sleep``, ``monotonic`` and ``rng`` are injectable so retries and rate limiting are
    deterministic in tests. ``calls`` counts requests sent per method (retries included).
    """

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        sleep: SleepFn = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config or ClientConfig()
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self._backoff = Backoff(self.config.retry, self._rng)
        rl = self.config.rate_limits
        self._non_matching = AsyncCreditLimiter(
            CreditBucket(
                capacity=rl.non_matching_capacity,
                refill_per_s=rl.non_matching_refill_per_s,
                time_fn=monotonic,
            ),
            cost=rl.non_matching_cost,
            sleep=sleep,
        )
        self._matching = AsyncCreditLimiter(
            CreditBucket(capacity=rl.matching_burst, refill_per_s=rl.matching_rate_per_s, time_fn=monotonic),
            cost=1.0,
            sleep=sleep,
        )
        self._http_client = http_client
        self._transport: RpcTransport | None = None
        self._token: AuthResult | None = None
        self._refresh_at = 0.0
        self._auth_lock = asyncio.Lock()
        self._router = SubscriptionRouter()
        self.calls: Counter[str] = Counter()

    def __repr__(self) -> str:
        c = self.config
        fields = f"environment={c.environment!r}, transport={c.transport!r}, url={self._url()!r}"
        return f"{type(self).__name__}({fields})"

    def _url(self) -> str:
        return self.config.ws_url if self.config.transport == "ws" else self.config.http_url

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the transport; with credentials, authenticate (WS: also heartbeat + cancel-on-disconnect)."""
        if self._transport is not None:
            return
        if self.config.transport == "ws":
            ws = WsTransport(
                self.config.ws_url,
                connect_timeout_s=self.config.connect_timeout_s,
                on_notification=self._router.route,
                on_connected=self._on_ws_connected,
                reconnect_base_delay_s=self.config.reconnect_base_delay_s,
                reconnect_max_delay_s=self.config.reconnect_max_delay_s,
                rng=random.Random(self._rng.random()),
            )
            hb = self.config.heartbeat_interval_s
            ws.watchdog_timeout_s = self.config.watchdog_timeout_s or (2.5 * hb if hb else None)
            self._transport = ws
            try:
                await ws.start()
            except BaseException:
                self._transport = None
                await ws.close()
                raise
        else:
            http = HttpTransport(
                self.config.http_url,
                connect_timeout_s=self.config.connect_timeout_s,
                client=self._http_client,
            )
            self._transport = http
            await http.start()
            if self.config.credentials is not None:
                await self._ensure_auth()

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()
        self._token = None

    @property
    def is_authenticated(self) -> bool:
        return self._token is not None

    @property
    def ws_connect_count(self) -> int:
        """How many times the WebSocket connected (1 + reconnects); 0 over HTTP."""
        return self._transport.connect_count if isinstance(self._transport, WsTransport) else 0

    async def drop_connection(self) -> None:
        """Close the WebSocket as if the network dropped it (the client reconnects)."""
        if isinstance(self._transport, WsTransport):
            await self._transport.drop_connection()

    # ------------------------------------------------------------------ auth

    def _credential_params(self) -> dict[str, Any]:
        creds = self.config.credentials
        assert creds is not None
        params: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret.get_secret_value(),
        }
        if self.config.scope:
            params["scope"] = self.config.scope
        return params

    def _store_token(self, result: Any) -> AuthResult:
        token = validated(AuthResult, result, "public/auth")
        self._token = token
        self._refresh_at = self._monotonic() + token.expires_in * self.config.token_refresh_fraction
        return token

    async def authenticate(self) -> AuthResult:
        """Run ``public/auth`` with client credentials now (normally automatic)."""
        if self.config.credentials is None:
            raise error_for_code(10000, data={"reason": "no credentials configured"})
        async with self._auth_lock:
            return await self._auth_with_credentials()

    async def _auth_with_credentials(self) -> AuthResult:
        result = await self._send("public/auth", self._credential_params(), private=False)
        return self._store_token(result)

    async def _ensure_auth(self) -> None:
        if self.config.credentials is None:
            raise error_for_code(10000, data={"reason": "no credentials configured"})
        async with self._auth_lock:
            if self._token is None:
                await self._auth_with_credentials()
            elif self._monotonic() >= self._refresh_at:
                params = {
                    "grant_type": "refresh_token",
                    "refresh_token": self._token.refresh_token.get_secret_value(),
                }
                try:
                    self._store_token(await self._send("public/auth", params, private=False))
                    log.info("access token refreshed")
                except (AuthError, ProtocolError):
                    log.info("token refresh refused; authenticating with client credentials")
                    await self._auth_with_credentials()

    async def _on_ws_connected(self) -> None:
        """Runs after every (re)connect: auth, heartbeat, cancel-on-disconnect, resubscribe."""
        transport = self._transport
        assert isinstance(transport, WsTransport)
        timeout = self.config.request_timeout_s
        self._token = None
        if self.config.credentials is not None:
            self.calls["public/auth"] += 1
            self._store_token(
                await transport.request_now("public/auth", self._credential_params(), timeout_s=timeout)
            )
        if self.config.heartbeat_interval_s:
            self.calls["public/set_heartbeat"] += 1
            await transport.request_now(
                "public/set_heartbeat", {"interval": self.config.heartbeat_interval_s}, timeout_s=timeout
            )
        if self.config.credentials is not None and self.config.cancel_on_disconnect:
            self.calls["private/enable_cancel_on_disconnect"] += 1
            await transport.request_now(
                "private/enable_cancel_on_disconnect", {"scope": "connection"}, timeout_s=timeout
            )
        for method, group in group_channels(self._router.active_channels()):
            self.calls[method] += 1
            await transport.request_now(method, {"channels": group}, timeout_s=timeout)

    # ------------------------------------------------------------------ core call path

    async def _send(self, method: str, params: dict[str, Any], *, private: bool) -> Any:
        transport = self._transport
        if transport is None:
            raise RequestNotSentError("client is not connected", method=method)
        limiter = self._matching if method in MATCHING_ENGINE_METHODS else self._non_matching
        await limiter.acquire()
        token = None
        if private and isinstance(transport, HttpTransport):
            assert self._token is not None
            token = self._token.access_token.get_secret_value()
        self.calls[method] += 1
        log.debug("-> %s %s", method, redact(params))
        return await transport.request(
            method, params, timeout_s=self.config.request_timeout_s, access_token=token
        )

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, kind: CallKind = CallKind.READ
    ) -> Any:
        """Send ``method`` with retries per ``kind``; returns the raw ``result``."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        private = method.startswith("private/")
        attempt = 0
        reauthed = False
        while True:
            try:
                if private:
                    await self._ensure_auth()
                return await self._send(method, params, private=private)
            except UnauthorizedError:
                # a rejected request did nothing, so re-authenticating and sending again is safe
                if not private or reauthed or self.config.credentials is None:
                    raise
                reauthed = True
                self._token = None
                log.info("%s unauthorized; re-authenticating", method)
            except (DeribitError, TransportError) as exc:
                if not retryable(exc, kind) or attempt + 1 >= self.config.retry.max_attempts:
                    raise
                delay = self._backoff.delay(attempt, rate_limited=isinstance(exc, RateLimitError))
                attempt += 1
                log.info("%s failed (%s); retry %d in %.2fs", method, type(exc).__name__, attempt, delay)
                await self._sleep(delay)
