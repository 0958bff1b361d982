"""The risk engine's individual rules. Each returns the reasons it refuses (empty: passes).

Two kinds, told apart because of the priority rule in :mod:`trading.risk.engine`:

* *facts* (:func:`leg_fact_problems`, :func:`open_permission_problems`): the leg is well formed,
  quoted, priced inside the bid/ask band on the tick grid, sized in whole steps, closes only what
  is held, and the strategy may trade it at all. They do not depend on any limit.
* *limits* (:func:`freshness_problems`, :func:`open_limit_problems`, :func:`regime_problems`): data
  age, kill switch, regime, per-strategy and account limits, judged on the books after the leg.
"""

from __future__ import annotations

from datetime import datetime

from trading.risk.book import CoinBook, StrategyBook
from trading.risk.config import RiskConfig
from trading.strategies.base import AccountView, Leg, LegIntent, StrategyConfig
from trading.strategies.contracts import AMOUNT_STEP, is_on_tick, is_step_multiple
from trading.strategies.market import MarketSnapshot, Quote
from trading.strategies.regime import Regime

EPS = 1e-9
CLOCK_SKEW_S = 5.0
"""Data stamped further than this in the future is treated as broken (fail closed)."""


def leg_fact_problems(leg: Leg, market: MarketSnapshot, now: datetime) -> tuple[Quote | None, list[str]]:
    """The leg's quote and what is wrong with the leg itself."""
    step = AMOUNT_STEP.get(leg.currency)
    if step is None:
        return None, [f"{leg.instrument_name}: unknown currency {leg.currency!r}"]
    quote = market.quote(leg.currency, leg.instrument_name)
    if quote is None:
        return None, [f"{leg.instrument_name}: no quote in the {leg.currency} market (fail closed)"]
    out: list[str] = []
    if (quote.option_type, quote.strike_usd, quote.expiry) != (leg.option_type, leg.strike_usd, leg.expiry):
        out.append(f"{leg.instrument_name}: type, strike or expiry do not match the instrument")
    if quote.expiry <= now:
        out.append(f"{leg.instrument_name}: expired")
    if not is_step_multiple(leg.size_contracts, step):
        out.append(
            f"{leg.instrument_name}: size {leg.size_contracts!r} is not a positive multiple of {step:g}"
        )
    price = leg.limit_price_coin
    if not is_on_tick(price):
        out.append(f"{leg.instrument_name}: limit {price!r} is not a positive price on Deribit's tick grid")
    bid, ask = quote.bid_coin, quote.ask_coin
    if ask is None:
        out.append(f"{leg.instrument_name}: no ask, the price band is unknown (fail closed)")
    elif leg.intent is LegIntent.OPEN and bid is None:
        out.append(f"{leg.instrument_name}: no bid, the price band is unknown (fail closed)")
    elif price > ask + EPS or price < (bid or 0.0) - EPS:
        band = f"[{bid if bid is not None else 0:g}, {ask:g}]"
        out.append(f"{leg.instrument_name}: limit {price:g} outside the bid/ask band {band}")
    return quote, out


def open_permission_problems(leg: Leg, cfg: StrategyConfig) -> list[str]:
    out: list[str] = []
    if not cfg.enabled:
        out.append(f"strategy {cfg.name} is disabled: it may only reduce")
    if leg.currency not in cfg.underlyings:
        out.append(f"{cfg.name} may not trade {leg.currency} (allowed: {sorted(cfg.underlyings)})")
    if leg.option_type not in cfg.option_types:
        out.append(f"{cfg.name} may not sell {leg.option_type}s (allowed: {sorted(cfg.option_types)})")
    return out


def freshness_problems(currency: str, market: MarketSnapshot, now: datetime, config: RiskConfig) -> list[str]:
    m = market.get(currency)
    if m is None:
        return [f"no {currency} market data (fail closed)"]
    age = (now - m.observed_at).total_seconds()
    if age > config.max_market_age_s:
        return [f"{currency} market data is {age:.0f} s old > {config.max_market_age_s:g} s (fail closed)"]
    if age < -CLOCK_SKEW_S:
        return [f"{currency} market data is stamped {-age:.0f} s in the future (fail closed)"]
    return []


