"""``covered_call``: sell calls against the coins held, never more than ``coverage_pct`` of them.

Opens: calls passing the filters (:mod:`trading.strategies.screen`), ranked by the rules score
(:mod:`trading.decision.rules`); size up to the coins still uncovered by this strategy's own short
calls. Management: take profit, roll up-and-out or close, or let expire
(:mod:`trading.strategies.manage`). The risk engine checks that calls sold by all strategies
together never exceed the coins held.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from trading.strategies.base import OptionPosition, StrategyContext
from trading.strategies.market import CurrencyMarket
from trading.strategies.params import CoveredCallParams, LogicKind
from trading.strategies.selling import SellOptionLogic


class CoveredCall(SellOptionLogic):
    kind: ClassVar[LogicKind] = LogicKind.COVERED_CALL
    version: ClassVar[str] = "1.0"
    params_schema: ClassVar[type[CoveredCallParams]] = CoveredCallParams
    option_type: ClassVar[str] = "call"

    def capacity_contracts(
        self, ctx: StrategyContext, market: CurrencyMarket, mine: list[OptionPosition], strikes: np.ndarray
    ) -> tuple[np.ndarray, str]:
        params = ctx.config.params
        assert isinstance(params, CoveredCallParams)
        account = ctx.account.get(market.currency)
        coins = account.balance_coin if account is not None else 0.0
        sold = sum(-p.size_contracts for p in mine if p.option_type == "call" and p.is_short)
        cover = params.coverage_pct / 100.0 * max(coins, 0.0)
        free = cover - sold
        why = (
            f"{coins:g} {market.currency} held, {params.coverage_pct:g}% may be covered, "
            f"{sold:g} calls already sold"
        )
        return np.full(len(strikes), free), why
