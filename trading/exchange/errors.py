"""Typed exceptions for the Deribit exchange layer.

Two families that a caller must tell apart:

* :class:`DeribitError` and its subclasses: the exchange *answered* with a JSON-RPC error. The
  request was processed and rejected, so its outcome is known (nothing happened).
* :class:`TransportError` and its subclasses: no usable answer arrived. For a read this is
  retryable; for an order submit the outcome is unknown until resolved by label lookup
  (see :class:`AmbiguousOrderError` and :class:`OrderNotPlacedError`).

No exception message ever contains credentials or tokens: messages are built from the error
code, the server's message and its ``data`` (which carries parameter *names*, never values).
"""

from __future__ import annotations

from typing import Any

from trading.exchange.error_codes import ERROR_MESSAGES

__all__ = [
    "AmbiguousOrderError",
    "AmountError",
    "AuthError",
    "DeribitError",
    "ExchangeError",
    "InstrumentError",
    "InternalServerError",
    "InvalidCredentialsError",
    "InvalidParamsError",
    "MethodNotFoundError",
    "NonUniqueLabelError",
    "NotEnoughFundsError",
    "NotSupportedError",
    "OrderNotFoundError",
    "OrderNotOpenError",
    "OrderNotPlacedError",
    "PostOnlyRejectError",
    "PriceBandError",
    "PriceError",
    "PriceWrongTickError",
    "ProtocolError",
    "RateLimitError",
    "RequestNotSentError",
    "ResponseLostError",
    "ServerUnavailableError",
    "SettlementInProgressError",
    "TemporarilyUnavailableError",
    "TimedOutError",
    "TransportError",
    "UnauthorizedError",
    "error_for_code",
]


class ExchangeError(Exception):
    """Base class of everything the exchange layer raises."""


class NotSupportedError(ExchangeError):
    """The operation is not available on this transport or configuration."""


class ProtocolError(ExchangeError):
    """The exchange sent something that is not a valid Deribit response."""


# --------------------------------------------------------------------------- answered errors


