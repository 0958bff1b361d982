"""Builders shared by the strategy, decision and risk tests: real Deribit chains and small worlds.

Real data is read from the ``real_data_dir`` folder (never copied into the repository); the
synthetic chain (``trading.quant.synthetic``) is used where a test must run without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from trading.quant.candidates import chain_from_snapshot
from trading.quant.synthetic import SyntheticChainConfig, synthetic_chains
from trading.strategies.base import (
    AccountView,
    CurrencyAccount,
    Leg,
    LegIntent,
    OptionPosition,
    Proposal,
    Side,
    StrategyConfig,
    StrategyContext,
)
from trading.strategies.market import CurrencyMarket, MarketSnapshot
from trading.strategies.params import preset
from trading.strategies.regime import Regime, RegimeAssessment, RegimeInputs, assess_regime, dvol_proxy

SVCJ = "svcj_deribit_snapshots_2025_2026"
CALM_DAY = f"{SVCJ}/daily_0915utc/deribit_options_snapshot_20260208T092330Z.csv.gz"
"""A calm day (BTC ~70k, 30-day ATM IV ~55)."""
STRESS_BEFORE = f"{SVCJ}/stress_week_2026-02-02_to_08/deribit_options_snapshot_20260202T154514Z.csv.gz"
STRESS_PEAK = f"{SVCJ}/stress_week_2026-02-02_to_08/deribit_options_snapshot_20260205T212937Z.csv.gz"
STRESS_DAY_BEFORE_PEAK = (
    f"{SVCJ}/stress_week_2026-02-02_to_08/deribit_options_snapshot_20260204T213308Z.csv.gz"
)


@lru_cache(maxsize=8)
def real_chain(path: str) -> pd.DataFrame:
    """The chain (``CHAIN_COLUMNS``) of one real snapshot file, both currencies."""
    return chain_from_snapshot(pd.read_csv(path))


def chain_time(chain: pd.DataFrame) -> datetime:
    return pd.Timestamp(chain["timestamp"].iloc[0]).to_pydatetime()


def calm_regime(currency: str) -> RegimeAssessment:
    return RegimeAssessment(currency, Regime.NORMAL, (), 50.0, 0.0, 0.0, complete=True)


def regime_of(currency: str, level: Regime) -> RegimeAssessment:
    return RegimeAssessment(currency, level, (f"set to {level} by the test",), 50.0, 0.0, 0.0, complete=True)


def market_from_chain(
    chain: pd.DataFrame,
    currency: str,
    *,
    observed_at: datetime | None = None,
    regime: RegimeAssessment | None = None,
    rv: float | None = 0.45,
) -> CurrencyMarket:
    return CurrencyMarket.from_chain(
        chain,
        currency=currency,
        observed_at=observed_at or chain_time(chain),
        regime=regime or calm_regime(currency),
        rv=rv,
    )


def snapshot_from_chain(
    chain: pd.DataFrame, currencies: Iterable[str] = ("BTC", "ETH"), **kw: Any
) -> MarketSnapshot:
    return MarketSnapshot({c: market_from_chain(chain, c, **kw) for c in currencies})


def real_regime(
    chain: pd.DataFrame, currency: str, *, dvol_before: float | None, index_high: float | None
) -> RegimeAssessment:
    own = chain[chain["currency"] == currency]
    index = float(own["index_price"].median())
    return assess_regime(RegimeInputs(currency, dvol_proxy(own), dvol_before, index, index_high))


@lru_cache(maxsize=4)
def synthetic_chain(currency: str = "BTC", seed: int = 7, spot: float = 60_000.0) -> pd.DataFrame:
    """A full synthetic chain (about 700 options) at 2026-03-01 10:00 UTC."""
    stamps = pd.date_range("2026-03-01 09:00", periods=2, freq="1h", tz="UTC")
    sc = synthetic_chains(
        stamps, [spot, spot], config=SyntheticChainConfig(currency=currency), dvol=[50.0, 50.0], seed=seed
    )
    chain = sc.at(1)
    chain["instrument_name"] = chain["instrument_name"].astype(str)
    return chain


def account(now: datetime, **coins: float | tuple[float, float, float]) -> AccountView:
    """``account(now, BTC=2.0)`` or ``BTC=(balance, equity, initial_margin)``."""
    out = {}
    for currency, v in coins.items():
        balance, equity, im = (v, v, 0.0) if isinstance(v, float | int) else v
        out[currency] = CurrencyAccount(currency, float(balance), float(equity), float(im), 0.0)
    return AccountView(now, out)


def config(
    name: str = "cc",
    kind: str = "covered_call",
    profile: str = "moderate",
    *,
    underlyings: Sequence[str] = ("BTC", "ETH"),
    params: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    **kw: Any,
) -> StrategyConfig:
    values = {**preset(kind, profile), **(params or {})}
    option_types = ["call"] if kind == "covered_call" else ["put"]
    return StrategyConfig.from_registry(
        name=name,
        logic_kind=kind,
        parameters=values,
        underlyings=list(underlyings),
        option_types=option_types,
        risk_limits=limits or {"max_contracts": 1000.0, "max_open_positions": 100, "max_abs_delta": 1000.0},
        **kw,
    )


def context(
    cfg: StrategyConfig,
    market: MarketSnapshot,
    acct: AccountView,
    *positions: OptionPosition,
    now: datetime | None = None,
) -> StrategyContext:
    first = next(iter(market.markets.values()))
    return StrategyContext(
        now=now or first.observed_at, config=cfg, market=market, positions=positions, account=acct
    )


def short(
    strategy: str, market: CurrencyMarket, instrument: str, size: float, open_price: float
) -> OptionPosition:
    q = market.quote(instrument)
    assert q is not None, instrument
    return OptionPosition(
        strategy, instrument, q.currency, q.option_type, q.strike_usd, q.expiry, -size, open_price
    )


def find_row(market: CurrencyMarket, **where: Any) -> str:
    """The instrument of the first candidate row matching ``where`` (callables or values), by name."""
    c = market.candidates.sort_values("instrument_name")
    mask = pd.Series(True, index=c.index)
    for column, test in where.items():
        mask &= c[column].map(test) if callable(test) else c[column] == test
    hits = c.loc[mask, "instrument_name"]
    assert len(hits), f"no row matches {where}"
    return str(hits.iloc[0])


def sell(market: CurrencyMarket, instrument: str, size: float, price: float | None = None) -> Leg:
    q = market.quote(instrument)
    assert q is not None and q.bid_coin is not None
    return Leg(
        instrument,
        q.currency,
        q.option_type,
        q.strike_usd,
        q.expiry,
        Side.SELL,
        LegIntent.OPEN,
        size,
        q.bid_coin if price is None else price,
    )


def buy(market: CurrencyMarket, instrument: str, size: float, price: float | None = None) -> Leg:
    q = market.quote(instrument)
    assert q is not None and q.ask_coin is not None
    return Leg(
        instrument,
        q.currency,
        q.option_type,
        q.strike_usd,
        q.expiry,
        Side.BUY,
        LegIntent.CLOSE,
        size,
        q.ask_coin if price is None else price,
    )


def proposal(strategy: str, at: datetime, action: Any, *legs: Leg, score: float = 0.0, **kw: Any) -> Proposal:
    currency = legs[0].currency if legs else kw.pop("currency", "BTC")
    return Proposal(
        strategy=strategy,
        at=at,
        action=action,
        currency=currency,
        legs=legs,
        reason="test",
        scores={"score": score},
        **kw,
    )


def later(t: datetime, **delta: float) -> datetime:
    return t + timedelta(**delta)


def with_regime(market: CurrencyMarket, regime: RegimeAssessment) -> CurrencyMarket:
    return replace(market, regime=regime)


def real_file(real_data_dir: Path, name: str) -> str:
    return str(real_data_dir / name)
