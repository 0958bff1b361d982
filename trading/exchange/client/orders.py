"""Order methods: submits, edits and cancels, and the order reads that resolve a lost response.

A submit or edit whose outcome is unknown (timeout, disconnect after send, 5xx, 11094) is never
sent again; it is resolved by reading the exchange's state (see the package docstring).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from trading.exchange.client.session import CallKind, RpcSession, validated, validated_list
from trading.exchange.errors import (
    AmbiguousOrderError,
    ExchangeError,
    InternalServerError,
    OrderNotOpenError,
    OrderNotPlacedError,
    ProtocolError,
    RequestNotSentError,
    TransportError,
)
from trading.exchange.models import Order, OrderWithTrades, UserTrade

__all__ = ["LABEL_MAX", "OrderType", "OrdersApi", "SubmitResult", "TimeInForce", "currency_of"]

log = logging.getLogger(__name__)

LABEL_MAX = 64

_orders = TypeAdapter(list[Order])

OrderType = Literal["limit", "market"]
TimeInForce = Literal["good_til_cancelled", "good_til_day", "fill_or_kill", "immediate_or_cancel"]


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What an order submit produced. ``trades`` is empty when recovered by label lookup
    (fetch them with ``get_user_trades_by_currency`` if ``order.filled_amount`` > 0)."""

    order: Order
    trades: list[UserTrade]
    recovered_by_label: bool = False


def currency_of(instrument_name: str) -> str:
    """``BTC-27MAR26-100000-C`` → ``BTC``; ``XRP_USDC-30JUN23-0d625-C`` → ``USDC``."""
    base = instrument_name.split("-", 1)[0]
    return base.split("_", 1)[1] if "_" in base else base


def _shows_edit(order: Order, amount: float, price: float) -> bool:
    """Whether ``order`` carries an edit's new amount and price (so the edit applied)."""
    return abs(order.amount - amount) < 1e-9 and order.price == price


