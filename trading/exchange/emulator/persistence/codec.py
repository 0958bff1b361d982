"""Engine objects ↔ rows of the state file. Each row carries a JSON body; reading it back is
strict (types checked, required fields present), so a damaged file is refused, not half-read.

Bodies hold the dataclass fields of :class:`EmuOrder`, :class:`PositionState` and
:class:`InstrumentRecord` (with its :class:`OptionQuote`) by name, trades in their wire shape.
Account bodies hold balances and P&L but never the API secret.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from trading.exchange.emulator.accounting import AccountConfig, AccountState, PositionState
from trading.exchange.emulator.book import InstrumentRecord
from trading.exchange.emulator.engine.journal import TradeRow
from trading.exchange.emulator.orders import EmuOrder

__all__ = [
    "CorruptRow",
    "account_row",
    "decode_account",
    "decode_delivery_price",
    "decode_instrument",
    "decode_order",
    "decode_position",
    "decode_trade",
    "dumps",
    "instrument_row",
    "order_row",
    "position_row",
    "trade_row",
]


class CorruptRow(ValueError):
    """A row of the state file that does not decode."""


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # one encoder: json.dumps makes one per call


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def _field_names(cls: type, *, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    skip = set(exclude)
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)


# consumed liquidity is keyed by (side, price): saved apart; the IV memo is derived
_INSTRUMENT_FIELDS = _field_names(InstrumentRecord, exclude=("quote", "consumed", "_ivs"))

_ORDER = TypeAdapter(EmuOrder)
_POSITION = TypeAdapter(PositionState)
_INSTRUMENT = TypeAdapter(InstrumentRecord)
_CONSUMED = TypeAdapter(list[tuple[str, float, float]])


class _AccountBody(TypedDict):
    positions: list[str]  # the instruments held, in the order the engine lists them
    balances: dict[str, float]
    session_rpl: dict[str, float]
    fees_paid: dict[str, float]
    creation_ms: int
    username: str
    user_id: int
    max_scope: str


class _TradeCore(TypedDict):
    trade_id: str
    order_id: str
    instrument_name: str
    timestamp: int
    direction: str
    amount: float
    price: float
    fee: float


_ACCOUNT = TypeAdapter(_AccountBody)
_TRADE = TypeAdapter(_TradeCore)


def _strict(adapter: TypeAdapter[Any], text: str | bytes, what: str) -> Any:
    try:
        return adapter.validate_json(text, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise CorruptRow(f"{what}: {where}: {first.get('msg', 'invalid')}") from None


# ---------------------------------------------------------------------------- encode


def order_row(order: EmuOrder) -> tuple[int, str, str, str, str, str]:
    body = dumps(vars(order))  # a plain dataclass: its __dict__ is exactly its fields
    return (int(order.order_id), order.account_id, order.instrument_name, order.label, order.state, body)


def position_row(account_id: str, position: PositionState) -> tuple[str, str, str]:
    body = dumps(vars(position))
    return (account_id, position.instrument_name, body)


def account_row(account: AccountState) -> tuple[str, str]:
    config = account.config
    body: _AccountBody = {
        "positions": list(account.positions),
        "balances": account.balances,
        "session_rpl": account.session_rpl,
        "fees_paid": account.fees_paid,
        "creation_ms": account.creation_ms,
        "username": config.username,
        "user_id": config.user_id,
        "max_scope": config.max_scope,
    }
    return (account.account_id, dumps(body))


def instrument_row(rec: InstrumentRecord, market: str | None) -> tuple[str, str, str, str | None]:
    """``market`` is the market token the consumed liquidity belongs to."""
    body = {name: getattr(rec, name) for name in _INSTRUMENT_FIELDS}
    body["quote"] = {f.name: getattr(rec.quote, f.name) for f in dataclasses.fields(rec.quote)}
    consumed = [[side, price, amount] for (side, price), amount in rec.consumed.items()]
    return (rec.name, dumps(body), dumps(consumed), market)


def trade_row(seq: int, row: TradeRow) -> tuple[int, str, str, str, str, str, str]:
    account_id, currency, trade = row
    return (
        seq,
        account_id,
        currency,
        str(trade["trade_id"]),
        str(trade["order_id"]),
        str(trade.get("label", "")),
        dumps(trade),
    )


# ---------------------------------------------------------------------------- decode


def decode_order(order_id: int, body: str) -> EmuOrder:
    order: EmuOrder = _strict(_ORDER, body, f"order {order_id}")
    if order.order_id != str(order_id):
        raise CorruptRow(f"order {order_id}: body is order {order.order_id}")
    return order


def decode_position(account_id: str, name: str, body: str) -> PositionState:
    pos: PositionState = _strict(_POSITION, body, f"position {account_id}/{name}")
    if pos.instrument_name != name:
        raise CorruptRow(f"position {account_id}/{name}: body is {pos.instrument_name}")
    return pos


def decode_account(account_id: str, body: str, positions: dict[str, PositionState]) -> AccountState:
    """An account holding ``positions`` (its position rows), with a placeholder configuration
    (an unguessable secret): the engine gives it the configured one, if any."""
    row: _AccountBody = _strict(_ACCOUNT, body, f"account {account_id}")
    if sorted(row["positions"]) != sorted(positions):
        raise CorruptRow(f"account {account_id}: its positions and the position rows differ")
    config = AccountConfig(
        client_id=account_id,
        client_secret=secrets.token_urlsafe(32),
        balances={},
        max_scope=row["max_scope"],
        username=row["username"],
        user_id=row["user_id"],
    )
    return AccountState(
        config=config,
        positions={name: positions[name] for name in row["positions"]},
        balances=dict(row["balances"]),
        session_rpl=dict(row["session_rpl"]),
        fees_paid=dict(row["fees_paid"]),
        creation_ms=row["creation_ms"],
    )


def decode_instrument(
    name: str, body: str, consumed: str, market: str | None, current_market: str | None
) -> InstrumentRecord:
    """The record, with the liquidity it had consumed if that was in ``current_market``."""
    rec: InstrumentRecord = _strict(_INSTRUMENT, body, f"instrument {name}")
    if rec.name != name or rec.quote.instrument_name != name:
        raise CorruptRow(f"instrument {name}: body is {rec.name}")
    taken: list[tuple[str, float, float]] = _strict(_CONSUMED, consumed, f"instrument {name} consumed")
    if market is not None and market == current_market:
        rec.consumed = {(side, price): amount for side, price, amount in taken}
    return rec


def decode_trade(seq: int, account_id: str, currency: str, body: str) -> TradeRow:
    core: _TradeCore = _strict(_TRADE, body, f"trade #{seq}")
    try:
        trade = json.loads(body)
    except ValueError as exc:  # checked above; kept for the type checker's sake
        raise CorruptRow(f"trade #{seq}: {exc}") from None
    if not isinstance(trade, dict) or trade.get("trade_id") != core["trade_id"]:
        raise CorruptRow(f"trade #{seq}: not a trade")
    return (account_id, currency, trade)


def decode_delivery_price(index_name: str, day: str, price: object) -> float:
    if not isinstance(price, float | int) or isinstance(price, bool) or price <= 0:
        raise CorruptRow(f"delivery price {index_name} {day}: {price!r}")
    return float(price)
