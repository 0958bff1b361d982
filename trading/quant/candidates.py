"""The option chain as one table, and the candidate table option sellers filter and score.

A *chain* is a DataFrame with one row per option and the columns of :data:`CHAIN_COLUMNS`
(units below). Real snapshots become chains with :func:`chain_from_snapshot`; the synthetic
generator (:mod:`trading.quant.synthetic`) emits the same shape. :func:`candidate_table` turns
a chain into the seller's view: premium at the bid, annualised yield on collateral, IV/RV,
distances and spreads, all vectorised.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
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

FloatArray = npt.NDArray[np.float64]


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


_FLOAT_FIELDS: tuple[str, ...] = (
    "strike", "forward", "index_price", "t_years", "mark_iv", "mark_price_coin", "bid_price_coin",
    "ask_price_coin", "bid_iv", "ask_iv", "delta", "gamma", "vega", "theta", "open_interest",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChainArrays:
    """One currency's chain at one moment as numpy columns (the fast form of a chain table).

    Same units as :data:`CHAIN_COLUMNS`; ``instrument_name`` is an object or str array, ``is_call``
    replaces ``option_type`` and ``expiry_ns`` (UTC nanoseconds) replaces ``expiry``. Arrays may be
    views into a larger batch: treat them as read-only.
    """

    currency: str
    timestamp_ns: int
    instrument_name: npt.NDArray[np.object_] | npt.NDArray[np.str_]
    is_call: npt.NDArray[np.bool_]
    expiry_ns: npt.NDArray[np.int64]
    strike: FloatArray
    forward: FloatArray
    index_price: FloatArray
    t_years: FloatArray
    mark_iv: FloatArray
    mark_price_coin: FloatArray
    bid_price_coin: FloatArray
    ask_price_coin: FloatArray
    bid_iv: FloatArray
    ask_iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    open_interest: FloatArray
    row_of: Mapping[str, int] | None = None
    """Row of each instrument name, when the producer has it at hand (saves building it)."""

    def __len__(self) -> int:
        return len(self.strike)

    @classmethod
    def from_chain(cls, chain: pd.DataFrame, *, currency: str | None = None) -> ChainArrays:
        """The columns of a chain table holding one currency and one timestamp."""
        if currency is None:
            currencies = pd.unique(chain["currency"])
            if len(currencies) != 1:
                raise ValueError(f"a chain of one currency is needed, got {sorted(map(str, currencies))}")
            currency = str(currencies[0])
        ts = pd.to_datetime(chain["timestamp"], utc=True) if len(chain) else pd.Series([], dtype="int64")
        expiry = pd.DatetimeIndex(pd.to_datetime(chain["expiry"], utc=True)).as_unit("ns").asi8
        return cls(
            currency=currency,
            timestamp_ns=int(pd.DatetimeIndex(ts).as_unit("ns").asi8[0]) if len(chain) else 0,
            instrument_name=chain["instrument_name"].astype(str).to_numpy(dtype=object),
            is_call=(chain["option_type"] == "call").to_numpy(dtype=np.bool_),
            expiry_ns=np.asarray(expiry, dtype=np.int64),
            **{f: chain[f].to_numpy(dtype=np.float64) for f in _FLOAT_FIELDS},  # type: ignore[arg-type]
        )

    def to_chain(self) -> pd.DataFrame:
        """The chain table (:data:`CHAIN_COLUMNS`)."""
        n = len(self)
        return pd.DataFrame(
            {
                "timestamp": pd.to_datetime(np.full(n, self.timestamp_ns, dtype=np.int64), utc=True),
                "instrument_name": np.asarray(self.instrument_name, dtype=object),
                "currency": np.full(n, self.currency, dtype=object),
                "expiry": pd.to_datetime(self.expiry_ns, utc=True),
                "strike": self.strike,
                "option_type": np.where(self.is_call, "call", "put"),
                **{f: getattr(self, f) for f in _FLOAT_FIELDS[1:]},
            }
        )


def _rv_column(chain: pd.DataFrame, rv: float | Mapping[str, float] | None) -> np.ndarray:
    if rv is None:
        return np.full(len(chain), np.nan)
    if isinstance(rv, Mapping):
        return chain["currency"].map(lambda c: rv.get(c, np.nan)).to_numpy(dtype=np.float64)
    return np.full(len(chain), float(rv))


def candidate_columns(
    *,
    is_call: npt.NDArray[np.bool_],
    strike: FloatArray,
    forward: FloatArray,
    index_price: FloatArray,
    t_years: FloatArray,
    bid_price_coin: FloatArray,
    ask_price_coin: FloatArray,
    bid_iv: FloatArray,
    ask_iv: FloatArray,
    mark_iv: FloatArray,
    rv: FloatArray,
    only: AbstractSet[str] | None = None,
) -> dict[str, FloatArray]:
    """The numeric columns of :data:`CANDIDATE_COLUMNS` that are computed (not copied) from a chain.

    ``only`` limits the work to those columns (the rest are left out of the result).
    """

    def want(name: str) -> bool:
        return only is None or name in only

    dte = t_years * black76.DAYS_PER_YEAR
    bid = bid_price_coin
    out: dict[str, FloatArray] = {"dte_days": dte, "premium_coin": bid}
    with np.errstate(divide="ignore", invalid="ignore"):
        premium_usd = bid * index_price
        if want("premium_usd"):
            out["premium_usd"] = premium_usd
        if want("yield_annual"):
            per_year = np.where(dte > 0.0, black76.DAYS_PER_YEAR / dte, np.nan)
            out["yield_annual"] = np.where(is_call, bid, premium_usd / strike) * per_year
        rv_ok = np.where(rv > 0.0, rv, np.nan) if want("ivrv") or want("bid_ivrv") else rv
        if want("rv"):
            out["rv"] = rv
        if want("ivrv"):
            out["ivrv"] = mark_iv / rv_ok
        if want("bid_ivrv"):
            out["bid_ivrv"] = bid_iv / rv_ok
        if want("moneyness_pct") or want("otm_pct"):
            moneyness = strike / forward - 1.0
            out["moneyness_pct"] = 100.0 * moneyness
            out["otm_pct"] = 100.0 * np.where(is_call, moneyness, -moneyness)
        if want("otm_index_pct"):
            above = strike / index_price - 1.0
            out["otm_index_pct"] = 100.0 * np.where(is_call, above, -above)
        spread = ask_price_coin - bid
        if want("spread_coin"):
            out["spread_coin"] = spread
        if want("spread_rel"):
            out["spread_rel"] = spread / (0.5 * (bid + ask_price_coin))
        if want("spread_iv"):
            out["spread_iv"] = ask_iv - bid_iv
    return out


def candidate_table(chain: pd.DataFrame, *, rv: float | Mapping[str, float] | None = None) -> pd.DataFrame:
    """The seller's view of every option in ``chain``, one row each (:data:`CANDIDATE_COLUMNS`).

    ``rv`` is the underlying's trailing realised vol (decimal), one number or one per currency;
    it feeds ``rv``, ``ivrv`` and ``bid_ivrv``. Expired rows (T ≤ 0) get NaN yields. No row is
    dropped: strategies filter (e.g. on ``premium_coin.notna()``, ``delta`` and ``dte_days``).
    """
    mark_iv = chain["mark_iv"].to_numpy(dtype=np.float64)
    strike = chain["strike"].to_numpy(dtype=np.float64)
    fwd = chain["forward"].to_numpy(dtype=np.float64)
    spot = chain["index_price"].to_numpy(dtype=np.float64)
    bid_iv = chain["bid_iv"].to_numpy(dtype=np.float64)
    ask_iv = chain["ask_iv"].to_numpy(dtype=np.float64)
    cols = candidate_columns(
        is_call=(chain["option_type"] == "call").to_numpy(),
        strike=strike,
        forward=fwd,
        index_price=spot,
        t_years=chain["t_years"].to_numpy(dtype=np.float64),
        bid_price_coin=chain["bid_price_coin"].to_numpy(dtype=np.float64),
        ask_price_coin=chain["ask_price_coin"].to_numpy(dtype=np.float64),
        bid_iv=bid_iv,
        ask_iv=ask_iv,
        mark_iv=mark_iv,
        rv=_rv_column(chain, rv),
    )
    copied = {
        "instrument_name": chain["instrument_name"],
        "currency": chain["currency"],
        "option_type": chain["option_type"],
        "expiry": chain["expiry"],
        "strike": strike,
        "delta": chain["delta"].to_numpy(dtype=np.float64),
        "mark_iv": mark_iv,
        "bid_iv": bid_iv,
        "ask_iv": ask_iv,
        "open_interest": chain["open_interest"].to_numpy(dtype=np.float64),
        "theta": chain["theta"].to_numpy(dtype=np.float64),
        "vega": chain["vega"].to_numpy(dtype=np.float64),
        "gamma": chain["gamma"].to_numpy(dtype=np.float64),
        "forward": fwd,
        "index_price": spot,
    }
    merged = {**copied, **cols}
    return pd.DataFrame({c: merged[c] for c in CANDIDATE_COLUMNS}, index=chain.index)
