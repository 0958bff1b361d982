"""``cash_secured_put``: sell puts whose strike value is secured by ``collateral_pct`` of the equity.

On a coin-margined account the collateral is the coin equity valued at the index: the strike value
(strike x contracts, USD) of this strategy's short puts stays within ``collateral_pct`` of it.
Opens, ranking and management as for covered calls (rolls go down-and-out).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from trading.strategies.base import OptionPosition, StrategyContext
from trading.strategies.market import CurrencyMarket
from trading.strategies.params import CashSecuredPutParams, LogicKind
from trading.strategies.selling import SellOptionLogic


class CashSecuredPut(SellOptionLogic):
    kind: ClassVar[LogicKind] = LogicKind.CASH_SECURED_PUT
    version: ClassVar[str] = "1.0"
    params_schema: ClassVar[type[CashSecuredPutParams]] = CashSecuredPutParams
    option_type: ClassVar[str] = "put"

    def capacity_contracts(
        self, ctx: StrategyContext, market: CurrencyMarket, mine: list[OptionPosition], strikes: np.ndarray
    ) -> tuple[np.ndarray, str]:
        params = ctx.config.params
        assert isinstance(params, CashSecuredPutParams)
        account = ctx.account.get(market.currency)
        equity_usd = max(account.equity_coin, 0.0) * market.index_price_usd if account is not None else 0.0
        secured = sum(-p.size_contracts * p.strike_usd for p in mine if p.option_type == "put" and p.is_short)
        free_usd = params.collateral_pct / 100.0 * equity_usd - secured
        why = (
            f"equity {equity_usd:,.0f} USD, {params.collateral_pct:g}% may secure puts, "
            f"{secured:,.0f} USD already secured"
        )
        return free_usd / strikes, why
