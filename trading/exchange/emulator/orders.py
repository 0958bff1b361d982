"""Emulated orders and trades in Deribit's wire shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["EmuOrder", "EngineEvent"]

TERMINAL = frozenset({"filled", "cancelled", "rejected"})


@dataclass
class EmuOrder:
    order_id: str
    account_id: str
    instrument_name: str
    currency: str
    direction: Literal["buy", "sell"]
    order_type: str
    time_in_force: str
    price: float
    amount: float
    label: str
    post_only: bool
    reject_post_only: bool
    reduce_only: bool
    creation_ms: int
    last_update_ms: int
    state: str = "open"
    filled_amount: float = 0.0
    average_price: float = 0.0
    cancel_reason: str | None = None
    replaced: bool = False

    @property
    def remaining(self) -> float:
        return round(self.amount - self.filled_amount, 8)

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def record_fill(self, amount: float, price: float, now_ms: int) -> None:
        total = self.filled_amount + amount
        self.average_price = round((self.average_price * self.filled_amount + price * amount) / total, 8)
        self.filled_amount = round(total, 8)
        self.last_update_ms = now_ms
        if self.remaining <= 1e-9:
            self.state = "filled"

    def cancel(self, reason: str, now_ms: int) -> None:
        self.state = "cancelled"
        self.cancel_reason = reason
        self.last_update_ms = now_ms

    def wire(self) -> dict[str, Any]:
        """The order object (fields as in Deribit's option order examples, DERIBIT.md §2.8/2.10)."""
        body: dict[str, Any] = {
            "web": False,
            "time_in_force": self.time_in_force,
            "risk_reducing": False,
            "replaced": self.replaced,
            "reduce_only": self.reduce_only,
            "price": self.price,
            "post_only": self.post_only,
            "order_type": self.order_type,
            "order_state": self.state,
            "order_id": self.order_id,
            "mmp": False,
            "max_show": self.amount,
            "last_update_timestamp": self.last_update_ms,
            "label": self.label,
            "is_rebalance": False,
            "is_liquidation": False,
            "instrument_name": self.instrument_name,
            "filled_amount": self.filled_amount,
            "direction": self.direction,
            "creation_timestamp": self.creation_ms,
            "average_price": self.average_price,
            "api": True,
            "amount": self.amount,
            "contracts": self.amount,
        }
        if self.post_only:
            body["reject_post_only"] = self.reject_post_only
        if self.cancel_reason is not None:
            body["cancel_reason"] = self.cancel_reason
        return body


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """Something a private subscription should hear about."""

    kind: Literal["order", "trade"]
    account_id: str
    currency: str
    instrument_name: str
    payload: dict[str, Any]
