"""The option chain as one table, and the candidate table option sellers filter and score.

A *chain* is a DataFrame with one row per option and the columns of :data:`CHAIN_COLUMNS`
(units below). Real snapshots become chains with :func:`chain_from_snapshot`; the synthetic
generator (:mod:`trading.quant.synthetic`) emits the same shape. :func:`candidate_table` turns
a chain into the seller's view: premium at the bid, annualised yield on collateral, IV/RV,
distances and spreads, all vectorised.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trading.quant import black76
from trading.quant.implied_vol import implied_vol

CHAIN_COLUMNS: dict[str, str] = {
    "timestamp": "snapshot time, UTC",
    "instrument_name": "Deribit name, e.g. BTC-27MAR26-80000-C",
    "currency": "underlying coin, 'BTC' or 'ETH'",
    "expiry": "expiry time, UTC (08:00)",
    "strike": "strike, USD",
    "option_type": "'call' or 'put'",
    "forward": "forward (Deribit's underlying_price) of the expiry, USD",
    "index_price": "spot index, USD",
    "t_years": "time to expiry, years of 365 days",
    "mark_iv": "mark implied volatility, decimal",
    "mark_price_coin": "mark price, coin per 1-coin contract",
    "bid_price_coin": "best bid, coin (NaN: no bid)",
    "ask_price_coin": "best ask, coin (NaN: no ask)",
    "bid_iv": "IV of the bid, decimal (NaN: no bid or no IV)",
    "ask_iv": "IV of the ask, decimal (NaN: no ask or no IV)",
    "delta": "forward delta at the mark, coin per contract",
    "gamma": "per USD",
    "vega": "USD per vol point",
    "theta": "USD per day (Deribit's capped theta)",
    "open_interest": "contracts",
}
"""Columns of a chain table and their units."""

CANDIDATE_COLUMNS: dict[str, str] = {
    "instrument_name": "Deribit name",
    "currency": "'BTC' or 'ETH'",
    "option_type": "'call' or 'put'",
    "expiry": "expiry time, UTC",
    "strike": "strike, USD",
    "dte_days": "days to expiry (365-day year convention, fractional)",
    "delta": "forward delta at the mark, coin per contract (calls > 0, puts < 0)",
    "premium_coin": "what a seller receives per contract at the bid, coin (NaN: no bid)",
    "premium_usd": "premium_coin * index price, USD",
    "yield_annual": "premium on collateral * 365 / DTE, decimal per year; calls: covered by 1 coin "
    "(premium_coin / 1); puts: cash-secured by the strike (premium_usd / strike)",
    "mark_iv": "mark IV, decimal",
    "bid_iv": "IV of the bid (the seller's IV), decimal",
    "ask_iv": "IV of the ask, decimal",
    "rv": "trailing realised vol of the underlying, decimal (NaN if not given)",
    "ivrv": "mark_iv / rv",
    "bid_ivrv": "bid_iv / rv",
    "moneyness_pct": "(strike / forward - 1) * 100, percent",
    "otm_pct": "distance out of the money from the forward, percent (negative: in the money)",
    "otm_index_pct": "the same from the spot index, percent",
    "spread_coin": "ask - bid, coin (NaN without both quotes)",
    "spread_rel": "spread_coin / mid price, decimal",
    "spread_iv": "ask_iv - bid_iv, decimal",
    "open_interest": "contracts",
    "theta": "USD per day",
    "vega": "USD per vol point",
    "gamma": "per USD",
    "forward": "forward, USD",
    "index_price": "spot index, USD",
}
"""Columns of the candidate table and their units."""

_SECONDS_PER_YEAR = black76.SECONDS_PER_YEAR


def chain_from_snapshot(snapshot: pd.DataFrame) -> pd.DataFrame:
    """A chain (:data:`CHAIN_COLUMNS`) from an SVCJ / ``get_book_summary_by_currency``-style snapshot.

    Takes the columns ``timestamp, instrument_name, currency, expiry_datetime, strike,
    option_type, underlying, index_price, implied_volatility, mark_price, bid_price, ask_price,
    open_interest``. T is recomputed with Deribit's 365-day year; bid/ask IVs invert the quotes
    with Black-76 on the forward; greeks are recomputed at the mark IV (the file's own delta and
    vega came from a later ticker call and can lag the prices).
    """
    ts = pd.to_datetime(snapshot["timestamp"], utc=True)
    expiry = pd.to_datetime(snapshot["expiry_datetime"], utc=True)
    t_years = (expiry - ts).dt.total_seconds().to_numpy(dtype=np.float64) / _SECONDS_PER_YEAR
    fwd = snapshot["underlying"].to_numpy(dtype=np.float64)
    strike = snapshot["strike"].to_numpy(dtype=np.float64)
    is_call = (snapshot["option_type"] == "call").to_numpy()
    mark_iv = snapshot["implied_volatility"].to_numpy(dtype=np.float64)
    bid = snapshot["bid_price"].to_numpy(dtype=np.float64)
    ask = snapshot["ask_price"].to_numpy(dtype=np.float64)
    bid = np.where(bid > 0.0, bid, np.nan)
    ask = np.where(ask > 0.0, ask, np.nan)
    both = implied_vol(
        np.concatenate([bid, ask]),
        np.tile(fwd, 2),
        np.tile(strike, 2),
        np.tile(t_years, 2),
        np.tile(is_call, 2),
        unit="coin",
    ).iv
    g = black76.price_and_greeks(fwd, strike, t_years, mark_iv, is_call)
    n = len(snapshot)
    return pd.DataFrame(
        {
            "timestamp": ts,
            "instrument_name": snapshot["instrument_name"],
            "currency": snapshot["currency"],
            "expiry": expiry,
            "strike": strike,
            "option_type": np.where(is_call, "call", "put"),
            "forward": fwd,
            "index_price": snapshot["index_price"].to_numpy(dtype=np.float64),
            "t_years": t_years,
            "mark_iv": mark_iv,
            "mark_price_coin": snapshot["mark_price"].to_numpy(dtype=np.float64),
            "bid_price_coin": bid,
            "ask_price_coin": ask,
            "bid_iv": both[:n],
            "ask_iv": both[n:],
            "delta": g.delta,
            "gamma": g.gamma,
            "vega": g.vega,
            "theta": g.theta,
            "open_interest": snapshot["open_interest"].to_numpy(dtype=np.float64),
        },
        index=snapshot.index,
    )


def _rv_column(chain: pd.DataFrame, rv: float | Mapping[str, float] | None) -> np.ndarray:
    if rv is None:
        return np.full(len(chain), np.nan)
    if isinstance(rv, Mapping):
        return chain["currency"].map(lambda c: rv.get(c, np.nan)).to_numpy(dtype=np.float64)
    return np.full(len(chain), float(rv))


def candidate_table(chain: pd.DataFrame, *, rv: float | Mapping[str, float] | None = None) -> pd.DataFrame:
    """The seller's view of every option in ``chain``, one row each (:data:`CANDIDATE_COLUMNS`).

    ``rv`` is the underlying's trailing realised vol (decimal), one number or one per currency;
    it feeds ``rv``, ``ivrv`` and ``bid_ivrv``. Expired rows (T ≤ 0) get NaN yields. No row is
    dropped: strategies filter (e.g. on ``premium_coin.notna()``, ``delta`` and ``dte_days``).
    """
    t = chain["t_years"].to_numpy(dtype=np.float64)
    dte = t * black76.DAYS_PER_YEAR
    is_call = (chain["option_type"] == "call").to_numpy()
    strike = chain["strike"].to_numpy(dtype=np.float64)
    fwd = chain["forward"].to_numpy(dtype=np.float64)
    spot = chain["index_price"].to_numpy(dtype=np.float64)
    bid = chain["bid_price_coin"].to_numpy(dtype=np.float64)
    ask = chain["ask_price_coin"].to_numpy(dtype=np.float64)
    bid_iv = chain["bid_iv"].to_numpy(dtype=np.float64)
    ask_iv = chain["ask_iv"].to_numpy(dtype=np.float64)
    mark_iv = chain["mark_iv"].to_numpy(dtype=np.float64)
    rv_arr = _rv_column(chain, rv)

    premium_usd = bid * spot
    with np.errstate(divide="ignore", invalid="ignore"):
        per_year = np.where(dte > 0.0, black76.DAYS_PER_YEAR / dte, np.nan)
        collateral_yield = np.where(is_call, bid, premium_usd / strike)
        mid = 0.5 * (bid + ask)
        rv_ok = np.where(rv_arr > 0.0, rv_arr, np.nan)
        moneyness = strike / fwd - 1.0
        otm = np.where(is_call, strike / fwd - 1.0, 1.0 - strike / fwd)
        otm_index = np.where(is_call, strike / spot - 1.0, 1.0 - strike / spot)
        spread = ask - bid
        out = pd.DataFrame(
            {
                "instrument_name": chain["instrument_name"],
                "currency": chain["currency"],
                "option_type": chain["option_type"],
                "expiry": chain["expiry"],
                "strike": strike,
                "dte_days": dte,
                "delta": chain["delta"].to_numpy(dtype=np.float64),
                "premium_coin": bid,
                "premium_usd": premium_usd,
                "yield_annual": collateral_yield * per_year,
                "mark_iv": mark_iv,
                "bid_iv": bid_iv,
                "ask_iv": ask_iv,
                "rv": rv_arr,
                "ivrv": mark_iv / rv_ok,
                "bid_ivrv": bid_iv / rv_ok,
                "moneyness_pct": 100.0 * moneyness,
                "otm_pct": 100.0 * otm,
                "otm_index_pct": 100.0 * otm_index,
                "spread_coin": spread,
                "spread_rel": spread / mid,
                "spread_iv": ask_iv - bid_iv,
                "open_interest": chain["open_interest"].to_numpy(dtype=np.float64),
                "theta": chain["theta"].to_numpy(dtype=np.float64),
                "vega": chain["vega"].to_numpy(dtype=np.float64),
                "gamma": chain["gamma"].to_numpy(dtype=np.float64),
                "forward": fwd,
                "index_price": spot,
            },
            index=chain.index,
        )
    return out
