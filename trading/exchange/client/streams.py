"""Subscribing to WebSocket channels (the routing itself is :class:`SubscriptionRouter`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from trading.exchange.client.session import RpcSession
from trading.exchange.errors import NotSupportedError, ProtocolError
from trading.exchange.subscriptions import Notification, Subscription, group_channels
from trading.exchange.transport import WsTransport

__all__ = ["Handler", "StreamsApi"]

Handler = Callable[[Notification], Awaitable[None]]


class StreamsApi(RpcSession):
    async def subscribe(self, channels: Sequence[str], handler: Handler | None = None) -> Subscription:
        """Subscribe (WebSocket only) to ``channels``, e.g. ``ticker.BTC-27MAR26-100000-C.100ms``,
        ``user.orders.option.BTC.raw``, ``user.trades.option.any.100ms``, ``deribit_price_index.btc_usd``.
        Notifications go to ``handler`` (async callback) or to the returned subscription's queue;
        subscriptions survive reconnects."""
        if not isinstance(self._transport, WsTransport):
            raise NotSupportedError("subscriptions need the WebSocket transport")
        sub = Subscription(channels, handler)
        subscriptions = self._router.subscriptions
        subscriptions.append(sub)
        try:
            for method, group in group_channels(channels):
                result = await self.call(method, {"channels": group})
                missing = set(group) - set(result if isinstance(result, list) else [])
                if missing:
                    raise ProtocolError(f"exchange did not subscribe {sorted(missing)}")
        except BaseException:
            sub.active = False
            subscriptions.remove(sub)
            raise
        return sub

    async def unsubscribe(self, subscription: Subscription) -> None:
        subscription.active = False
        subscriptions = self._router.subscriptions
        if subscription in subscriptions:
            subscriptions.remove(subscription)
        still = {ch for sub in subscriptions for ch in sub.channels}
        orphaned = [ch for ch in subscription.channels if ch not in still]
        for method, group in group_channels(orphaned):
            await self.call(method.replace("subscribe", "unsubscribe"), {"channels": group})
