"""Handlers of the private trading and account methods: orders, trades, positions, the
account summary and margin estimates."""

from __future__ import annotations

from typing import Any

from trading.exchange.emulator.accounting import RpcError
from trading.exchange.emulator.rpc.protocol import CallContext, HandlerBase

__all__ = ["TradingMethods"]


class TradingMethods(HandlerBase):
    def m_private_buy(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.place_order(self._acct(ctx), "buy", p)

    def m_private_sell(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.place_order(self._acct(ctx), "sell", p)

    def m_private_edit(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.edit_order(self._acct(ctx), p)

    def m_private_edit_by_label(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.edit_by_label(self._acct(ctx), p)

    def m_private_cancel(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.cancel(self._acct(ctx), p["order_id"])

    def m_private_cancel_all(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.cancel_where(self._acct(ctx))

    def m_private_cancel_all_by_currency(self, p: dict[str, Any], ctx: CallContext) -> Any:
        if p.get("kind") not in (None, "option", "any"):
            return 0
        return self.engine.cancel_where(self._acct(ctx), currency=p["currency"])

    def m_private_cancel_all_by_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        rec = self.engine.instrument(p["instrument_name"])
        if p.get("type") not in (None, "all", "limit"):  # the emulator has no trigger orders
            return 0
        return self.engine.cancel_where(self._acct(ctx), instrument_name=rec.name)

    def m_private_cancel_by_label(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.cancel_where(self._acct(ctx), label=p["label"], currency=p.get("currency"))

    def m_private_get_open_orders(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.open_orders(self._acct(ctx), None, p.get("kind"))

    def m_private_get_open_orders_by_currency(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.open_orders(self._acct(ctx), p["currency"], p.get("kind"))

    def m_private_get_open_orders_by_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        rec = self.engine.instrument(p["instrument_name"])
        return self.engine.open_orders(self._acct(ctx), None, None, instrument_name=rec.name)

    def m_private_get_open_orders_by_label(self, p: dict[str, Any], ctx: CallContext) -> Any:
        rows = self.engine.orders_by_label(self._acct(ctx), p["currency"], p.get("label"))
        return [o for o in rows if o["order_state"] == "open"]

    def _order_history(self, p: dict[str, Any], ctx: CallContext, instrument_name: str | None) -> Any:
        """The account's orders no longer open, newest first (``count`` default 20)."""
        count, offset = p.get("count", 20), p.get("offset", 0)
        if not 1 <= count <= 1000:
            raise RpcError.invalid_param("count", "count must be between 1 and 1000")
        if offset < 0:
            raise RpcError.invalid_param("offset", "offset must not be negative")
        return self.engine.order_history(
            self._acct(ctx),
            currency=p.get("currency"),
            kind=p.get("kind"),
            instrument_name=instrument_name,
            count=count,
            offset=offset,
            include_unfilled=p.get("include_unfilled", False),
        )

    def m_private_get_order_history_by_currency(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self._order_history(p, ctx, None)

    def m_private_get_order_history_by_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self._order_history(p, ctx, self.engine.instrument(p["instrument_name"]).name)

    def m_private_get_order_state(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.order_state(self._acct(ctx), p["order_id"])

    def m_private_get_order_state_by_label(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.orders_by_label(self._acct(ctx), p["currency"], p.get("label"))

    def _user_trades(self, p: dict[str, Any], ctx: CallContext, instrument_name: str | None = None) -> Any:
        """``{trades, has_more}``: the account's latest trades (newest first unless ``asc``)."""
        count = p.get("count", 10)
        if not 1 <= count <= 1000:
            raise RpcError.invalid_param("count", "count must be between 1 and 1000")
        return self.engine.user_trades(
            self._acct(ctx),
            currency=p.get("currency", "any"),
            kind=p.get("kind"),
            count=count,
            start_ms=p.get("start_timestamp"),
            end_ms=p.get("end_timestamp"),
            sorting=p.get("sorting"),
            instrument_name=instrument_name,
        )

    def m_private_get_user_trades_by_currency(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self._user_trades(p, ctx)

    m_private_get_user_trades_by_currency_and_time = m_private_get_user_trades_by_currency

    def m_private_get_user_trades_by_instrument(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self._user_trades(p, ctx, self.engine.instrument(p["instrument_name"]).name)

    m_private_get_user_trades_by_instrument_and_time = m_private_get_user_trades_by_instrument

    def m_private_get_user_trades_by_order(self, p: dict[str, Any], ctx: CallContext) -> Any:
        account = self._acct(ctx)
        order = self.engine.order_state(account, p["order_id"])
        page = self.engine.user_trades(
            account,
            currency="any",
            kind=None,
            count=1000,
            start_ms=None,
            end_ms=None,
            sorting=p.get("sorting", "asc"),
            order_id=order["order_id"],
        )
        return page["trades"]

    def m_private_get_positions(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.positions(self._acct(ctx), p.get("currency"), p.get("kind"))

    def m_private_get_position(self, p: dict[str, Any], ctx: CallContext) -> Any:
        account = self._acct(ctx)
        rows = [
            r
            for r in self.engine.positions(account, None, None)
            if r["instrument_name"] == p["instrument_name"]
        ]
        if not rows:
            raise RpcError(13020, data={"param": "instrument_name", "reason": "no position"})
        return rows[0]

    def m_private_get_account_summary(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.account_summary(self._acct(ctx), p["currency"], extended=p.get("extended", False))

    def m_private_get_account_summaries(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.account_summaries(self._acct(ctx), extended=p.get("extended", False))

    def m_private_get_margins(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return self.engine.margins(
            self._acct(ctx), p["instrument_name"], amount=p["amount"], price=p["price"]
        )