class OrdersApi(RpcSession):
    @staticmethod
    def _check_label(label: str) -> None:
        if not label or len(label) > LABEL_MAX:
            raise ValueError("label must be 1 to 64 characters (it makes submits idempotent)")

    async def _lookup_grace(self) -> None:
        """Give a late request time to land before reading the state it would change."""
        if self.config.submit_lookup_grace_s > 0:
            await self._sleep(self.config.submit_lookup_grace_s)

    # ------------------------------------------------------------------ submits

    async def buy(
        self,
        *,
        instrument_name: str,
        amount: float,
        label: str,
        price: float | None = None,
        type: OrderType = "limit",
        time_in_force: TimeInForce = "good_til_cancelled",
        post_only: bool = False,
        reject_post_only: bool = False,
        reduce_only: bool = False,
        valid_until: int | None = None,
    ) -> SubmitResult:
        """Buy ``amount`` coin of ``instrument_name`` at ``price`` (coin). See the module doc for
        what happens when the response is lost."""
        return await self._submit(
            "buy",
            instrument_name=instrument_name,
            amount=amount,
            label=label,
            price=price,
            type=type,
            time_in_force=time_in_force,
            post_only=post_only,
            reject_post_only=reject_post_only,
            reduce_only=reduce_only,
            valid_until=valid_until,
        )

    async def sell(
        self,
        *,
        instrument_name: str,
        amount: float,
        label: str,
        price: float | None = None,
        type: OrderType = "limit",
        time_in_force: TimeInForce = "good_til_cancelled",
        post_only: bool = False,
        reject_post_only: bool = False,
        reduce_only: bool = False,
        valid_until: int | None = None,
    ) -> SubmitResult:
        """Sell ``amount`` coin of ``instrument_name`` at ``price`` (coin)."""
        return await self._submit(
            "sell",
            instrument_name=instrument_name,
            amount=amount,
            label=label,
            price=price,
            type=type,
            time_in_force=time_in_force,
            post_only=post_only,
            reject_post_only=reject_post_only,
            reduce_only=reduce_only,
            valid_until=valid_until,
        )

    async def _submit(
        self, side: Literal["buy", "sell"], *, instrument_name: str, label: str, **fields: Any
    ) -> SubmitResult:
        self._check_label(label)
        if fields["type"] == "limit" and fields["price"] is None:
            raise ValueError("a limit order needs a price")
        params = {"instrument_name": instrument_name, "label": label, **fields}
        if not params["post_only"]:
            params.pop("reject_post_only")
        method = f"private/{side}"
        try:
            result = await self.call(method, params, kind=CallKind.SUBMIT)
        except RequestNotSentError as exc:
            raise OrderNotPlacedError(label=label, instrument_name=instrument_name, cause=exc) from exc
        except (TransportError, InternalServerError) as exc:
            log.warning(
                "%s %s: outcome unknown (%s); looking the label up",
                method,
                instrument_name,
                type(exc).__name__,
            )
            return await self._recover_by_label(side, instrument_name, label, exc)
        try:
            placed = OrderWithTrades.model_validate(result)
        except ValidationError as exc:
            log.error("%s returned an unparseable result; looking the label up", method)
            return await self._recover_by_label(side, instrument_name, label, exc)
        return SubmitResult(order=placed.order, trades=list(placed.trades))

    async def _recover_by_label(
        self, side: str, instrument_name: str, label: str, cause: BaseException
    ) -> SubmitResult:
        await self._lookup_grace()
        try:
            found = await self.get_order_state_by_label(currency=currency_of(instrument_name), label=label)
        except ExchangeError as lookup_error:
            raise AmbiguousOrderError(
                label=label, instrument_name=instrument_name, cause=cause
            ) from lookup_error
        matches = [o for o in found if o.instrument_name == instrument_name and o.direction == side]
        if not matches:
            raise OrderNotPlacedError(label=label, instrument_name=instrument_name, cause=cause) from cause
        if len(matches) > 1:
            log.warning("%d orders carry the label; returning the newest", len(matches))
        order = max(matches, key=lambda o: o.creation_timestamp)
        return SubmitResult(order=order, trades=[], recovered_by_label=True)

    # ------------------------------------------------------------------ edits

    async def edit(
        self,
        *,
        order_id: str,
        amount: float,
        price: float,
        post_only: bool | None = None,
        reject_post_only: bool | None = None,
        reduce_only: bool | None = None,
    ) -> SubmitResult:
        """Change an open order's amount and price. A lost response is resolved by reading the
        order: if it shows the new amount and price the edit is returned as applied, otherwise
        :class:`OrderNotPlacedError` (the edit did not apply)."""
        params = {
            "order_id": order_id,
            "amount": amount,
            "price": price,
            "post_only": post_only,
            "reject_post_only": reject_post_only,
            "reduce_only": reduce_only,
        }
        try:
            result = await self.call("private/edit", params, kind=CallKind.SUBMIT)
        except (TransportError, InternalServerError) as exc:
            if not isinstance(exc, RequestNotSentError):
                await self._lookup_grace()
                try:
                    order = await self.get_order_state(order_id=order_id)
                except ExchangeError as lookup_error:
                    raise AmbiguousOrderError(
                        label=order_id, instrument_name="?", cause=exc
                    ) from lookup_error
                if _shows_edit(order, amount, price):
                    return SubmitResult(order=order, trades=[], recovered_by_label=True)
                raise OrderNotPlacedError(
                    label=order.label, instrument_name=order.instrument_name, cause=exc
                ) from exc
            raise
        placed = validated(OrderWithTrades, result, "private/edit")
        return SubmitResult(order=placed.order, trades=list(placed.trades))

    async def edit_by_label(
        self,
        *,
        label: str,
        instrument_name: str,
        amount: float,
        price: float,
        post_only: bool | None = None,
        reject_post_only: bool | None = None,
        reduce_only: bool | None = None,
    ) -> SubmitResult:
        """Change the one open order labelled ``label`` on ``instrument_name`` (amount in coin,
        price in coin). Several open orders with the label: :class:`NonUniqueLabelError`
        (13032); none: :class:`OrderNotFoundError`. A lost response is resolved by looking the
        label up: an order showing the new amount and price is returned as applied
        (``recovered_by_label=True``), otherwise :class:`OrderNotPlacedError`; a failed lookup
        gives :class:`AmbiguousOrderError`."""
        self._check_label(label)
        params = {
            "label": label,
            "instrument_name": instrument_name,
            "amount": amount,
            "price": price,
            "post_only": post_only,
            "reject_post_only": reject_post_only,
            "reduce_only": reduce_only,
        }
        try:
            result = await self.call("private/edit_by_label", params, kind=CallKind.SUBMIT)
        except RequestNotSentError:
            raise
        except (TransportError, InternalServerError) as exc:
            log.warning("private/edit_by_label %s: outcome unknown (%s)", instrument_name, type(exc).__name__)
            await self._lookup_grace()
            try:
                found = await self.get_order_state_by_label(
                    currency=currency_of(instrument_name), label=label
                )
            except ExchangeError as lookup_error:
                raise AmbiguousOrderError(
                    label=label, instrument_name=instrument_name, cause=exc
                ) from lookup_error
            applied = [
                o for o in found if o.instrument_name == instrument_name and _shows_edit(o, amount, price)
            ]
            if not applied:
                raise OrderNotPlacedError(label=label, instrument_name=instrument_name, cause=exc) from exc
            order = max(applied, key=lambda o: o.last_update_timestamp)
            return SubmitResult(order=order, trades=[], recovered_by_label=True)
        placed = validated(OrderWithTrades, result, "private/edit_by_label")
        return SubmitResult(order=placed.order, trades=list(placed.trades))

    # ------------------------------------------------------------------ cancels

    async def cancel(self, *, order_id: str) -> Order:
        """Cancel an order; returns it in state ``cancelled``. Cancelling an order that is
        already cancelled returns it too (a retried cancel is harmless); a filled order raises
        :class:`OrderNotOpenError`."""
        try:
            result = await self.call("private/cancel", {"order_id": order_id}, kind=CallKind.CANCEL)
        except OrderNotOpenError:
            order = await self.get_order_state(order_id=order_id)
            if order.order_state == "cancelled":
                return order
            raise
        return validated(Order, result, "private/cancel")

    async def cancel_by_label(self, *, label: str, currency: str | None = None) -> int:
        """Cancel every open order with ``label``; returns how many were cancelled."""
        result = await self.call(
            "private/cancel_by_label", {"label": label, "currency": currency}, kind=CallKind.CANCEL
        )
        if not isinstance(result, int):
            raise ProtocolError("private/cancel_by_label did not return an integer")
        return result

    async def cancel_all_by_currency(self, *, currency: str, kind: str | None = None) -> int:
        params = {"currency": currency, "kind": kind}
        result = await self.call("private/cancel_all_by_currency", params, kind=CallKind.CANCEL)
        if not isinstance(result, int):
            raise ProtocolError("private/cancel_all_by_currency did not return an integer")
        return result

    # ------------------------------------------------------------------ order reads

    async def get_open_orders_by_currency(
        self, *, currency: str, kind: str | None = None, type: str | None = None
    ) -> list[Order]:
        result = await self.call(
            "private/get_open_orders_by_currency", {"currency": currency, "kind": kind, "type": type}
        )
        return validated_list(_orders, result, "private/get_open_orders_by_currency")

    async def get_order_state(self, *, order_id: str) -> Order:
        result = await self.call("private/get_order_state", {"order_id": order_id})
        return validated(Order, result, "private/get_order_state")

    async def get_order_state_by_label(self, *, currency: str, label: str) -> list[Order]:
        result = await self.call("private/get_order_state_by_label", {"currency": currency, "label": label})
        return validated_list(_orders, result, "private/get_order_state_by_label")
