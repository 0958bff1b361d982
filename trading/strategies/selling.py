"""What covered calls and cash-secured puts share: manage what is open, then offer what to open.

Per underlying (those allowed, plus any where the strategy still holds positions):

* every own position is managed (:mod:`trading.strategies.manage`);
* new positions are offered only when the strategy is enabled, allowed that underlying and
  option type, the regime is not *crisis*, the account is known, and there is capacity: the
  logic's own (coins to cover, collateral) and the strategy's risk limits (contracts per coin,
  open positions, notional), at most ``max_contracts_per_trade``. Instruments already held are
  not offered again. Otherwise one hold proposal says why.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import ClassVar

import numpy as np

from trading.strategies.base import (
    Action,
    Offer,
    OpenOffer,
    OptionPosition,
    Proposal,
    StrategyContext,
    StrategyLogic,
    StrategyOutput,
)
from trading.strategies.contracts import amount_step, floor_to_step
from trading.strategies.manage import manage_position, sell_leg
from trading.strategies.market import CurrencyMarket
from trading.strategies.regime import Regime
from trading.strategies.screen import screen

MAX_OFFERS = 8
"""Candidates offered to the decision mode per underlying."""


class SellOptionLogic(StrategyLogic):
    """Sell one option type; subclasses say how much may be sold (:meth:`capacity_contracts`)."""

    option_type: ClassVar[str]

    @abstractmethod
    def capacity_contracts(
        self, ctx: StrategyContext, market: CurrencyMarket, mine: list[OptionPosition], strikes: np.ndarray
    ) -> tuple[np.ndarray, str]:
        """Contracts the logic may still sell at each strike, and a sentence saying why."""

    def propose(self, ctx: StrategyContext) -> StrategyOutput:
        cfg = ctx.config
        proposals: list[Proposal] = []
        offers: list[OpenOffer] = []
        live = [p for p in ctx.positions if p.size_contracts != 0.0]
        currencies = sorted(set(cfg.underlyings) | {p.currency for p in live})
        for currency in currencies:
            market = ctx.market.get(currency)
            mine = [p for p in live if p.currency == currency]
            for pos in sorted(mine, key=lambda p: p.instrument_name):
                proposals.append(manage_position(cfg, ctx.now, market, pos))
            offer, why = self._offer(ctx, currency, market, mine, live)
            if offer is not None:
                offers.append(offer)
            else:
                proposals.append(
                    Proposal(
                        strategy=cfg.name,
                        at=ctx.now,
                        action=Action.HOLD,
                        currency=currency,
                        legs=(),
                        reason=f"no new {self.option_type}s on {currency}: {why}",
                    )
                )
        return StrategyOutput(proposals=tuple(proposals), offers=tuple(offers))

    def _gate(self, ctx: StrategyContext, currency: str, market: CurrencyMarket | None) -> str | None:
        cfg = ctx.config
        if not cfg.enabled:
            return "the strategy is disabled (it only manages what it holds)"
        if currency not in cfg.underlyings:
            return f"{currency} is not among its underlyings"
        if self.option_type not in cfg.option_types:
            return f"{self.option_type}s are not among its option types"
        if market is None or len(market) == 0:
            return "no market data"
        if market.regime.regime is Regime.CRISIS:
            return "crisis regime (" + "; ".join(market.regime.reasons) + ")"
        if ctx.account.get(currency) is None:
            return "no account data"
        return None

    def _limit_room(
        self,
        ctx: StrategyContext,
        market: CurrencyMarket,
        mine: list[OptionPosition],
        live: list[OptionPosition],
    ) -> tuple[float, str | None]:
        lim = ctx.config.limits
        if len({p.instrument_name for p in live}) >= lim.max_open_positions:
            return 0.0, f"{lim.max_open_positions} open positions already (its limit)"
        contracts = sum(abs(p.size_contracts) for p in mine)
        index = {c: m.index_price_usd for c, m in ctx.market.markets.items()}
        notional = sum(abs(p.size_contracts) * index.get(p.currency, math.inf) for p in live)
        room_notional = (lim.max_notional_usd - notional) / market.index_price_usd
        room = min(lim.max_contracts - contracts, room_notional, ctx.config.params.max_contracts_per_trade)
        return room, None

    def _offer(
        self,
        ctx: StrategyContext,
        currency: str,
        market: CurrencyMarket | None,
        mine: list[OptionPosition],
        live: list[OptionPosition],
    ) -> tuple[OpenOffer | None, str]:
        blocked = self._gate(ctx, currency, market)
        if blocked is not None or market is None:
            return None, blocked or "no market data"
        room, why_not = self._limit_room(ctx, market, mine, live)
        if why_not is not None:
            return None, why_not
        step = amount_step(currency)
        held = [market.row(p.instrument_name) for p in live if p.currency == currency]
        extra = None
        if any(r is not None for r in held):
            extra = np.ones(len(market), dtype=np.bool_)
            extra[[r for r in held if r is not None]] = False
        found = screen(market, ctx.config.params, is_call=self.option_type == "call", extra=extra)
        if len(found.rows) == 0:
            return None, f"none of {found.considered} {self.option_type}s passes the filters"
        a = market.arrays
        capacity, capacity_why = self.capacity_contracts(ctx, market, mine, a["strike"][found.rows])
        sizes = np.floor(np.minimum(capacity, room) / step + 1e-9) * step
        keep = np.flatnonzero(sizes >= step - 1e-9)[:MAX_OFFERS]
        if len(keep) == 0:
            return None, f"{capacity_why}; room for less than {step:g} contract"
        offers = []
        for k in keep:
            row = int(found.rows[k])
            leg = sell_leg(market, row, floor_to_step(float(sizes[k]), step))
            parts = {name: float(v[k]) for name, v in found.parts.items()}
            facts: dict[str, float | str] = {
                "instrument_name": leg.instrument_name,
                "strike_usd": leg.strike_usd,
                "dte_days": round(float(a["dte_days"][row]), 2),
                "delta": round(float(a["delta"][row]), 4),
                "bid_coin": leg.limit_price_coin,
                "premium_usd": round(float(a["premium_usd"][row]), 2),
                "net_yield_pct": round(100.0 * float(found.net_yield[k]), 2),
                "ivrv": round(float(a["ivrv"][row]), 3),
                "spread_pct": round(100.0 * float(a["spread_rel"][row]), 2),
                "open_interest": float(a["open_interest"][row]),
                "otm_index_pct": round(float(a["otm_index_pct"][row]), 2),
                "max_size_contracts": leg.size_contracts,
            }
            offers.append(Offer(leg=leg, score=float(found.score[k]), score_parts=parts, facts=facts))
        context: dict[str, float | str] = {
            "index_price_usd": market.index_price_usd,
            "dvol": market.regime.dvol if market.regime.dvol is not None else float("nan"),
            "regime": market.regime.regime.value,
            "open_positions_here": len(mine),
            "capacity": capacity_why,
        }
        return (
            OpenOffer(
                strategy=ctx.config.name,
                at=ctx.now,
                currency=currency,
                offers=tuple(offers),
                max_size_contracts=max(o.leg.size_contracts for o in offers),
                size_step_contracts=step,
                context=context,
                reason=(
                    f"{len(found.rows)} of {found.considered} {self.option_type}s pass the filters; "
                    f"{capacity_why}"
                ),
            ),
            "",
        )