class DeribitError(ExchangeError):
    """The exchange answered with a JSON-RPC error object ``{code, message, data?}``."""

    #: whether a read may be retried after this error (after a backoff)
    retryable: bool = False

    def __init__(self, code: int, message: str, data: Any = None, *, method: str | None = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        super().__init__(self._render())

    def _render(self) -> str:
        where = f" in {self.method}" if self.method else ""
        extra = f" data={self.data!r}" if self.data is not None else ""
        return f"Deribit error {self.code} {self.message}{where}{extra}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, message={self.message!r}, data={self.data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_deribit_error, (self.code, self.message, self.data, self.method))


def _rebuild_deribit_error(code: int, message: str, data: Any, method: str | None) -> DeribitError:
    return error_for_code(code, message, data, method=method)


class AuthError(DeribitError):
    """Authentication or authorisation failed (10000, 13004, 13009, 13021, 13403...)."""


class InvalidCredentialsError(AuthError):
    """13004: the client id / secret pair (or refresh token) was rejected."""


class UnauthorizedError(AuthError):
    """13009 / 10000: missing, wrong or expired token, or insufficient scope."""


class RateLimitError(DeribitError):
    """10028 too_many_requests (and 10047 / 10066 queue limits): back off, then retry."""

    retryable = True


class NotEnoughFundsError(DeribitError):
    """10009 not_enough_funds: the order would take margin beyond the available funds."""


class InvalidParamsError(DeribitError):
    """-32602 and similar: the request's parameters are invalid (``data`` names the param)."""


class MethodNotFoundError(DeribitError):
    """-32601: the method does not exist."""


class OrderNotFoundError(DeribitError):
    """10004 / 10025: no order with this id or label."""


class NonUniqueLabelError(DeribitError):
    """13032 non_unique_order_label: ``edit_by_label`` matched more than one open order."""


class OrderNotOpenError(DeribitError):
    """11044 / 10010 / 11008: the order is no longer open (filled, cancelled...)."""


class PriceError(DeribitError):
    """The order price is invalid (precision, validity)."""


class PriceWrongTickError(PriceError):
    """10043: the price is not on the instrument's tick grid."""


class PriceBandError(PriceError):
    """10005 / 10006 / 10007: the price is outside the instrument's min/max band."""


class AmountError(DeribitError):
    """10002 / 10021 ...: the amount is below the minimum or not a multiple of it."""


class InstrumentError(DeribitError):
    """10020 / 13020 / 10012 ...: unknown, closed or expired instrument."""


class PostOnlyRejectError(DeribitError):
    """11054: a post-only order with ``reject_post_only`` would have taken liquidity."""


class TimedOutError(DeribitError):
    """13888: the request's ``valid_until`` passed before it was processed."""


class TemporarilyUnavailableError(DeribitError):
    """The server asks to retry later (10040, 11051, 13028, 13503)."""

    retryable = True


class SettlementInProgressError(TemporarilyUnavailableError):
    """10041: the daily 08:00 UTC settlement pauses trading for a few seconds."""


class InternalServerError(TemporarilyUnavailableError):
    """11094 internal_server_error (HTTP 500). For an order submit the outcome is unknown."""


_CODE_CLASSES: dict[int, type[DeribitError]] = {
    10000: UnauthorizedError,
    13009: UnauthorizedError,
    13004: InvalidCredentialsError,
    13021: AuthError,
    13403: AuthError,
    11042: AuthError,
    10028: RateLimitError,
    10047: RateLimitError,
    10066: RateLimitError,
    10009: NotEnoughFundsError,
    10039: NotEnoughFundsError,
    -32602: InvalidParamsError,
    -32600: InvalidParamsError,
    -32700: InvalidParamsError,
    -32000: InvalidParamsError,
    10031: InvalidParamsError,
    11029: InvalidParamsError,
    11043: InvalidParamsError,
    11047: InvalidParamsError,
    11049: InvalidParamsError,
    11050: InvalidParamsError,
    13010: InvalidParamsError,
    13016: InvalidParamsError,
    -32601: MethodNotFoundError,
    10004: OrderNotFoundError,
    10025: OrderNotFoundError,
    13032: NonUniqueLabelError,
    11044: OrderNotOpenError,
    10010: OrderNotOpenError,
    11008: OrderNotOpenError,
    10043: PriceWrongTickError,
    10005: PriceBandError,
    10006: PriceBandError,
    10007: PriceBandError,
    10011: PriceError,
    10023: PriceError,
    10026: PriceError,
    10002: AmountError,
    10021: AmountError,
    10022: AmountError,
    10027: AmountError,
    10032: AmountError,
    10020: InstrumentError,
    13020: InstrumentError,
    10012: InstrumentError,
    13019: InstrumentError,
    11037: InstrumentError,
    11046: InstrumentError,
    11054: PostOnlyRejectError,
    13888: TimedOutError,
    10040: TemporarilyUnavailableError,
    11051: TemporarilyUnavailableError,
    13028: TemporarilyUnavailableError,
    13503: TemporarilyUnavailableError,
    10041: SettlementInProgressError,
    11094: InternalServerError,
}


def error_for_code(
    code: int, message: str | None = None, data: Any = None, *, method: str | None = None
) -> DeribitError:
    """Build the typed exception for a Deribit error code (unknown codes give :class:`DeribitError`)."""
    cls = _CODE_CLASSES.get(code, DeribitError)
    text = message if message is not None else ERROR_MESSAGES.get(code, "error")
    return cls(code, text, data, method=method)


# --------------------------------------------------------------------------- transport errors


class TransportError(ExchangeError):
    """No usable answer arrived: connection failure, timeout, disconnect, gateway 5xx."""

    #: True when the request may have reached the exchange (its outcome is unknown)
    maybe_executed: bool = True

    def __init__(self, message: str, *, method: str | None = None) -> None:
        self.method = method
        super().__init__(f"{message}" + (f" ({method})" if method else ""))


class RequestNotSentError(TransportError):
    """The request never left this process (connect failed, socket not open)."""

    maybe_executed = False


class ResponseLostError(TransportError):
    """The request was sent but no response came back (timeout or disconnect)."""


class ServerUnavailableError(TransportError):
    """An HTTP 5xx without a Deribit error body (gateway or load-balancer failure)."""

    def __init__(self, status: int, *, method: str | None = None) -> None:
        self.status = status
        super().__init__(f"HTTP {status} without a JSON-RPC body", method=method)


# --------------------------------------------------------------------------- order outcome


class AmbiguousOrderError(ExchangeError):
    """An order submit got no answer and its label lookup failed too: the outcome is unknown.

    The caller must not resubmit blindly; it should reconcile (look the label up again later).
    """

    def __init__(self, *, label: str, instrument_name: str, cause: BaseException | None) -> None:
        self.label = label
        self.instrument_name = instrument_name
        self.cause = cause
        reason = type(cause).__name__ if cause is not None else "unknown"
        super().__init__(
            f"outcome of the order labelled {label!r} on {instrument_name} is unknown ({reason}); "
            "reconcile by label before resubmitting"
        )


class OrderNotPlacedError(ExchangeError):
    """An order submit got no answer, and a label lookup afterwards found no such order.

    The exchange does not hold the order; the caller decides whether to submit again.
    """

    def __init__(self, *, label: str, instrument_name: str, cause: BaseException | None) -> None:
        self.label = label
        self.instrument_name = instrument_name
        self.cause = cause
        reason = type(cause).__name__ if cause is not None else "unknown"
        super().__init__(
            f"the order labelled {label!r} on {instrument_name} is not on the exchange after a lost "
            f"response ({reason})"
        )
