"""The emulator's JSON-RPC method table and parameter checking like Deribit's (-32602 with
``data: {reason, param}``; unknown params are ignored)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from trading.exchange.emulator.accounting import RpcError

__all__ = ["CURRENCIES", "KINDS", "METHODS", "MethodSpec", "Param", "ParamType", "coerce_params"]

ParamType = Literal["string", "number", "integer", "boolean", "array"]
CURRENCIES = ("BTC", "ETH", "USDC", "USDT", "EURR")
KINDS = ("future", "option", "spot", "future_combo", "option_combo")


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ParamType
    required: bool = False
    enum: tuple[Any, ...] | None = None
    default: Any = None  # what an absent optional param means (None: absent)


@dataclass(frozen=True, slots=True)
class MethodSpec:
    params: tuple[Param, ...] = ()
    scope: str | None = None  # e.g. "trade:read_write"; private methods only
    matching: bool = False  # matching-engine request (separate rate-limit bucket)
    ws_only: bool = False


def P(
    name: str,
    type_: ParamType,
    required: bool = False,
    enum: tuple[Any, ...] | None = None,
    default: Any = None,
) -> Param:
    return Param(name, type_, required, enum, default)


_CUR = P("currency", "string", True, CURRENCIES)
_CUR_ANY = P("currency", "string", False, (*CURRENCIES, "any"))
_CUR_ANY_REQ = P("currency", "string", True, (*CURRENCIES, "any"))
# The v2.1.1 spec marks get_instruments' currency required, but the live exchange answers
# without it with every currency's instruments (as ccxt's fetchMarkets relies on).
_CUR_DEFAULT_ANY = P("currency", "string", False, (*CURRENCIES, "any"), default="any")
_KIND = P("kind", "string", False, (*KINDS, "any"))
_INSTR = P("instrument_name", "string", True)
_ORDER_PARAMS = (
    _INSTR,
    P("amount", "number"),
    P("contracts", "number"),
    P("type", "string", False, ("limit", "market")),
    P("label", "string"),
    P("price", "number"),
    P(
        "time_in_force",
        "string",
        False,
        ("good_til_cancelled", "good_til_day", "fill_or_kill", "immediate_or_cancel"),
    ),
    P("post_only", "boolean"),
    P("reject_post_only", "boolean"),
    P("reduce_only", "boolean"),
    P("valid_until", "integer"),
    P("advanced", "string"),
    P("mmp", "boolean"),
)
_TRADES_IN_TIME = (
    P("start_timestamp", "integer", True),
    P("end_timestamp", "integer", True),
    P("count", "integer"),
    P("sorting", "string", False, ("asc", "desc", "default")),
    P("historical", "boolean"),
    P("subaccount_id", "integer"),
)
_HISTORY_PAGE = (
    P("count", "integer"),
    P("offset", "integer"),
    P("include_old", "boolean"),
    P("include_unfilled", "boolean"),
    P("historical", "boolean"),
)

METHODS: dict[str, MethodSpec] = {
    "public/auth": MethodSpec(
        (
            P("grant_type", "string", True, ("client_credentials", "client_signature", "refresh_token")),
            P("client_id", "string"),
            P("client_secret", "string"),
            P("refresh_token", "string"),
            P("timestamp", "integer"),
            P("signature", "string"),
            P("nonce", "string"),
            P("data", "string"),
            P("state", "string"),
            P("scope", "string"),
        )
    ),
    "public/test": MethodSpec((P("expected_result", "string", False, ("exception",)),)),
    "public/get_time": MethodSpec(),
    "public/status": MethodSpec(),
    "public/hello": MethodSpec(
        (P("client_name", "string", True), P("client_version", "string", True)), ws_only=True
    ),
    "public/set_heartbeat": MethodSpec((P("interval", "number", True),), ws_only=True),
    "public/disable_heartbeat": MethodSpec(ws_only=True),
    "public/subscribe": MethodSpec((P("channels", "array", True),), ws_only=True),
    "public/unsubscribe": MethodSpec((P("channels", "array", True),), ws_only=True),
    "private/subscribe": MethodSpec((P("channels", "array", True),), ws_only=True),
    "private/unsubscribe": MethodSpec((P("channels", "array", True),), ws_only=True),
    "private/logout": MethodSpec(ws_only=True),
    "private/enable_cancel_on_disconnect": MethodSpec(
        (P("scope", "string", False, ("connection", "account")),)
    ),
    "private/disable_cancel_on_disconnect": MethodSpec(
        (P("scope", "string", False, ("connection", "account")),)
    ),
    "private/get_cancel_on_disconnect": MethodSpec((P("scope", "string", False, ("connection", "account")),)),
    "public/get_instruments": MethodSpec((_CUR_DEFAULT_ANY, _KIND, P("expired", "boolean"))),
    "public/get_currencies": MethodSpec(),
    "public/get_instrument": MethodSpec((_INSTR,)),
    "public/get_index_price": MethodSpec((P("index_name", "string", True),)),
    "public/get_index_price_names": MethodSpec(),
    "public/ticker": MethodSpec((_INSTR,)),
    "public/get_order_book": MethodSpec(
        (_INSTR, P("depth", "integer", False, (1, 5, 10, 20, 50, 100, 1000, 10000)))
    ),
    "public/get_book_summary_by_currency": MethodSpec((_CUR, _KIND)),
    "public/get_book_summary_by_instrument": MethodSpec((_INSTR,)),
    "public/get_volatility_index_data": MethodSpec(
        (
            _CUR,
            P("start_timestamp", "integer", True),
            P("end_timestamp", "integer", True),
            P("resolution", "string", True, ("1", "60", "3600", "43200", "1D")),
        )
    ),
    "public/get_tradingview_chart_data": MethodSpec(
        (
            _INSTR,
            P("start_timestamp", "integer", True),
            P("end_timestamp", "integer", True),
            P(
                "resolution",
                "string",
                True,
                ("1", "3", "5", "10", "15", "30", "60", "120", "180", "360", "720", "1D"),
            ),
        )
    ),
    "public/get_delivery_prices": MethodSpec(
        (P("index_name", "string", True), P("offset", "integer"), P("count", "integer"))
    ),
    "private/buy": MethodSpec(_ORDER_PARAMS, scope="trade:read_write", matching=True),
    "private/sell": MethodSpec(_ORDER_PARAMS, scope="trade:read_write", matching=True),
    "private/edit": MethodSpec(
        (
            P("order_id", "string", True),
            P("amount", "number"),
            P("contracts", "number"),
            P("price", "number"),
            P("post_only", "boolean"),
            P("reject_post_only", "boolean"),
            P("reduce_only", "boolean"),
            P("valid_until", "integer"),
            P("advanced", "string"),
            P("mmp", "boolean"),
        ),
        scope="trade:read_write",
        matching=True,
    ),
    "private/edit_by_label": MethodSpec(
        (
            P("label", "string", True),
            _INSTR,
            P("amount", "number"),
            P("contracts", "number"),
            P("price", "number"),
            P("post_only", "boolean"),
            P("reject_post_only", "boolean"),
            P("reduce_only", "boolean"),
            P("valid_until", "integer"),
            P("advanced", "string"),
            P("mmp", "boolean"),
        ),
        scope="trade:read_write",
        matching=True,
    ),
    "private/cancel": MethodSpec((P("order_id", "string", True),), scope="trade:read_write", matching=True),
    "private/cancel_all": MethodSpec(scope="trade:read_write", matching=True),
    "private/cancel_all_by_currency": MethodSpec(
        (_CUR, _KIND, P("type", "string")), scope="trade:read_write", matching=True
    ),
    "private/cancel_by_label": MethodSpec(
        (P("label", "string", True), P("currency", "string", False, CURRENCIES)),
        scope="trade:read_write",
        matching=True,
    ),
    "private/cancel_all_by_instrument": MethodSpec(
        (
            _INSTR,
            P("type", "string"),
            P("detailed", "boolean"),
            P("include_combos", "boolean"),
            P("freeze_quotes", "boolean"),
        ),
        scope="trade:read_write",
        matching=True,
    ),
    "private/get_order_history_by_currency": MethodSpec((_CUR, _KIND, *_HISTORY_PAGE), scope="trade:read"),
    "private/get_order_history_by_instrument": MethodSpec((_INSTR, *_HISTORY_PAGE), scope="trade:read"),
    "private/get_open_orders": MethodSpec((_KIND, P("type", "string")), scope="trade:read"),
    "private/get_open_orders_by_currency": MethodSpec((_CUR, _KIND, P("type", "string")), scope="trade:read"),
    "private/get_open_orders_by_instrument": MethodSpec((_INSTR, P("type", "string")), scope="trade:read"),
    "private/get_open_orders_by_label": MethodSpec((_CUR, P("label", "string")), scope="trade:read"),
    "private/get_order_state": MethodSpec((P("order_id", "string", True),), scope="trade:read"),
    "private/get_order_state_by_label": MethodSpec((_CUR, P("label", "string")), scope="trade:read"),
    "private/get_user_trades_by_currency": MethodSpec(
        (
            _CUR_ANY_REQ,
            _KIND,
            P("start_id", "string"),
            P("end_id", "string"),
            P("count", "integer"),
            P("start_timestamp", "integer"),
            P("end_timestamp", "integer"),
            P("sorting", "string", False, ("asc", "desc", "default")),
            P("historical", "boolean"),
            P("subaccount_id", "integer"),
        ),
        scope="trade:read",
    ),
    "private/get_user_trades_by_currency_and_time": MethodSpec(
        (_CUR_ANY_REQ, _KIND, *_TRADES_IN_TIME), scope="trade:read"
    ),
    "private/get_user_trades_by_instrument": MethodSpec(
        (
            _INSTR,
            P("start_seq", "integer"),
            P("end_seq", "integer"),
            P("count", "integer"),
            P("start_timestamp", "integer"),
            P("end_timestamp", "integer"),
            P("historical", "boolean"),
            P("sorting", "string", False, ("asc", "desc", "default")),
            P("subaccount_id", "integer"),
        ),
        scope="trade:read",
    ),
    "private/get_user_trades_by_instrument_and_time": MethodSpec(
        (_INSTR, *_TRADES_IN_TIME), scope="trade:read"
    ),
    "private/get_user_trades_by_order": MethodSpec(
        (P("order_id", "string", True), P("sorting", "string", False, ("asc", "desc", "default"))),
        scope="trade:read",
    ),
    "private/get_positions": MethodSpec((_CUR_ANY, _KIND, P("subaccount_id", "integer")), scope="trade:read"),
    "private/get_position": MethodSpec((_INSTR,), scope="trade:read"),
    "private/get_margins": MethodSpec(
        (_INSTR, P("amount", "number", True), P("price", "number", True)), scope="trade:read"
    ),
    "private/get_account_summaries": MethodSpec(
        (P("subaccount_id", "integer"), P("extended", "boolean")), scope="account:read"
    ),
    "private/get_account_summary": MethodSpec(
        (_CUR, P("subaccount_id", "integer"), P("extended", "boolean")), scope="account:read"
    ),
}


def _coerce(param: Param, value: Any, from_query: bool) -> Any:
    bad = RpcError.invalid_param(param.name, f"invalid {param.name}")
    kind = param.type
    if kind == "string":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad
        out: Any = (
            value
            if isinstance(value, str)
            else (str(int(value)) if float(value).is_integer() else str(value))
        )
    elif kind == "number":
        if isinstance(value, bool):
            raise bad
        if isinstance(value, str) and from_query:
            try:
                value = float(value)
            except ValueError:
                raise bad from None
        if not isinstance(value, int | float):
            raise bad
        out = float(value)
    elif kind == "integer":
        if isinstance(value, str) and from_query and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        out = value
    elif kind == "boolean":
        if isinstance(value, str) and from_query and value in ("true", "false"):
            value = value == "true"
        if not isinstance(value, bool):
            raise bad
        out = value
    else:
        if isinstance(value, str) and from_query:
            try:
                value = json.loads(value) if value.startswith("[") else value.split(",")
            except ValueError:
                raise bad from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad
        out = value
    if param.enum is not None and out not in param.enum:
        raise bad
    return out


def coerce_params(spec: MethodSpec, raw: Mapping[str, Any], *, from_query: bool) -> dict[str, Any]:
    """Check and type the params of a request (unknown params are ignored, as Deribit does)."""
    out: dict[str, Any] = {}
    for param in spec.params:
        if param.name not in raw or raw[param.name] is None:
            if param.required:
                raise RpcError.invalid_param(param.name, "missing required parameter")
            if param.default is not None:
                out[param.name] = param.default
            continue
        out[param.name] = _coerce(param, raw[param.name], from_query)
    return out