def account_problems(
    currency: str, account: AccountView | None, now: datetime, config: RiskConfig
) -> list[str]:
    if account is None:
        return ["no account data (fail closed)"]
    age = (now - account.observed_at).total_seconds()
    if age > config.max_account_age_s or age < -CLOCK_SKEW_S:
        return [f"account data is {age:.0f} s old, outside 0..{config.max_account_age_s:g} s (fail closed)"]
    if account.get(currency) is None:
        return [f"no {currency} account data (fail closed)"]
    return []


def regime_problems(quote: Quote, market: MarketSnapshot, config: RiskConfig) -> list[str]:
    m = market.get(quote.currency)
    if m is None:
        return [f"no {quote.currency} regime (fail closed)"]
    regime = m.regime.regime
    why = "; ".join(m.regime.reasons)
    if regime is Regime.CRISIS and not config.crisis_allows_opens:
        return [f"{quote.currency} regime is crisis ({why}): only reducing trades"]
    if regime is not Regime.NORMAL and abs(quote.delta) > config.elevated_max_abs_delta + EPS:
        return [
            f"{quote.currency} regime is {regime} ({why}): |delta| {abs(quote.delta):.2f} > "
            f"{config.elevated_max_abs_delta:g}"
        ]
    return []


def open_limit_problems(
    leg: Leg,
    *,
    coin: CoinBook,
    strat: StrategyBook,
    account: AccountView,
    cfg: StrategyConfig,
    config: RiskConfig,
    index_usd: float,
) -> list[str]:
    """Account and strategy limits on the books after the leg (see :class:`RiskConfig`)."""
    cur = leg.currency
    acct = account.get(cur)
    assert acct is not None
    out: list[str] = []
    coins, equity = acct.balance_coin, acct.equity_coin
    if leg.option_type == "call" and coin.short_calls > config.max_call_coverage * coins + EPS:
        out.append(
            f"calls sold {coin.short_calls:g} > {config.max_call_coverage:g} x {coins:g} {cur} held "
            "(uncovered)"
        )
    if leg.option_type == "put":
        cap = config.max_put_collateral_fraction * equity * index_usd
        if coin.put_strike_usd > cap + EPS:
            out.append(
                f"puts' strike value {coin.put_strike_usd:,.0f} USD > {cap:,.0f} USD of equity allowed"
            )
    im = acct.initial_margin_coin + coin.initial_margin_coin
    im_cap = config.max_initial_margin_fraction * equity
    if im > im_cap + EPS:
        out.append(
            f"initial margin {im:.4f} {cur} > {config.max_initial_margin_fraction:g} x equity {equity:.4f}"
        )
    lo, hi = equity + coin.delta.lo, equity + coin.delta.hi
    if lo < config.min_net_delta_ratio * equity - EPS or hi > config.max_net_delta_ratio * equity + EPS:
        out.append(
            f"account delta could reach [{lo:.3f}, {hi:.3f}] {cur}, outside "
            f"[{config.min_net_delta_ratio:g}, {config.max_net_delta_ratio:g}] x equity {equity:.3f}"
        )
    in_expiry = coin.per_expiry.get(leg.expiry, 0.0)
    if in_expiry > config.max_expiry_fraction * coins + EPS:
        out.append(
            f"{in_expiry:g} contracts short in the {leg.expiry:%d %b %Y} expiry > "
            f"{config.max_expiry_fraction:g} x {coins:g} {cur} held"
        )
    lim = cfg.limits
    if strat.contracts[cur] > lim.max_contracts + EPS:
        out.append(f"{cfg.name}: {strat.contracts[cur]:g} {cur} contracts > its limit {lim.max_contracts:g}")
    if strat.notional_usd > lim.max_notional_usd + EPS:
        out.append(
            f"{cfg.name}: notional {strat.notional_usd:,.0f} USD > its limit {lim.max_notional_usd:,.0f}"
        )
    if len(strat.instruments) > lim.max_open_positions:
        out.append(
            f"{cfg.name}: {len(strat.instruments)} open positions > its limit {lim.max_open_positions}"
        )
    d = strat.delta[cur]
    if max(abs(d.lo), abs(d.hi)) > lim.max_abs_delta + EPS:
        out.append(
            f"{cfg.name}: {cur} delta could reach [{d.lo:.3f}, {d.hi:.3f}], beyond ±{lim.max_abs_delta:g}"
        )
    return out
