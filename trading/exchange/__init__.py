"""Deribit exchange layer: wire models, typed errors, the async client and the emulator.

Pure Python + asyncio; no Django imports.
"""

from trading.exchange.client import CallKind, DeribitClient, SubmitResult, currency_of
from trading.exchange.config import ClientConfig, Credentials, RateLimitConfig, RetryPolicy

__all__ = [
    "CallKind",
    "ClientConfig",
    "Credentials",
    "DeribitClient",
    "RateLimitConfig",
    "RetryPolicy",
    "SubmitResult",
    "currency_of",
]
