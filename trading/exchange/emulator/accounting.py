"""Accounts, positions and Deribit's standard-margin formulas for options (DERIBIT.md §3.8).

All amounts in coin of the account's currency; ``index_price`` in USD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "AccountConfig",
    "AccountState",
    "PositionState",
    "RpcError",
    "delivery_fee",
    "option_payoff_coin",
    "short_option_margins",
    "trade_fee",
]

from trading.exchange.error_codes import ERROR_MESSAGES


class RpcError(Exception):
    """An error the emulator answers with: ``{code, message, data?}``."""

    def __init__(self, code: int, *, data: object = None, message: str | None = None) -> None:
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "error")
        self.data = data
        super().__init__(f"{code} {self.message}")

    @classmethod
    def invalid_param(cls, param: str, reason: str) -> RpcError:
        return cls(-32602, data={"reason": reason, "param": param})

    def to_wire(self) -> dict[str, object]:
        body: dict[str, object] = {"message": self.message, "code": self.code}
        if self.data is not None:
            body["data"] = self.data
        return body


def short_option_margins(
    option_type: str, strike: float, index_price: float, mark_price: float
) -> tuple[float, float]:
    """(initial, maintenance) margin per short contract in coin.

    Call: IM = max(0.15 - OTM/S, 0.1) + mark, MM = 0.075 + mark.
    Put:  MM = max(0.075, 0.075*mark) + mark, IM = max(max(0.15 - OTM/S, 0.1) + mark, MM).
    """
    s = index_price
    if option_type == "call":
        otm = max(strike - s, 0.0)
        im = max(0.15 - otm / s, 0.1) + mark_price
        mm = 0.075 + mark_price
        return im, mm
    otm = max(s - strike, 0.0)
    mm = max(0.075, 0.075 * mark_price) + mark_price
    im = max(max(0.15 - otm / s, 0.1) + mark_price, mm)
    return im, mm


def trade_fee(amount: float, price: float, commission: float) -> float:
    """Deribit option fee (§3.3): min(commission * amount, 12.5% of the premium), in coin."""
    return min(commission * amount, 0.125 * price * amount)


def option_payoff_coin(option_type: str, strike: float, delivery_price: float) -> float:
    """Coin paid per long contract at expiry: max(S-K,0)/S for a call, max(K-S,0)/S for a put."""
    if option_type == "call":
        return max(delivery_price - strike, 0.0) / delivery_price
    return max(strike - delivery_price, 0.0) / delivery_price


def delivery_fee(size_abs: float, payoff_coin: float, rate: float = 0.00015) -> float:
    """Delivery fee on ITM expiry: 0.015% of the underlying, capped at 12.5% of the option value."""
    if payoff_coin <= 0:
        return 0.0
    return min(rate * size_abs, 0.125 * payoff_coin * size_abs)


@dataclass(frozen=True, kw_only=True)
class AccountConfig:
    """A funded emulator account and its API key. The secret never shows in a repr."""

    client_id: str = "emulator-client"
    client_secret: str = field(default="emulator-secret", repr=False)
    balances: Mapping[str, float] = field(default_factory=lambda: {"BTC": 10.0, "ETH": 100.0})
    max_scope: str = "account:read_write trade:read_write wallet:read block_trade:read_write"
    username: str = "emulated_user"
    user_id: int = 1001


@dataclass
class PositionState:
    """Signed ``size`` (coin, negative = short); ``avg_price`` coin; ``avg_price_usd`` USD."""

    instrument_name: str
    currency: str
    size: float = 0.0
    avg_price: float = 0.0
    avg_price_usd: float = 0.0
    realized: float = 0.0
    session_realized: float = 0.0

    def apply_fill(self, direction: str, amount: float, price: float, index_price: float) -> float:
        """Apply a fill; returns the realized P&L (coin) of the part that closed exposure."""
        signed = amount if direction == "buy" else -amount
        realized = 0.0
        if self.size == 0 or (self.size > 0) == (signed > 0):
            total = abs(self.size) + amount
            self.avg_price = (abs(self.size) * self.avg_price + amount * price) / total
            self.avg_price_usd = (abs(self.size) * self.avg_price_usd + amount * price * index_price) / total
            self.size = round(self.size + signed, 8)
        else:
            closed = min(abs(self.size), amount)
            sign = 1.0 if self.size > 0 else -1.0
            realized = closed * (price - self.avg_price) * sign
            rest = amount - closed
            self.size = round(self.size + (closed if signed > 0 else -closed), 8)
            if rest > 1e-12:
                self.size = round(rest if signed > 0 else -rest, 8)
                self.avg_price = price
                self.avg_price_usd = price * index_price
            elif abs(self.size) < 1e-12:
                self.size = 0.0
        self.realized += realized
        self.session_realized += realized
        return realized


@dataclass
class AccountState:
    config: AccountConfig
    balances: dict[str, float]
    positions: dict[str, PositionState] = field(default_factory=dict)
    session_rpl: dict[str, float] = field(default_factory=dict)
    fees_paid: dict[str, float] = field(default_factory=dict)
    creation_ms: int = 0

    @property
    def account_id(self) -> str:
        return self.config.client_id

    def position(self, instrument_name: str, currency: str) -> PositionState:
        pos = self.positions.get(instrument_name)
        if pos is None:
            pos = PositionState(instrument_name=instrument_name, currency=currency)
            self.positions[instrument_name] = pos
        return pos
