"""Async Deribit API v2 client (JSON-RPC over HTTPS or WebSocket).

Safety rules this client keeps, because money is at stake:

* Reads and cancels are retried with capped exponential backoff (+ jitter) on transport errors
  and on the errors Deribit marks as transient (10028, 10040, 10041, 11094, 13028...).
* Order submits (``buy``/``sell``/``edit``/``edit_by_label``) are never retried blindly. They
  are retried only when the outcome is known to be "not executed" (the request never left, or
  the exchange answered 10028/10041/...). When the outcome is unknown (timeout, disconnect after send, 5xx,
  11094) the client looks the order's ``label`` up (``get_order_state_by_label``): if the order
  is there it is returned (``recovered_by_label=True``); if it is definitely absent
  :class:`OrderNotPlacedError` is raised; if the lookup fails too, :class:`AmbiguousOrderError`.
* Credentials and tokens never reach logs, reprs or exception messages.

Layout: :mod:`.session` (transport, auth, rate limits, retries), :mod:`.market` (public reads),
:mod:`.orders` (submits, edits, cancels and their outcome resolution), :mod:`.account` (private
reads), :mod:`.streams` (subscriptions). :class:`DeribitClient` combines them.
"""

from __future__ import annotations

from trading.exchange.client.account import AccountApi
from trading.exchange.client.market import MarketDataApi
from trading.exchange.client.orders import OrdersApi, OrderType, SubmitResult, TimeInForce, currency_of
from trading.exchange.client.session import MATCHING_ENGINE_METHODS, CallKind, SleepFn
from trading.exchange.client.streams import Handler, StreamsApi

__all__ = [
    "MATCHING_ENGINE_METHODS",
    "CallKind",
    "DeribitClient",
    "Handler",
    "OrderType",
    "SleepFn",
    "SubmitResult",
    "TimeInForce",
    "currency_of",
]


class DeribitClient(MarketDataApi, OrdersApi, AccountApi, StreamsApi):
    """Typed async client. Use as ``async with DeribitClient(config) as client: ...``.

    ``sleep``, ``monotonic`` and ``rng`` are injectable so retries and rate limiting are
    deterministic in tests. ``calls`` counts requests sent per method (retries included).
    """
