"""Managing open short options: take profit, roll (to a later expiry) or close, hold, or let expire.

Rules, in order, for each short position of the strategy:

1. expired (expiry at or before ``now``): hold, settlement is the exchange's;
2. no quote: hold and say so (nothing is done blind);
3. take profit: when ``take_profit_pct`` > 0 and the buy-back at the ask leaves at least that
   share of the premium it was sold for: close (buy at the ask);
4. roll triggers: ``roll_dte`` > 0 and DTE ≤ ``roll_dte``; ``roll_delta`` > 0 and
   ``|delta|`` ≥ ``roll_delta``; ``roll_below_otm_pct`` set and the option is less than that
   percent out of the money from the index. Then roll into the best acceptable candidate (the
   strategy's filters) that expires later, with a strike no closer to the money (calls: ≥ the
   old strike, puts: ≤) and, with ``roll_require_credit``, a net credit after fees. With no
   acceptable roll target: close. With no ask to buy back at: hold and say so;
5. otherwise hold (and with ``roll_dte`` = 0 the option is let expire).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from trading.strategies.base import (
    Action,
    Leg,
    LegIntent,
    OptionPosition,
    Proposal,
    Side,
    StrategyConfig,
    roll_link_id,
)
from trading.strategies.contracts import (
    FEE_CAP_OF_PREMIUM,
    FEE_PER_CONTRACT_COIN,
    option_fee_coin,
    round_price,
)
from trading.strategies.market import CurrencyMarket, Quote
from trading.strategies.screen import screen


def _hold(cfg: StrategyConfig, now: datetime, currency: str, why: str) -> Proposal:
    return Proposal(strategy=cfg.name, at=now, action=Action.HOLD, currency=currency, legs=(), reason=why)


def close_leg(position: OptionPosition, quote: Quote) -> Leg:
    assert quote.ask_coin is not None
    return Leg(
        instrument_name=position.instrument_name,
        currency=position.currency,
        option_type=position.option_type,
        strike_usd=position.strike_usd,
        expiry=position.expiry,
        side=Side.BUY,
        intent=LegIntent.CLOSE,
        size_contracts=abs(position.size_contracts),
        limit_price_coin=round_price(quote.ask_coin, "up"),
    )


def sell_leg(market: CurrencyMarket, row: int, size_contracts: float) -> Leg:
    a = market.arrays
    return Leg(
        instrument_name=str(a.names[row]),
        currency=market.currency,
        option_type="call" if a.is_call[row] else "put",
        strike_usd=float(a["strike"][row]),
        expiry=market.expiry_at(row),
        side=Side.SELL,
        intent=LegIntent.OPEN,
        size_contracts=size_contracts,
        limit_price_coin=round_price(float(a["premium_coin"][row]), "down"),
    )


def _roll_triggers(cfg: StrategyConfig, quote: Quote) -> list[str]:
    p = cfg.params
    out: list[str] = []
    if p.roll_dte > 0 and quote.dte_days <= p.roll_dte:
        out.append(f"{quote.dte_days:.1f} days left <= {p.roll_dte}")
    if p.roll_delta > 0 and abs(quote.delta) >= p.roll_delta:
        out.append(f"|delta| {abs(quote.delta):.2f} >= {p.roll_delta:g}")
    if p.roll_below_otm_pct is not None and quote.otm_index_pct < p.roll_below_otm_pct:
        out.append(f"{quote.otm_index_pct:.1f}% out of the money < {p.roll_below_otm_pct:g}%")
    return out


def _roll_target(
    cfg: StrategyConfig, market: CurrencyMarket, pos: OptionPosition, quote: Quote
) -> int | None:
    """Row of the best acceptable roll target, or ``None``."""
    a = market.arrays
    is_call = pos.option_type == "call"
    old_expiry_ns = pd.Timestamp(pos.expiry).as_unit("ns").value
    strike_ok = a["strike"] >= pos.strike_usd if is_call else a["strike"] <= pos.strike_usd
    extra = (a.expiry_ns > old_expiry_ns) & strike_ok & (a.names != pos.instrument_name)
    if cfg.params.roll_require_credit:
        assert quote.ask_coin is not None
        size = abs(pos.size_contracts)
        cost = quote.ask_coin * size + option_fee_coin(quote.ask_coin, size)
        bid = a["premium_coin"]
        fee = np.minimum(FEE_PER_CONTRACT_COIN, FEE_CAP_OF_PREMIUM * np.nan_to_num(bid)) * size
        with np.errstate(invalid="ignore"):
            extra &= bid * size - fee >= cost
    found = screen(market, cfg.params, is_call=is_call, extra=extra)
    return int(found.rows[0]) if len(found.rows) else None


def manage_position(
    cfg: StrategyConfig, now: datetime, market: CurrencyMarket | None, pos: OptionPosition
) -> Proposal:
    """The decision for one position of this strategy (see the module docstring)."""
    name = pos.instrument_name
    if not pos.is_short:
        return _hold(cfg, now, pos.currency, f"{name}: not a short position, left alone")
    if pos.expiry <= now:
        return _hold(cfg, now, pos.currency, f"{name}: expired, awaiting settlement")
    quote = market.quote(name) if market is not None else None
    if market is None or quote is None:
        return _hold(cfg, now, pos.currency, f"{name}: no quote, cannot manage it this tick")
    p = cfg.params
    captured = None
    if quote.ask_coin is not None and pos.open_price_coin > 0.0:
        captured = 100.0 * (pos.open_price_coin - quote.ask_coin) / pos.open_price_coin
    state = (
        f"{quote.dte_days:.1f} days left, |delta| {abs(quote.delta):.2f}, "
        f"{quote.otm_index_pct:.1f}% out of the money"
        + (f", {captured:.0f}% of the premium captured" if captured is not None else "")
    )
    if p.take_profit_pct > 0.0 and captured is not None and captured >= p.take_profit_pct:
        leg = close_leg(pos, quote)
        return Proposal(
            strategy=cfg.name,
            at=now,
            action=Action.CLOSE,
            currency=pos.currency,
            legs=(leg,),
            reason=(
                f"take profit on {name}: sold at {pos.open_price_coin:g}, buy back at "
                f"{leg.limit_price_coin:g}: {captured:.0f}% captured >= {p.take_profit_pct:g}%"
            ),
            scores={"captured_pct": captured},
        )
    triggers = _roll_triggers(cfg, quote)
    if not triggers:
        verb = "let it expire" if p.roll_dte == 0 else "keep"
        return _hold(cfg, now, pos.currency, f"{verb} {name}: {state}")
    why = "; ".join(triggers)
    if quote.ask_coin is None:
        return _hold(cfg, now, pos.currency, f"{name} should roll or close ({why}) but has no ask to buy at")
    close = close_leg(pos, quote)
    target = _roll_target(cfg, market, pos, quote)
    if target is None:
        credit = " for a net credit" if p.roll_require_credit else ""
        return Proposal(
            strategy=cfg.name,
            at=now,
            action=Action.CLOSE,
            currency=pos.currency,
            legs=(close,),
            reason=f"close {name} ({why}): no acceptable roll target{credit}",
            scores={"captured_pct": captured if captured is not None else float("nan")},
        )
    new = sell_leg(market, target, close.size_contracts)
    net = new.limit_price_coin - close.limit_price_coin
    return Proposal(
        strategy=cfg.name,
        at=now,
        action=Action.ROLL,
        currency=pos.currency,
        legs=(close, new),
        reason=(
            f"roll {name} -> {new.instrument_name} ({why}); net {net:+.4f} coin per contract before fees"
        ),
        scores={"net_credit_coin": net},
        link_id=roll_link_id(cfg.name, now, name, new.instrument_name),
    )
