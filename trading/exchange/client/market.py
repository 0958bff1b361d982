"""Typed public market-data reads (retried like any read)."""

from __future__ import annotations

from pydantic import TypeAdapter

from trading.exchange.client.session import RpcSession, validated, validated_list
from trading.exchange.errors import ProtocolError
from trading.exchange.models import (
    BookSummary,
    DeliveryPrices,
    IndexPrice,
    Instrument,
    OrderBook,
    Ticker,
    TradingViewChartData,
    VolatilityIndexData,
)

__all__ = ["MarketDataApi"]

_instruments = TypeAdapter(list[Instrument])
_summaries = TypeAdapter(list[BookSummary])


class MarketDataApi(RpcSession):
    async def get_time(self) -> int:
        """Exchange time in ms."""
        result = await self.call("public/get_time")
        if not isinstance(result, int):
            raise ProtocolError("public/get_time did not return an integer")
        return result

    async def get_instruments(
        self, *, currency: str, kind: str | None = None, expired: bool = False
    ) -> list[Instrument]:
        result = await self.call(
            "public/get_instruments", {"currency": currency, "kind": kind, "expired": expired}
        )
        return validated_list(_instruments, result, "public/get_instruments")

    async def get_book_summary_by_currency(
        self, *, currency: str, kind: str | None = None
    ) -> list[BookSummary]:
        result = await self.call("public/get_book_summary_by_currency", {"currency": currency, "kind": kind})
        return validated_list(_summaries, result, "public/get_book_summary_by_currency")

    async def get_ticker(self, *, instrument_name: str) -> Ticker:
        result = await self.call("public/ticker", {"instrument_name": instrument_name})
        return validated(Ticker, result, "public/ticker")

    async def get_order_book(self, *, instrument_name: str, depth: int | None = None) -> OrderBook:
        result = await self.call(
            "public/get_order_book", {"instrument_name": instrument_name, "depth": depth}
        )
        return validated(OrderBook, result, "public/get_order_book")

    async def get_index_price(self, *, index_name: str) -> IndexPrice:
        result = await self.call("public/get_index_price", {"index_name": index_name})
        return validated(IndexPrice, result, "public/get_index_price")

    async def get_volatility_index_data(
        self, *, currency: str, start_timestamp: int, end_timestamp: int, resolution: str
    ) -> VolatilityIndexData:
        """DVOL candles in vol points; ``resolution`` is seconds ("60", "3600") or "1D"."""
        params = {
            "currency": currency,
            "start_timestamp": start_timestamp,
            "end_timestamp": end_timestamp,
            "resolution": resolution,
        }
        result = await self.call("public/get_volatility_index_data", params)
        return validated(VolatilityIndexData, result, "public/get_volatility_index_data")

    async def get_tradingview_chart_data(
        self, *, instrument_name: str, start_timestamp: int, end_timestamp: int, resolution: str
    ) -> TradingViewChartData:
        """Candles of an instrument's price; ``resolution`` in minutes ("1", "60") or "1D"."""
        params = {
            "instrument_name": instrument_name,
            "start_timestamp": start_timestamp,
            "end_timestamp": end_timestamp,
            "resolution": resolution,
        }
        result = await self.call("public/get_tradingview_chart_data", params)
        return validated(TradingViewChartData, result, "public/get_tradingview_chart_data")

    async def get_delivery_prices(
        self, *, index_name: str, offset: int | None = None, count: int | None = None
    ) -> DeliveryPrices:
        params = {"index_name": index_name, "offset": offset, "count": count}
        result = await self.call("public/get_delivery_prices", params)
        return validated(DeliveryPrices, result, "public/get_delivery_prices")
