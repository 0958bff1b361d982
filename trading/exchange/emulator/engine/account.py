"""Margin, positions and the account summary, with Deribit's standard-margin formulas for
options (:func:`~trading.exchange.emulator.accounting.short_option_margins`). Amounts in coin."""

from __future__ import annotations

import math
from typing import Any

from trading.exchange.emulator.accounting import AccountState, RpcError, short_option_margins
from trading.exchange.emulator.book import InstrumentRecord, price_band
from trading.exchange.emulator.engine.core import EngineCore
from trading.exchange.emulator.pricing import greeks

__all__ = ["AccountLedger"]

# the account's own details: top-level in get_account_summaries, in each get_account_summary
_ACCOUNT_KEYS = (
    "id",
    "username",
    "system_name",
    "email",
    "type",
    "security_keys_enabled",
    "mmp_enabled",
    "creation_timestamp",
)


class AccountLedger(EngineCore):
    # ------------------------------------------------------------------ margin

    def _order_margin(
        self, account: AccountState, rec: InstrumentRecord, direction: str, amount: float, price: float
    ) -> float:
        """Coin an order reserves: the premium for a buy, the short IM for a sell, less the part
        that closes an existing position."""
        pos = account.positions.get(rec.name)
        size = pos.size if pos is not None else 0.0
        if direction == "buy":
            opening = max(0.0, amount - max(0.0, -size))
            return opening * price
        opening = max(0.0, amount - max(0.0, size))
        im, _ = short_option_margins(
            rec.option_type, rec.strike, self.index[rec.currency], rec.quote.mark_price
        )
        return opening * im

    def open_orders_margin(
        self, account: AccountState, currency: str, *, instrument_name: str | None = None
    ) -> float:
        total = 0.0
        for o in self._open_orders(account_id=account.account_id, instrument_name=instrument_name):
            if o.currency == currency and not o.reduce_only:
                total += self._order_margin(
                    account, self.instruments[o.instrument_name], o.direction, o.remaining, o.price
                )
        return total

    def position_margins(self, account: AccountState, currency: str) -> tuple[float, float]:
        im = mm = 0.0
        for pos in account.positions.values():
            if pos.currency != currency or pos.size >= 0:
                continue
            rec = self.instruments[pos.instrument_name]
            if rec.expired:
                continue
            pim, pmm = short_option_margins(
                rec.option_type, rec.strike, self.index[currency], rec.quote.mark_price
            )
            im += pim * -pos.size
            mm += pmm * -pos.size
        return im, mm

    def available_funds(self, account: AccountState, currency: str) -> float:
        im, _ = self.position_margins(account, currency)
        return account.balances.get(currency, 0.0) - im - self.open_orders_margin(account, currency)

    def margins(
        self, account: AccountState, instrument_name: str, *, amount: float, price: float
    ) -> dict[str, Any]:
        """``private/get_margins``: the margin a buy and a sell of ``amount`` at ``price`` would
        reserve now (the part closing a position reserves nothing, as for a real order; fees
        are not included), and the instrument's price band."""
        rec = self.instrument(instrument_name)
        if rec.expired:
            raise RpcError(10020, data={"param": "instrument_name", "reason": "instrument expired"})
        if not math.isfinite(amount) or amount <= 0:
            raise RpcError(10021, data={"param": "amount", "reason": "must be positive"})
        if not math.isfinite(price) or price <= 0:
            raise RpcError(10023, data={"param": "price"})
        low, high = price_band(rec.quote.mark_price)
        return {
            "buy": round(self._order_margin(account, rec, "buy", amount, price), 9),
            "sell": round(self._order_margin(account, rec, "sell", amount, price), 9),
            "min_price": low,
            "max_price": high,
        }

    # ------------------------------------------------------------------ positions and account

    def positions(
        self, account: AccountState, currency: str | None, kind: str | None
    ) -> list[dict[str, Any]]:
        if kind not in (None, "option", "any"):
            return []
        return [
            self._position_wire(account, name)
            for name, pos in account.positions.items()
            if currency in (None, "any", pos.currency) and not self.instruments[name].expired
        ]

    def _position_wire(self, account: AccountState, name: str) -> dict[str, Any]:
        pos = account.positions[name]
        rec = self.instruments[name]
        q = rec.quote
        index = self.index[rec.currency]
        g = greeks(
            q.underlying_price,
            rec.strike,
            rec.t_years(self.now_ms),
            q.mark_iv / 100.0,
            rec.option_type == "call",
        )
        im = mm = 0.0
        if pos.size < 0:
            pim, pmm = short_option_margins(rec.option_type, rec.strike, index, q.mark_price)
            im, mm = pim * -pos.size, pmm * -pos.size
        settlement = rec.settlement_price if rec.settlement_price is not None else q.mark_price
        return {
            "instrument_name": name,
            "kind": "option",
            "direction": "buy" if pos.size > 0 else ("sell" if pos.size < 0 else "zero"),
            "size": pos.size,
            "average_price": round(pos.avg_price, 8),
            "average_price_usd": round(pos.avg_price_usd, 2),
            "mark_price": q.mark_price,
            "index_price": index,
            "settlement_price": settlement,
            "delta": round(float(g["delta"]) * pos.size, 5),
            "gamma": round(float(g["gamma"]) * pos.size, 5),
            "vega": round(float(g["vega"]) * pos.size, 5),
            "theta": round(float(g["theta"]) * pos.size, 5),
            "initial_margin": round(im, 9),
            "maintenance_margin": round(mm, 9),
            "open_orders_margin": round(
                self.open_orders_margin(account, rec.currency, instrument_name=name), 9
            ),
            "total_profit_loss": round((q.mark_price - pos.avg_price) * pos.size, 9),
            "floating_profit_loss": round((q.mark_price - settlement) * pos.size, 9),
            "floating_profit_loss_usd": round((q.mark_price * index - pos.avg_price_usd) * pos.size, 6),
            "realized_profit_loss": round(pos.realized, 9),
        }

    def account_summary(self, account: AccountState, currency: str, *, extended: bool) -> dict[str, Any]:
        """Account summary keeping Deribit's identities (DERIBIT.md §2.13), options only."""
        balance = account.balances.get(currency, 0.0)
        value = delta = gamma = vega = theta = ntd = pl = upl = 0.0
        for name in account.positions:
            pos = account.positions[name]
            if pos.currency != currency or pos.size == 0 or self.instruments[name].expired:
                continue
            w = self._position_wire(account, name)
            value += pos.size * w["mark_price"]
            delta += w["delta"]
            gamma += w["gamma"]
            vega += w["vega"]
            theta += w["theta"]
            ntd += w["delta"] - pos.size * w["mark_price"]
            pl += w["total_profit_loss"]
            upl += w["floating_profit_loss"]
        pim, pmm = self.position_margins(account, currency)
        im = pim + self.open_orders_margin(account, currency)
        equity = balance + value
        margin_balance = equity - value
        rpl = account.session_rpl.get(currency, 0.0)
        index_name = f"{currency.lower()}_usd"
        r = lambda x: round(x, 9)  # noqa: E731
        out: dict[str, Any] = {
            "currency": currency,
            "balance": r(balance),
            "equity": r(equity),
            "margin_balance": r(margin_balance),
            "initial_margin": r(im),
            "maintenance_margin": r(pmm),
            "available_funds": r(margin_balance - im),
            "available_withdrawal_funds": r(balance - im),
            "projected_initial_margin": r(im),
            "projected_maintenance_margin": r(pmm),
            "session_upl": r(upl),
            "session_rpl": r(rpl),
            "total_pl": r(pl),
            "options_pl": r(pl),
            "options_value": r(value),
            "options_session_upl": r(upl),
            "options_session_rpl": r(rpl),
            "options_delta": round(delta, 5),
            "options_gamma": round(gamma, 5),
            "options_vega": round(vega, 5),
            "options_theta": round(theta, 5),
            "options_gamma_map": {index_name: round(gamma, 5)},
            "options_vega_map": {index_name: round(vega, 5)},
            "options_theta_map": {index_name: round(theta, 5)},
            "delta_total": round(ntd, 6),
            "delta_total_map": {index_name: round(ntd, 9)},
            "projected_delta_total": round(ntd, 6),
            "futures_pl": 0.0,
            "futures_session_upl": 0.0,
            "futures_session_rpl": 0.0,
            "fee_balance": 0.0,
            "spot_reserve": 0.0,
            "margin_model": "segregated_sm",
            "portfolio_margining_enabled": False,
            "cross_collateral_enabled": False,
            "estimated_liquidation_ratio": 0.0,
            "id": account.config.user_id,
            "username": account.config.username,
            "system_name": account.config.username,
            "email": f"{account.config.username}@emulator.invalid",
            "type": "main",
            "security_keys_enabled": False,
            "mmp_enabled": False,
            "creation_timestamp": account.creation_ms,
        }
        if extended:
            out["limits"] = {
                "limits_per_currency": False,
                "non_matching_engine": {"burst": 100, "rate": 20},
                "matching_engine": {"trading": {"total": {"burst": 10, "rate": 5}}},
            }
            out["fees"] = {
                index_name: {"option": {"default": {"type": "relative", "taker": 0.625, "maker": 0.625}}}
            }
        return out

    def account_summaries(self, account: AccountState, *, extended: bool) -> dict[str, Any]:
        """``private/get_account_summaries``: the account's details, and one summary per
        currency the exchange trades or the account holds (as ``get_account_summary``)."""
        currencies = sorted(set(self.index) | set(account.balances))
        summaries = [self.account_summary(account, c, extended=extended) for c in currencies]
        out: dict[str, Any] = {}
        for summary in summaries:
            for key in _ACCOUNT_KEYS:
                out[key] = summary.pop(key, None)
        out["summaries"] = summaries
        return out
