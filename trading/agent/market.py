"""What a tick knows of the market and the account, fetched once and shared by every strategy."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from trading.agent.gateway import ExchangeGateway
from trading.exchange.client import DeribitClient
from trading.exchange.errors import ExchangeError
from trading.marketdata.fetch import ChainSnapshot, chain_snapshot_fetch
from trading.marketdata.history import history_fetch
from trading.marketdata.services import market_snapshot_record
from trading.models import MarketSnapshot as MarketSnapshotRow
from trading.quant.candidates import chain_from_snapshot
from trading.quant.realized_vol import close_to_close
from trading.strategies.base import AccountView, CurrencyAccount
from trading.strategies.market import CurrencyMarket, MarketSnapshot
from trading.strategies.regime import RegimeInputs, assess_regime

RV_WINDOW_DAYS = 30
HISTORY_DAYS = 35


@dataclass(frozen=True)
class MarketHistory:
    """Daily context of one underlying: trailing realised vol, 30-day high, DVOL a day ago."""

    rv: float | None
    index_high_usd: float | None
    dvol_before: float | None


@dataclass
class TickMarket:
    snapshot: MarketSnapshot
    rows: dict[str, MarketSnapshotRow] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    regimes: dict[str, str] = field(default_factory=dict)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def history_summarise(frame: pd.DataFrame) -> MarketHistory:
    """Realised vol over the last 30 daily closes, the high of those days, and yesterday's DVOL."""
    closes = frame["close"].dropna()
    rv = None
    if len(closes) > RV_WINDOW_DAYS:
        rv = _finite(float(close_to_close(closes, window=RV_WINDOW_DAYS, periods_per_year=365.0).iloc[-1]))
    highs = frame["high"].dropna().tail(RV_WINDOW_DAYS)
    dvol = frame["dvol_close"].dropna()
    return MarketHistory(
        rv=rv,
        index_high_usd=float(highs.max()) if len(highs) else None,
        dvol_before=float(dvol.iloc[-2]) if len(dvol) >= 2 else None,
    )


async def _fetch_currency(
    client: DeribitClient, currency: str, now: datetime
) -> tuple[ChainSnapshot, MarketHistory, str | None]:
    snapshot = await chain_snapshot_fetch(client=client, currency=currency, now=now)
    try:
        frame = await history_fetch(
            client=client,
            currency=currency,
            start=now - timedelta(days=HISTORY_DAYS),
            end=now,
            resolution="1D",
        )
        return snapshot, history_summarise(frame), None
    except ExchangeError as exc:
        return snapshot, MarketHistory(None, None, None), f"no price history: {exc}"


def market_fetch(*, gateway: ExchangeGateway, currencies: list[str], now: datetime) -> TickMarket:
    """Take and store one snapshot per currency and build the strategies' market from it.

    A currency whose snapshot fails its quality checks is left out of the market (the risk engine
    then refuses anything on it); its problems are reported."""

    async def fetch_all(client: DeribitClient) -> list[tuple[ChainSnapshot, MarketHistory, str | None]]:
        return list(await asyncio.gather(*(_fetch_currency(client, c, now) for c in currencies)))

    fetched = gateway.run(fetch_all)
    markets: dict[str, CurrencyMarket] = {}
    result = TickMarket(snapshot=MarketSnapshot({}))
    for snapshot, history, history_problem in fetched:
        currency = snapshot.currency
        result.rows[currency] = market_snapshot_record(
            snapshot=snapshot, history=(history.rv, history.dvol_before, history.index_high_usd)
        )
        if not snapshot.quality.ok:
            result.problems[currency] = list(snapshot.quality.problems)
            continue
        if history_problem:
            result.problems.setdefault(currency, []).append(history_problem)
        regime = assess_regime(
            RegimeInputs(
                currency=currency,
                dvol=snapshot.dvol,
                dvol_before=history.dvol_before,
                index_price_usd=snapshot.index_price,
                index_high_usd=history.index_high_usd,
            )
        )
        result.regimes[currency] = regime.regime.value
        markets[currency] = CurrencyMarket.from_chain(
            chain_from_snapshot(snapshot.frame),
            currency=currency,
            observed_at=snapshot.timestamp,
            regime=regime,
            rv=history.rv,
            index_price_usd=snapshot.index_price,
        )
    result.snapshot = MarketSnapshot(markets)
    return result


def account_fetch(*, gateway: ExchangeGateway, currencies: list[str], now: datetime) -> AccountView:
    """The account in each coin (``get_account_summary``)."""

    async def fetch(client: DeribitClient) -> list[CurrencyAccount]:
        summaries = await asyncio.gather(*(client.get_account_summary(currency=c) for c in currencies))
        return [
            CurrencyAccount(
                currency=s.currency.upper(),
                balance_coin=float(s.balance),
                equity_coin=float(s.equity),
                initial_margin_coin=float(s.initial_margin),
                maintenance_margin_coin=float(s.maintenance_margin),
            )
            for s in summaries
        ]

    return AccountView(observed_at=now, currencies={a.currency: a for a in gateway.run(fetch)})
