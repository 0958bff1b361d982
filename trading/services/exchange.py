"""Which exchange the settings point at, as a client configuration: one place for every caller."""

from __future__ import annotations

from typing import Literal

from django.conf import settings

from trading.exchange.config import ClientConfig, Credentials

# The local emulator's built-in key; it guards nothing but the simulated exchange.
EMULATOR_CLIENT_ID = "emulator-client"
EMULATOR_CLIENT_SECRET = "emulator-secret"  # noqa: S105


def exchange_client_config(*, transport: str = "http", authenticated: bool = True) -> ClientConfig:
    """``TRADING_MODE=sim``: the simulated exchange (``DERIBIT_BASE_URL``, by default the local
    emulator on ``EMULATOR_PORT``). ``live``: Deribit's testnet, or mainnet when explicitly
    confirmed, with the account's API keys. Public-data callers pass ``authenticated=False``."""
    wire: Literal["http", "ws"] = "ws" if transport == "ws" else "http"
    if settings.TRADING_MODE == "sim":
        return ClientConfig(
            environment="testnet",
            transport=wire,
            base_url=settings.DERIBIT_BASE_URL or f"http://127.0.0.1:{settings.EMULATOR_PORT}",
            credentials=Credentials.of(EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET) if authenticated else None,
        )
    credentials = None
    if authenticated:
        credentials = Credentials.of(settings.DERIBIT_CLIENT_ID, settings.DERIBIT_CLIENT_SECRET)
    return ClientConfig(
        environment="mainnet" if settings.DERIBIT_ENV == "mainnet" else "testnet",
        transport=wire,
        credentials=credentials,
    )
