"""Handler of ``public/get_currencies``: the currencies the emulated exchange trades, with the
reference fields of Deribit's own answer (OpenAPI v2.1.1 example for BTC and ETH)."""

from __future__ import annotations

from typing import Any

from trading.exchange.emulator.rpc.protocol import CallContext, HandlerBase

__all__ = ["CURRENCY_INFO", "CurrencyMethods"]

#: per currency: Deribit's long name, chain, decimals and withdrawal fees (coin)
CURRENCY_INFO: dict[str, dict[str, Any]] = {
    "BTC": {
        "coin_type": "BITCOIN",
        "currency_long": "Bitcoin",
        "min_confirmations": 1,
        "min_withdrawal_fee": 0.0001,
        "withdrawal_fee": 0.0001,
        "withdrawal_priorities": [{"value": 0.15, "name": "very_low"}, {"value": 1.5, "name": "very_high"}],
        "network_currency": "BTC",
        "network_fee": 0.0001,
        "decimals": 8,
    },
    "ETH": {
        "coin_type": "ETHER",
        "currency_long": "Ethereum",
        "min_confirmations": 1,
        "min_withdrawal_fee": 0.0001,
        "withdrawal_fee": 0.0006,
        "withdrawal_priorities": [],
        "network_currency": "ETH",
        "network_fee": 0.0006,
        "decimals": 6,
    },
}


class CurrencyMethods(HandlerBase):
    def m_public_get_currencies(self, p: dict[str, Any], ctx: CallContext) -> Any:
        return [{"currency": c, **CURRENCY_INFO[c]} for c in sorted(self.engine.index) if c in CURRENCY_INFO]
