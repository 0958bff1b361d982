"""Strict pydantic models of the Deribit API v2 results the exchange layer uses.

Field names follow the wire. Units: prices of options in coin (BTC or ETH per 1-coin
contract), amounts in coin, strikes and index prices in USD, timestamps in ms since the epoch,
implied volatilities in percent (``mark_iv=49.22``). Types are strict (a string where a
number is expected fails), required fields must be present; extra fields are kept because
Deribit adds fields over time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Len
from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "AccountSummary",
    "AuthResult",
    "BookSummary",
    "DeliveryPrice",
    "DeliveryPrices",
    "Greeks",
    "IndexPrice",
    "IndexPriceNotification",
    "Instrument",
    "Margins",
    "Order",
    "OrderBook",
    "OrderWithTrades",
    "Position",
    "TickSizeStep",
    "Ticker",
    "TickerStats",
    "TradingViewChartData",
    "UserTrade",
    "UserTrades",
    "VolatilityIndexData",
    "WireModel",
]

Direction = Literal["buy", "sell"]
OrderState = Literal["open", "filled", "rejected", "cancelled", "untriggered", "triggered"]
TimeInForce = Literal["good_til_cancelled", "good_til_day", "fill_or_kill", "immediate_or_cancel"]
PriceLevel = Annotated[list[float], Len(min_length=2, max_length=2)]


class WireModel(BaseModel):
    """Base: strict types, required fields enforced, unknown extra fields kept, immutable."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


# --------------------------------------------------------------------------- instruments


class TickSizeStep(WireModel):
    above_price: float
    tick_size: float


class Instrument(WireModel):
    """``public/get_instruments`` item. For options: ``strike`` USD, ``option_type`` call|put."""

    instrument_name: str
    kind: str
    base_currency: str
    quote_currency: str
    min_trade_amount: float
    is_active: bool
    settlement_period: str
    creation_timestamp: int
    tick_size: float
    expiration_timestamp: int
    contract_size: float
    price_index: str
    instrument_id: int | None = None
    strike: float | None = None
    option_type: Literal["call", "put"] | None = None
    settlement_currency: str | None = None
    counter_currency: str | None = None
    instrument_type: str | None = None
    maker_commission: float | None = None
    taker_commission: float | None = None
    tick_size_steps: list[TickSizeStep] = Field(default_factory=list)
    block_trade_commission: float | None = None
    block_trade_min_trade_amount: float | None = None
    block_trade_tick_size: float | None = None
    rfq: bool | None = None

    def tick_for_price(self, price: float) -> float:
        """The tick size that applies at ``price`` (coin), using ``tick_size_steps``."""
        tick = self.tick_size
        for step in sorted(self.tick_size_steps, key=lambda s: s.above_price):
            if price >= step.above_price - 1e-12:
                tick = step.tick_size
        return tick


# --------------------------------------------------------------------------- market data


class BookSummary(WireModel):
    """``public/get_book_summary_by_currency`` item (no greeks, no bid/ask IV)."""

    instrument_name: str
    base_currency: str
    quote_currency: str
    volume: float
    bid_price: float | None
    ask_price: float | None
    mid_price: float | None
    mark_price: float
    last: float | None
    high: float | None
    low: float | None
    open_interest: float
    creation_timestamp: int
    mark_iv: float | None = None
    underlying_price: float | None = None
    underlying_index: str | None = None
    estimated_delivery_price: float | None = None
    interest_rate: float | None = None
    price_change: float | None = None
    volume_usd: float | None = None


class TickerStats(WireModel):
    volume: float | None
    high: float | None
    low: float | None
    price_change: float | None = None
    volume_usd: float | None = None


class Greeks(WireModel):
    """Deribit greeks: delta per contract, gamma per USD, vega/theta/rho in USD."""

    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float


class Ticker(WireModel):
    """``public/get_ticker`` result, also the data of ``ticker.{instrument}.{interval}``."""

    instrument_name: str
    timestamp: int
    state: str
    stats: TickerStats
    open_interest: float
    index_price: float
    best_bid_price: float | None
    best_bid_amount: float
    best_ask_price: float | None
    best_ask_amount: float
    min_price: float
    max_price: float
    mark_price: float
    last_price: float | None
    estimated_delivery_price: float
    underlying_price: float | None = None
    underlying_index: str | None = None
    interest_rate: float | None = None
    mark_iv: float | None = None
    bid_iv: float | None = None
    ask_iv: float | None = None
    greeks: Greeks | None = None
    settlement_price: float | None = None
    delivery_price: float | None = None


class OrderBook(Ticker):
    """``public/get_order_book``: the ticker fields plus ``bids``/``asks`` as [price, amount]."""

    bids: list[PriceLevel]
    asks: list[PriceLevel]
    change_id: int


