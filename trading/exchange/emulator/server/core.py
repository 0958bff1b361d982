"""The emulator's request pipeline shared by HTTP and WebSocket: faults, authentication,
rate limits, scopes, parameter checking and dispatch to the handlers; and the publishing of
engine events and market data to WebSocket sessions. With a state file, every change is saved
before anyone hears of it (a response or a notification)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from trading.exchange.emulator.accounting import AccountConfig, RpcError
from trading.exchange.emulator.auth import AuthService, TokenInfo, scope_allows
from trading.exchange.emulator.clock import AcceleratedClock, Clock, ManualClock, RealClock
from trading.exchange.emulator.engine import EngineConfig, ExchangeEngine
from trading.exchange.emulator.faults import FaultInjector, FaultKind
from trading.exchange.emulator.market import MarketSource
from trading.exchange.emulator.persistence import (
    StateFileError,
    StateRecorder,
    StateStore,
    describe_source,
    market_summary,
    open_state,
    source_for,
)
from trading.exchange.emulator.rpc import METHODS, CallContext, RpcMethods, coerce_params
from trading.exchange.emulator.sessions import WsSession
from trading.exchange.emulator.sources.synthetic import SyntheticSource
from trading.exchange.ratelimit import CreditBucket

__all__ = ["EmulatorCore", "EmulatorRateLimits", "Outcome"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EmulatorRateLimits:
    """Credit buckets per client (DERIBIT.md §1.5); exhausted → 10028."""

    enabled: bool = True
    non_matching_cost: float = 500.0
    non_matching_capacity: float = 50_000.0
    non_matching_refill_per_s: float = 10_000.0
    matching_rate_per_s: float = 10.0
    matching_burst: float = 20.0


@dataclass
class Outcome:
    """What a request produced: a result or an error, or a fault (dropped, bare HTTP status)."""

    result: Any = None
    error: RpcError | None = None
    drop: bool = False
    http_status: int | None = None


class EmulatorCore:
    """State, request processing and publishing; the transports are in the sibling modules."""

    def __init__(
        self,
        *,
        source: MarketSource | None = None,
        clock: Clock | None = None,
        accounts: Sequence[AccountConfig] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token_lifetime_s: int = 900,
        heartbeat_time_scale: float = 1.0,
        publish_interval_s: float = 0.1,
        rate_limits: EmulatorRateLimits | None = None,
        engine_config: EngineConfig | None = None,
        control_endpoint: bool = True,
        state_path: str | os.PathLike[str] | None = None,
        state_fsync: bool = False,
        clock_speed: float | None = None,
    ) -> None:
        """``state_path``: a state file to resume from and keep saved (see
        :mod:`~trading.exchange.emulator.persistence`); an existing one also gives the market
        and, unless ``clock`` is passed, the time; a damaged one raises :class:`StateFileError`.
        ``state_fsync``: fsync every save (survives a power cut; slower). ``clock_speed``: of the
        clock made when none is passed (default 1, or the saved clock's)."""
        store = StateStore(state_path, fsync=state_fsync) if state_path is not None else None
        saved = open_state(store) if store is not None else None
        if store is not None and saved is not None:
            try:
                source = source_for(saved, source)
            except ValueError as exc:
                store.close()
                raise StateFileError(store.path, str(exc)) from None
            clock = clock or AcceleratedClock(saved.resume_ms(), clock_speed or saved.speed or 1.0)
        self.source: MarketSource = source or SyntheticSource()
        start = self.source.start_ms()
        if clock is None:
            clock = AcceleratedClock(start, clock_speed or 1.0) if start is not None else RealClock()
        self.clock: Clock = clock
        self.accounts = list(accounts or [AccountConfig()])
        try:
            self.engine = ExchangeEngine(
                self.source,
                self.accounts,
                start_ms=self.clock.now_ms(),
                config=engine_config,
                image=saved.image if saved is not None else None,
            )
            self.state: StateRecorder | None = None
            if store is not None:
                self.state = StateRecorder(
                    store,
                    self.engine,
                    self.clock,
                    describe_source(self.source),
                    saved_trades=len(saved.image.trades) if saved is not None else 0,
                )
                self.state.start(new=saved is None)
                log.info(
                    "emulator state %s (%s): %s market at %s",
                    store.path,
                    "resumed" if saved is not None else "new",
                    market_summary(self.state.market),
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.engine.now_ms / 1000)),
                )
        except BaseException:
            if store is not None:
                store.close()  # release the file for whoever fixes what went wrong
            raise
        self.auth = AuthService({a.client_id: a for a in self.accounts}, token_lifetime_s=token_lifetime_s)
        self.methods = RpcMethods(self.engine, self.auth, now_ms=self.clock.now_ms)
        self.faults = FaultInjector()
        self.rate_limits = rate_limits or EmulatorRateLimits()
        self.heartbeat_time_scale = heartbeat_time_scale
        self.publish_interval_s = publish_interval_s
        self.requests: Counter[str] = Counter()
        self.sessions: dict[str, WsSession] = {}
        self._host = host
        self._port = port
        self._control = control_endpoint
        self._buckets: dict[tuple[str, bool], CreditBucket] = {}
        self._conn_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._publisher: asyncio.Task[None] | None = None
        self.port: int | None = None
        self.stopping = False  # shutting down: connections closed now are not the clients' doing
        self._us_base: tuple[int, float] = (0, 0.0)

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("emulator is not started")
        return f"http://{self._host}:{self.port}"

    @property
    def http_url(self) -> str:
        return self.base_url + "/api/v2"

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws/api/v2"

    # ------------------------------------------------------------------ test controls

    async def advance(self, seconds: float) -> None:
        """Move a :class:`ManualClock` forward, settle/match/expire, and push notifications."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs a ManualClock")
        self.clock.advance(seconds)
        await self.sync_and_publish()

    async def disconnect_all(self) -> None:
        """Drop every WebSocket connection (clients should reconnect and resubscribe)."""
        for session in list(self.sessions.values()):
            await session.close()

    def fund(self, client_id: str, currency: str, amount: float) -> None:
        """Deposit ``amount`` coin (saved with the next request; ``await emu.settle()`` to save now)."""
        self.engine.fund(client_id, currency, amount)

    def orders_with_label(self, label: str) -> list[dict[str, Any]]:
        return [o.wire() for o in self.engine.orders.values() if o.label == label]

    # ------------------------------------------------------------------ request processing

    def _bucket(self, key: str, matching: bool) -> CreditBucket:
        bucket = self._buckets.get((key, matching))
        if bucket is None:
            rl = self.rate_limits
            if matching:
                bucket = CreditBucket(capacity=rl.matching_burst, refill_per_s=rl.matching_rate_per_s)
            else:
                bucket = CreditBucket(
                    capacity=rl.non_matching_capacity, refill_per_s=rl.non_matching_refill_per_s
                )
            self._buckets[(key, matching)] = bucket
        return bucket

    def _resolve_auth(
        self,
        method: str,
        raw: dict[str, Any],
        ctx: CallContext,
        header: str | None,
        request_data: str | None,
    ) -> None:
        token_text = raw.get("access_token") if isinstance(raw.get("access_token"), str) else None
        key: AccountConfig | None = None
        if header and header.startswith("Bearer "):
            token_text = header[7:].strip()
        elif header and header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise RpcError(13009) from None
            key = self.auth.account_for_basic(client_id, secret)
        elif header and header.startswith("deri-hmac-sha256 "):
            if request_data is None:
                raise RpcError(13009)
            key = self.auth.account_for_signature(header[17:], request_data)
        if key is not None:  # an API key on the request itself: the key's whole scope
            ctx.account = self.engine.accounts[key.client_id]
            ctx.token = TokenInfo("", "", key.client_id, frozenset(key.max_scope.split()), float("inf"), None)
            return
        token: TokenInfo | None = None
        if token_text:
            token = self.auth.resolve(token_text, connection_id=ctx.connection_id)
        elif ctx.session is not None and ctx.session.token is not None:
            try:
                token = self.auth.resolve(ctx.session.token.access_token, connection_id=ctx.connection_id)
            except RpcError:
                if method.startswith("private/"):
                    raise
                ctx.session.token = None  # an expired session token leaves the connection anonymous
        if token is not None:
            ctx.token = token
            ctx.account = self.engine.accounts[token.account_id]
        elif method.startswith("private/"):
            raise RpcError(10000)

    async def process(
        self,
        method: str,
        raw: dict[str, Any],
        ctx: CallContext,
        *,
        from_query: bool,
        auth_header: str | None = None,
        request_data: str | None = None,
    ) -> Outcome:
        """Run one request. ``request_data``: what a ``deri-hmac-sha256`` ``auth_header`` signs
        (an HTTP request's method, URI and body, each followed by a newline)."""
        self.requests[method] += 1
        spec = METHODS.get(method)
        if spec is None:
            return Outcome(error=RpcError(-32601))
        if spec.ws_only and ctx.transport == "http":
            return Outcome(error=RpcError(10030))
        if self.faults.take(FaultKind.DROP_REQUEST, method):
            return Outcome(drop=True)
        rule = self.faults.take(FaultKind.LATENCY, method, after_execute=False)
        if rule is not None:
            await asyncio.sleep(rule.delay_s)
        if ctx.transport == "http" and (
            rule := self.faults.take(FaultKind.HTTP_STATUS, method, after_execute=False)
        ):
            return Outcome(http_status=rule.status)
        if rule := self.faults.take(FaultKind.ERROR, method):
            return Outcome(error=RpcError(rule.code))
        try:
            self._resolve_auth(method, raw, ctx, auth_header, request_data)
            if self.rate_limits.enabled:
                key = (
                    ctx.account.account_id if ctx.account is not None else (ctx.connection_id or "anonymous")
                )
                cost = 1.0 if spec.matching else self.rate_limits.non_matching_cost
                if not self._bucket(key, spec.matching).try_take(cost):
                    return Outcome(error=RpcError(10028))
            if spec.scope is not None:
                assert ctx.token is not None
                if not scope_allows(ctx.token.scopes, spec.scope):
                    raise RpcError(13021, data={"reason": f"scope {spec.scope} required"})
            params = coerce_params(spec, raw, from_query=from_query)
            self.engine.partial_fill_fraction = self.faults.partial_fill_fraction
            self.engine.sync(self.clock.now_ms())
            outcome = Outcome(result=self.methods.handle(method, params, ctx))
        except RpcError as exc:
            outcome = Outcome(error=exc)
        except Exception:
            log.exception("emulator failure in %s", method)
            outcome = Outcome(error=RpcError(11094))
        if not await self.settle():
            outcome = Outcome(error=RpcError(11094))  # not saved, so not acknowledged
        rule = self.faults.take(FaultKind.LATENCY, method, after_execute=True)
        if rule is not None:
            await asyncio.sleep(rule.delay_s)
        if self.faults.take(FaultKind.DROP_RESPONSE, method):
            return Outcome(drop=True)
        if ctx.transport == "http" and (
            rule := self.faults.take(FaultKind.HTTP_STATUS, method, after_execute=True)
        ):
            return Outcome(http_status=rule.status)
        return outcome

    def _us(self) -> int:
        """Exchange time in µs: the emulator clock's ms plus the real µs elapsed within it."""
        now_ms = self.clock.now_ms()
        if now_ms != self._us_base[0]:
            self._us_base = (now_ms, time.perf_counter())
        return now_ms * 1000 + int((time.perf_counter() - self._us_base[1]) * 1e6)

    # ------------------------------------------------------------------ publishing

    async def _publish_loop(self) -> None:
        while True:
            await asyncio.sleep(self.publish_interval_s)
            try:
                await self.sync_and_publish()
            except Exception:
                log.exception("emulator publisher failed")

    async def sync_and_publish(self) -> None:
        self.engine.partial_fill_fraction = self.faults.partial_fill_fraction
        self.engine.sync(self.clock.now_ms())
        await self.settle()
        for session in list(self.sessions.values()):
            await session.publish_market()

    async def settle(self) -> bool:
        """Save what changed (with a state file), then tell the subscribers. False if the save
        failed: the changes stay queued for the next save and their notifications held back."""
        if self.state is not None:
            try:
                await self.state.save()
            except Exception:
                log.exception("emulator state not saved to %s", self.state.store.path)
                return False
        await self._flush_events()
        return True

    async def _flush_events(self) -> None:
        events, self.engine.events = self.engine.events, []
        if not events:
            return
        for session in list(self.sessions.values()):
            mine = [
                e
                for e in events
                if session.account is not None and e.account_id == session.account.account_id
            ]
            if mine:
                await session.publish_private(mine)
