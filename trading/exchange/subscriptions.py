"""Subscriptions: notification routing to queues or async callbacks, and the filters that make
private streams safe to consume (duplicate trades dropped, stale order updates dropped)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from trading.exchange.models import IndexPriceNotification, Order, Ticker, UserTrade

__all__ = [
    "Notification",
    "NotificationFilter",
    "Subscription",
    "SubscriptionRouter",
    "group_channels",
    "parse_notification",
]

log = logging.getLogger(__name__)

Handler = Callable[["Notification"], Awaitable[None]]

_TERMINAL_STATES = frozenset({"filled", "cancelled", "rejected"})


@dataclass(frozen=True, slots=True)
class Notification:
    """One ``subscription`` message. ``data`` is parsed for known channels:
    ``ticker.*`` → :class:`Ticker`, ``user.orders.*`` → list[:class:`Order`],
    ``user.trades.*`` → list[:class:`UserTrade`], ``deribit_price_index.*`` →
    :class:`IndexPriceNotification`; other channels keep the raw JSON."""

    channel: str
    data: Any


def parse_notification(channel: str, data: Any) -> Any:
    """Parse ``data`` of a known channel into models (raises ``ValidationError`` if malformed)."""
    if channel.startswith("ticker."):
        return Ticker.model_validate(data)
    if channel.startswith("user.orders."):
        items = data if isinstance(data, list) else [data]
        return [Order.model_validate(item) for item in items]
    if channel.startswith("user.trades."):
        items = data if isinstance(data, list) else [data]
        return [UserTrade.model_validate(item) for item in items]
    if channel.startswith("deribit_price_index."):
        return IndexPriceNotification.model_validate(data)
    return data


class NotificationFilter:
    """Drops what a consumer must not act on twice.

    * trades already delivered (by ``trade_id``; memory bounded to ``max_ids``);
    * order updates older than one already delivered for the same order, and any non-terminal
      update after a terminal one (filled/cancelled/rejected never go back to open).
    """

    def __init__(self, max_ids: int = 50_000) -> None:
        self._max = max_ids
        self._trade_ids: OrderedDict[str, None] = OrderedDict()
        self._orders: OrderedDict[str, tuple[int, bool]] = OrderedDict()

    def trades(self, trades: Iterable[UserTrade]) -> list[UserTrade]:
        fresh: list[UserTrade] = []
        for trade in trades:
            if trade.trade_id in self._trade_ids:
                continue
            self._trade_ids[trade.trade_id] = None
            if len(self._trade_ids) > self._max:
                self._trade_ids.popitem(last=False)
            fresh.append(trade)
        return fresh

    def orders(self, orders: Iterable[Order]) -> list[Order]:
        fresh: list[Order] = []
        for order in orders:
            seen = self._orders.get(order.order_id)
            terminal = order.order_state in _TERMINAL_STATES
            if seen is not None:
                seen_ts, seen_terminal = seen
                if order.last_update_timestamp < seen_ts or (seen_terminal and not terminal):
                    continue
            self._orders[order.order_id] = (order.last_update_timestamp, terminal or bool(seen and seen[1]))
            if len(self._orders) > self._max:
                self._orders.popitem(last=False)
            fresh.append(order)
        return fresh


class Subscription:
    """Channels delivered either to ``handler`` (an async callback) or to :attr:`queue`."""

    def __init__(self, channels: Iterable[str], handler: Handler | None = None, maxsize: int = 10_000):
        self.channels: tuple[str, ...] = tuple(channels)
        self.handler = handler
        self.queue: asyncio.Queue[Notification] = asyncio.Queue(maxsize=maxsize)
        self.active = True
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self) -> Notification:
        return await self.queue.get()

    def deliver(self, notification: Notification) -> None:
        if not self.active:
            return
        if self.handler is not None:
            task = asyncio.ensure_future(self._run_handler(notification))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        try:
            self.queue.put_nowait(notification)
        except asyncio.QueueFull:
            log.warning("subscription queue full; dropping a %s notification", notification.channel)

    async def _run_handler(self, notification: Notification) -> None:
        assert self.handler is not None
        try:
            await self.handler(notification)
        except Exception:
            log.exception("subscription handler failed on %s", notification.channel)


def safe_parse(channel: str, data: Any) -> Any | None:
    try:
        return parse_notification(channel, data)
    except ValidationError as exc:
        log.warning("malformed %s notification dropped: %d errors", channel, exc.error_count())
        return None


def group_channels(channels: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Split channels into the ``public/subscribe`` and ``private/subscribe`` (``user.*``) groups."""
    public = [c for c in channels if not c.startswith("user.")]
    private = [c for c in channels if c.startswith("user.")]
    groups: list[tuple[str, list[str]]] = []
    if public:
        groups.append(("public/subscribe", public))
    if private:
        groups.append(("private/subscribe", private))
    return groups


class SubscriptionRouter:
    """The live subscriptions of one client, and delivery of each notification to them
    (private streams pass through their :class:`NotificationFilter` first)."""

    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []
        self._filters: dict[str, NotificationFilter] = {}

    def active_channels(self) -> list[str]:
        """Channels of the active subscriptions, sorted (resubscribed after a reconnect)."""
        return sorted({ch for sub in self.subscriptions if sub.active for ch in sub.channels})

    def route(self, channel: str, data: Any) -> None:
        """Parse a notification and hand it to every active subscription of ``channel``."""
        parsed = safe_parse(channel, data)
        if parsed is None:
            return
        if channel.startswith(("user.trades.", "user.orders.")):
            stream_filter = self._filters.setdefault(channel, NotificationFilter())
            if channel.startswith("user.trades."):
                parsed = stream_filter.trades(parsed)
            else:
                parsed = stream_filter.orders(parsed)
        if isinstance(parsed, list) and not parsed:
            return
        notification = Notification(channel=channel, data=parsed)
        for sub in self.subscriptions:
            if sub.active and channel in sub.channels:
                sub.deliver(notification)