class IndexPrice(WireModel):
    index_price: float
    estimated_delivery_price: float


class VolatilityIndexData(WireModel):
    """DVOL candles ``[ts_ms, open, high, low, close]`` (vol points) and the paging cursor."""

    data: list[Annotated[list[float], Len(min_length=5, max_length=5)]]
    continuation: int | None = None


class TradingViewChartData(WireModel):
    status: str
    ticks: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]
    cost: list[float]


class DeliveryPrice(WireModel):
    date: str
    delivery_price: float


class DeliveryPrices(WireModel):
    data: list[DeliveryPrice]
    records_total: int


class IndexPriceNotification(WireModel):
    """Data of ``deribit_price_index.{index_name}``."""

    index_name: str
    price: float
    timestamp: int


# --------------------------------------------------------------------------- trading


class Order(WireModel):
    """An order object (buy/sell/edit/cancel/get_order_state/open orders)."""

    order_id: str
    order_state: OrderState
    order_type: str
    time_in_force: TimeInForce
    instrument_name: str
    creation_timestamp: int
    last_update_timestamp: int
    direction: Direction
    price: float | Literal["market_price"]
    label: str
    post_only: bool
    api: bool
    amount: float
    filled_amount: float | None = None
    average_price: float | None = None
    reduce_only: bool | None = None
    reject_post_only: bool | None = None
    contracts: float | None = None
    cancel_reason: str | None = None
    replaced: bool | None = None
    web: bool | None = None
    is_liquidation: bool | None = None
    is_rebalance: bool | None = None
    risk_reducing: bool | None = None
    mmp: bool | None = None


class UserTrade(WireModel):
    """A trade of this account. ``fee`` in ``fee_currency``; ``iv`` (percent) for options."""

    trade_id: str
    trade_seq: int
    instrument_name: str
    timestamp: int
    order_id: str
    direction: Direction
    tick_direction: int
    index_price: float
    price: float
    amount: float
    fee: float
    fee_currency: str
    state: str
    mark_price: float
    matching_id: str | None = None
    order_type: str | None = None
    liquidity: Literal["M", "T"] | None = None
    label: str | None = None
    iv: float | None = None
    underlying_price: float | None = None
    contracts: float | None = None
    profit_loss: float | None = None
    api: bool | None = None


class OrderWithTrades(WireModel):
    """Result of ``private/buy``, ``private/sell`` and ``private/edit``."""

    order: Order
    trades: list[UserTrade]


class UserTrades(WireModel):
    trades: list[UserTrade]
    has_more: bool


class Position(WireModel):
    """``private/get_positions`` item. ``size`` in coin, negative for short."""

    instrument_name: str
    kind: str
    direction: Literal["buy", "sell", "zero"]
    size: float
    average_price: float
    mark_price: float
    index_price: float
    delta: float
    initial_margin: float
    maintenance_margin: float
    settlement_price: float
    total_profit_loss: float
    floating_profit_loss: float
    realized_profit_loss: float
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None
    average_price_usd: float | None = None
    floating_profit_loss_usd: float | None = None
    open_orders_margin: float | None = None
    size_currency: float | None = None


class AccountSummary(WireModel):
    """``private/get_account_summary`` (coin amounts in ``currency``).

    Identities (options only): ``equity = balance + options_value``,
    ``margin_balance = equity - options_value``, ``available_funds = margin_balance - initial_margin``.
    """

    currency: str
    balance: float
    equity: float
    margin_balance: float
    initial_margin: float
    maintenance_margin: float
    available_funds: float
    available_withdrawal_funds: float
    session_upl: float
    session_rpl: float
    total_pl: float
    options_pl: float
    options_value: float
    options_session_upl: float
    options_session_rpl: float
    options_delta: float
    options_gamma: float
    options_vega: float
    options_theta: float
    futures_pl: float
    futures_session_upl: float
    futures_session_rpl: float
    delta_total: float
    projected_initial_margin: float | None = None
    projected_maintenance_margin: float | None = None
    projected_delta_total: float | None = None
    fee_balance: float | None = None
    margin_model: str | None = None


class Margins(WireModel):
    """``private/get_margins``: the margin (coin) an order of the given amount and price would
    take if it were a buy or a sell, and the instrument's current price band (coin)."""

    buy: float
    sell: float
    min_price: float
    max_price: float


class AuthResult(WireModel):
    """``public/auth`` result. Tokens are :class:`SecretStr` so they never print."""

    access_token: SecretStr
    refresh_token: SecretStr
    expires_in: int
    scope: str
    token_type: str
    enabled_features: list[str] = Field(default_factory=list)
    sid: str | None = None
