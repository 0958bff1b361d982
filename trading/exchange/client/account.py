"""Typed private reads of the account: trades, positions, summary and margin estimates."""

from __future__ import annotations

from typing import Literal

from pydantic import TypeAdapter

from trading.exchange.client.session import RpcSession, validated, validated_list
from trading.exchange.models import AccountSummary, Margins, Position, UserTrades

__all__ = ["AccountApi"]

_positions = TypeAdapter(list[Position])


class AccountApi(RpcSession):
    async def get_user_trades_by_currency(
        self,
        *,
        currency: str,
        kind: str | None = None,
        count: int | None = None,
        start_timestamp: int | None = None,
        end_timestamp: int | None = None,
        sorting: Literal["asc", "desc", "default"] | None = None,
    ) -> UserTrades:
        params = {
            "currency": currency,
            "kind": kind,
            "count": count,
            "start_timestamp": start_timestamp,
            "end_timestamp": end_timestamp,
            "sorting": sorting,
        }
        result = await self.call("private/get_user_trades_by_currency", params)
        return validated(UserTrades, result, "private/get_user_trades_by_currency")

    async def get_positions(self, *, currency: str, kind: str | None = None) -> list[Position]:
        result = await self.call("private/get_positions", {"currency": currency, "kind": kind})
        return validated_list(_positions, result, "private/get_positions")

    async def get_account_summary(self, *, currency: str, extended: bool = False) -> AccountSummary:
        result = await self.call("private/get_account_summary", {"currency": currency, "extended": extended})
        return validated(AccountSummary, result, "private/get_account_summary")

    async def get_margins(self, *, instrument_name: str, amount: float, price: float) -> Margins:
        """Margin (coin) a buy or a sell of ``amount`` coin at ``price`` (coin) would take now,
        and the price band; no order is placed."""
        params = {"instrument_name": instrument_name, "amount": amount, "price": price}
        result = await self.call("private/get_margins", params)
        return validated(Margins, result, "private/get_margins")

    async def enable_cancel_on_disconnect(
        self, *, scope: Literal["connection", "account"] = "connection"
    ) -> None:
        await self.call("private/enable_cancel_on_disconnect", {"scope": scope})
