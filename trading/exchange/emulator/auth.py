"""Emulated ``public/auth``: API keys, short-lived tokens, refresh tokens and scopes; and the
per-request keys of HTTP (``Basic`` and the signed ``deri-hmac-sha256`` header)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trading.exchange.emulator.accounting import AccountConfig, RpcError

__all__ = ["SIGNATURE_WINDOW_MS", "AuthService", "TokenInfo", "scope_allows"]

_ACCESS = ("account", "trade", "wallet", "block_trade", "block_rfq")
_LEVEL = {"none": 0, "read": 1, "read_write": 2}
#: how far a signed request's timestamp may be from now (DERIBIT.md §1.4: valid for 60 s)
SIGNATURE_WINDOW_MS = 60_000


@dataclass
class TokenInfo:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    account_id: str
    scopes: frozenset[str]
    expires_at: float
    connection_id: str | None  # set when the token is bound to one WebSocket ("connection" scope)


def _access_levels(scope: str) -> dict[str, int]:
    levels: dict[str, int] = {}
    for part in scope.split():
        name, _, level = part.partition(":")
        if name in _ACCESS and level in _LEVEL:
            levels[name] = _LEVEL[level]
    return levels


def scope_allows(scopes: frozenset[str], need: str) -> bool:
    """Whether ``scopes`` (e.g. {"trade:read_write", ...}) grant ``need`` (e.g. "trade:read")."""
    name, _, level = need.partition(":")
    have = _access_levels(" ".join(scopes)).get(name, 0)
    return have >= _LEVEL[level]


class AuthService:
    """Issues tokens that live ``token_lifetime_s`` (real seconds; short so refresh is exercised)."""

    def __init__(
        self,
        accounts: Mapping[str, AccountConfig],
        *,
        token_lifetime_s: int = 900,
        time_fn: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        """``wall_ms``: the real time (ms since the epoch) signed requests are checked against,
        as clients sign with their own clock, whatever the emulated exchange time is."""
        self._accounts = accounts
        self.token_lifetime_s = token_lifetime_s
        self._time = time_fn
        self._wall_ms = wall_ms
        self._by_access: dict[str, TokenInfo] = {}
        self._by_refresh: dict[str, TokenInfo] = {}

    def _issue(self, account: AccountConfig, requested: str | None, connection_id: str | None) -> TokenInfo:
        max_levels = _access_levels(account.max_scope)
        wanted = _access_levels(requested or "") or max_levels
        granted = {
            f"{k}:{next(n for n, v in _LEVEL.items() if v == min(lv, max_levels.get(k, 0)))}"
            for k, lv in wanted.items()
        }
        extra = [p for p in (requested or "").split() if p.startswith(("session:", "expires:"))]
        session = [p for p in extra if p.startswith("session:")]
        binding = "connection" if not session else session[0]
        scopes = frozenset({binding, "mainaccount", *granted})
        now = self._time()
        lifetime = self.token_lifetime_s
        for p in extra:
            if p.startswith("expires:") and p[8:].isdigit():
                lifetime = min(lifetime, int(p[8:]))
        info = TokenInfo(
            access_token=f"{int(now * 1000)}.{secrets.token_urlsafe(24)}",
            refresh_token=f"{int(now * 1000)}.{secrets.token_urlsafe(24)}",
            account_id=account.client_id,
            scopes=scopes,
            expires_at=now + lifetime,
            connection_id=connection_id if binding == "connection" else None,
        )
        self._by_access[info.access_token] = info
        self._by_refresh[info.refresh_token] = info
        return info

    def grant(self, params: Mapping[str, Any], *, connection_id: str | None) -> dict[str, Any]:
        """Handle ``public/auth``; raises :class:`RpcError` 13004/13009/-32602."""
        grant_type = params.get("grant_type")
        requested = params.get("scope")
        if grant_type == "client_credentials":
            account = self._accounts.get(str(params.get("client_id", "")))
            secret = str(params.get("client_secret", ""))
            if account is None or not hmac.compare_digest(account.client_secret, secret):
                raise RpcError(13004)
        elif grant_type == "client_signature":
            account = self._accounts.get(str(params.get("client_id", "")))
            if account is None:
                raise RpcError(13004)
            payload = f"{params.get('timestamp')}\n{params.get('nonce', '')}\n{params.get('data', '')}"
            expected = hmac.new(account.client_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, str(params.get("signature", ""))):
                raise RpcError(13004)
        elif grant_type == "refresh_token":
            old = self._by_refresh.pop(str(params.get("refresh_token", "")), None)
            if old is None:
                raise RpcError(13009)
            self._by_access.pop(old.access_token, None)
            account = self._accounts[old.account_id]
            connection_id = old.connection_id
            requested = requested or " ".join(sorted(old.scopes))
        else:
            raise RpcError.invalid_param("grant_type", "invalid grant_type")
        info = self._issue(account, requested, connection_id)
        return {
            "access_token": info.access_token,
            "expires_in": round(info.expires_at - self._time()),
            "refresh_token": info.refresh_token,
            "scope": " ".join(sorted(info.scopes)),
            "enabled_features": [],
            "token_type": "bearer",
        }

    def resolve(self, access_token: str, *, connection_id: str | None) -> TokenInfo:
        info = self._by_access.get(access_token)
        if info is None or info.expires_at <= self._time():
            raise RpcError(13009)
        if info.connection_id is not None and info.connection_id != connection_id:
            raise RpcError(13009, data={"reason": "connection scope token used on another connection"})
        return info

    def account_for_basic(self, client_id: str, client_secret: str) -> AccountConfig:
        account = self._accounts.get(client_id)
        if account is None or not hmac.compare_digest(account.client_secret, client_secret):
            raise RpcError(13004)
        return account

    def account_for_signature(self, fields: str, request_data: str) -> AccountConfig:
        r"""The key of ``Authorization: deri-hmac-sha256 id=…,ts=…,sig=…,nonce=…`` (``fields`` is
        what follows the scheme): ``sig`` must be hex HMAC-SHA256(secret, ``ts\nnonce\n`` +
        ``request_data``), where ``request_data`` is ``METHOD\nURI\nbody\n``, and ``ts`` (ms)
        within :data:`SIGNATURE_WINDOW_MS` of now. Unknown key → 13004; else → 13009."""
        parts = dict(part.strip().partition("=")[::2] for part in fields.split(","))
        account = self._accounts.get(parts.get("id", ""))
        if account is None:
            raise RpcError(13004)
        ts, nonce = parts.get("ts", ""), parts.get("nonce", "")
        if not ts.isdigit() or abs(self._wall_ms() - int(ts)) > SIGNATURE_WINDOW_MS:
            raise RpcError(13009, data={"reason": "signature timestamp out of range"})
        payload = f"{ts}\n{nonce}\n{request_data}"
        expected = hmac.new(account.client_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("sig", "")):
            raise RpcError(13009, data={"reason": "bad signature"})
        return account

    def revoke_connection(self, connection_id: str) -> None:
        for token in [t for t, i in self._by_access.items() if i.connection_id == connection_id]:
            info = self._by_access.pop(token)
            self._by_refresh.pop(info.refresh_token, None)
