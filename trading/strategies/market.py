"""The market as strategies and the risk engine see it: per currency, a chain, its candidate table,
a quote lookup and the regime. Read-only: arrays are not writeable and frames are shared copies.

Data contract (from ``trading.quant.candidates``):

* ``chain``: one row per option with the columns of ``CHAIN_COLUMNS`` (prices in coin, strikes and
  forwards in USD, ``t_years`` on a 365-day year, ``delta`` per contract, bid/ask NaN when absent).
* ``candidates``: ``candidate_table(chain, rv=...)``, one row per chain row in the same order, with
  the columns of ``CANDIDATE_COLUMNS`` (``premium_coin`` is the bid, ``yield_annual`` a decimal per
  year, ``spread_rel`` a decimal of the mid, ``otm_index_pct`` percent from the index).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading.quant.candidates import (
    CANDIDATE_COLUMNS,
    CHAIN_COLUMNS,
    ChainArrays,
    candidate_columns,
    candidate_table,
)
from trading.strategies.regime import RegimeAssessment

FloatArray = npt.NDArray[np.float64]

_FAST_COLUMNS = frozenset(
    {"dte_days", "premium_coin", "premium_usd", "yield_annual", "ivrv", "spread_rel", "otm_index_pct"}
)
"""The computed candidate columns strategies read through :attr:`CurrencyMarket.arrays`."""

_ARRAY_COLUMNS = (
    "strike",
    "dte_days",
    "delta",
    "premium_coin",
    "premium_usd",
    "yield_annual",
    "ivrv",
    "spread_rel",
    "open_interest",
    "otm_index_pct",
    "index_price",
)


class MarketDataError(ValueError):
    """A chain or candidate table that breaks the data contract."""


@dataclass(frozen=True, slots=True)
class Quote:
    """One option's market, as needed to price, manage and check a leg. Prices in coin."""

    instrument_name: str
    currency: str
    option_type: str
    strike_usd: float
    expiry: datetime
    bid_coin: float | None
    ask_coin: float | None
    mark_coin: float
    delta: float
    """Forward delta at the mark, per contract (calls > 0, puts < 0)."""
    index_price_usd: float
    dte_days: float
    otm_index_pct: float
    """Distance out of the money from the index, percent (negative: in the money)."""


@dataclass(frozen=True, slots=True)
class CandidateArrays:
    """Read-only float64 columns of the candidate table, shared by every strategy of a tick."""

    names: npt.NDArray[np.str_]
    is_call: npt.NDArray[np.bool_]
    expiry_ns: npt.NDArray[np.int64]
    columns: Mapping[str, FloatArray]

    def __getitem__(self, column: str) -> FloatArray:
        return self.columns[column]


_T = TypeVar("_T", bound=np.generic)


def _readonly(a: npt.NDArray[_T]) -> npt.NDArray[_T]:
    out = np.array(a, copy=True)
    out.flags.writeable = False
    return out


def _none_if_nan(x: float) -> float | None:
    return None if not math.isfinite(x) or x <= 0.0 else float(x)


class CurrencyMarket:
    """One underlying's options at one moment. Build with :meth:`from_chain` or :meth:`from_arrays`.

    Immutable. Strategies read :attr:`arrays` (numpy, read-only) and :meth:`quote`; the ``chain``
    and ``candidates`` tables are built on first use when the market came from arrays.
    """

    currency: str
    observed_at: datetime
    """When the quotes were taken, aware UTC."""
    index_price_usd: float
    regime: RegimeAssessment

    def __init__(
        self,
        currency: str,
        observed_at: datetime,
        index_price_usd: float,
        chain: pd.DataFrame,
        candidates: pd.DataFrame,
        regime: RegimeAssessment,
    ) -> None:
        _check_meta(currency, observed_at, regime)
        missing = [c for c in CHAIN_COLUMNS if c not in chain.columns]
        missing += [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
        if missing:
            raise MarketDataError(f"{currency}: missing columns {sorted(set(missing))}")
        if len(chain) != len(candidates):
            raise MarketDataError(f"{currency}: chain and candidate table differ in length")
        if len(chain) and not (chain["currency"] == currency).all():
            raise MarketDataError(f"{currency}: the chain holds other currencies")
        self.__dict__.update(
            currency=currency,
            observed_at=observed_at,
            index_price_usd=index_price_usd,
            regime=regime,
            chain=chain,
            candidates=candidates,
            _source=None,
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"CurrencyMarket is immutable ({name})")

    def __len__(self) -> int:
        return len(self.arrays.names)

    @classmethod
    def from_chain(
        cls,
        chain: pd.DataFrame,
        *,
        currency: str,
        observed_at: datetime,
        regime: RegimeAssessment,
        rv: float | None = None,
        index_price_usd: float | None = None,
    ) -> CurrencyMarket:
        """The market of ``currency`` from a chain (rows of other currencies are dropped).

        ``rv`` is the trailing realised vol (decimal) for the IV/RV columns; ``index_price_usd``
        defaults to the chain's median ``index_price``.
        """
        own = chain[chain["currency"] == currency].reset_index(drop=True)
        if index_price_usd is None:
            index_price_usd = float(np.nanmedian(own["index_price"].to_numpy())) if len(own) else math.nan
        return cls(
            currency=currency,
            observed_at=observed_at,
            index_price_usd=index_price_usd,
            chain=own,
            candidates=candidate_table(own, rv=rv),
            regime=regime,
        )

    @classmethod
    def from_arrays(
        cls,
        chain: ChainArrays,
        *,
        observed_at: datetime,
        regime: RegimeAssessment,
        rv: float | None = None,
        index_price_usd: float | None = None,
    ) -> CurrencyMarket:
        """The market of ``chain.currency`` from numpy columns, without building tables (fast path).

        Same contract as :meth:`from_chain`; the arrays are shared read-only, not copied.
        """
        _check_meta(chain.currency, observed_at, regime)
        if index_price_usd is None:
            index_price_usd = float(np.nanmedian(chain.index_price)) if len(chain) else math.nan
        n = len(chain)
        rv_arr = np.full(n, np.nan if rv is None else float(rv))
        cols = candidate_columns(
            is_call=chain.is_call,
            strike=chain.strike,
            forward=chain.forward,
            index_price=chain.index_price,
            t_years=chain.t_years,
            bid_price_coin=chain.bid_price_coin,
            ask_price_coin=chain.ask_price_coin,
            bid_iv=chain.bid_iv,
            ask_iv=chain.ask_iv,
            mark_iv=chain.mark_iv,
            rv=rv_arr,
            only=_FAST_COLUMNS,
        )
        shared = {
            "strike": chain.strike,
            "delta": chain.delta,
            "open_interest": chain.open_interest,
            "index_price": chain.index_price,
            "ask_coin": chain.ask_price_coin,
            "mark_coin": chain.mark_price_coin,
            "mark_iv": chain.mark_iv,
            "gamma": chain.gamma,
            "vega": chain.vega,
            "theta": chain.theta,
            "forward": chain.forward,
        }
        columns = {name: _readonly_view(v) for name, v in {**shared, **cols}.items()}
        market = object.__new__(cls)
        market.__dict__.update(
            currency=chain.currency,
            observed_at=observed_at,
            index_price_usd=index_price_usd,
            regime=regime,
            arrays=CandidateArrays(
                names=_readonly_view(cast(npt.NDArray[np.str_], chain.instrument_name)),
                is_call=_readonly_view(chain.is_call),
                expiry_ns=_readonly_view(chain.expiry_ns),
                columns=columns,
            ),
            _source=(chain, rv),
        )
        if chain.row_of is not None:
            market.__dict__["_row_of"] = chain.row_of
        return market

    @cached_property
    def chain(self) -> pd.DataFrame:
        """The chain table (:data:`CHAIN_COLUMNS`)."""
        source, _ = self.__dict__["_source"]
        return cast(pd.DataFrame, source.to_chain())

    @cached_property
    def candidates(self) -> pd.DataFrame:
        """The candidate table (:data:`CANDIDATE_COLUMNS`), one row per chain row."""
        _, rv = self.__dict__["_source"]
        return candidate_table(self.chain, rv=rv)

    @cached_property
    def arrays(self) -> CandidateArrays:
        c = self.candidates
        cols = {name: _readonly(c[name].to_numpy(dtype=np.float64)) for name in _ARRAY_COLUMNS}
        cols["ask_coin"] = _readonly(self.chain["ask_price_coin"].to_numpy(dtype=np.float64))
        cols["mark_coin"] = _readonly(self.chain["mark_price_coin"].to_numpy(dtype=np.float64))
        for name in ("mark_iv", "gamma", "vega", "theta", "forward"):
            cols[name] = _readonly(self.chain[name].to_numpy(dtype=np.float64))
        expiry = pd.DatetimeIndex(c["expiry"]).as_unit("ns").asi8
        return CandidateArrays(
            names=_readonly(c["instrument_name"].to_numpy(dtype=str)),
            is_call=_readonly((c["option_type"] == "call").to_numpy()),
            expiry_ns=_readonly(np.asarray(expiry, dtype=np.int64)),
            columns=cols,
        )

    @cached_property
    def _row_of(self) -> Mapping[str, int]:
        return {str(n): i for i, n in enumerate(self.arrays.names)}

    @cached_property
    def _expiries(self) -> dict[int, datetime]:
        return {}

    def expiry_at(self, row: int) -> datetime:
        """Expiry of a row as an aware UTC datetime."""
        ns = int(self.arrays.expiry_ns[row])
        known = self._expiries.get(ns)
        if known is None:
            known = self._expiries[ns] = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
        return known

    def row(self, instrument_name: str) -> int | None:
        """Row number of an instrument in the chain and candidate table, or ``None``."""
        return self._row_of.get(instrument_name)

    def quote(self, instrument_name: str) -> Quote | None:
        """The instrument's quote, or ``None`` when it is not in this market."""
        i = self.row(instrument_name)
        if i is None:
            return None
        a = self.arrays
        return Quote(
            instrument_name=instrument_name,
            currency=self.currency,
            option_type="call" if a.is_call[i] else "put",
            strike_usd=float(a["strike"][i]),
            expiry=self.expiry_at(i),
            bid_coin=_none_if_nan(float(a["premium_coin"][i])),
            ask_coin=_none_if_nan(float(a["ask_coin"][i])),
            mark_coin=float(a["mark_coin"][i]),
            delta=float(a["delta"][i]),
            index_price_usd=float(a["index_price"][i]),
            dte_days=float(a["dte_days"][i]),
            otm_index_pct=float(a["otm_index_pct"][i]),
        )

    def _twin(self, **changes: object) -> CurrencyMarket:
        """A copy sharing the read-only arrays; tables are copied on write (or built lazily)."""
        twin = object.__new__(CurrencyMarket)
        d = self.__dict__
        shared = ("currency", "observed_at", "index_price_usd", "regime", "_source", "arrays", "_row_of")
        twin.__dict__.update({k: d[k] for k in (*shared, "_expiries") if k in d})
        for table in ("chain", "candidates"):
            if table in d:
                twin.__dict__[table] = d[table].copy(deep=False)
        twin.__dict__.update(changes)
        return twin

    def isolated(self) -> CurrencyMarket:
        """A copy safe to hand to one strategy: frames copied on write, cached arrays shared read-only."""
        return self._twin()

    def with_meta(
        self,
        *,
        observed_at: datetime | None = None,
        regime: RegimeAssessment | None = None,
    ) -> CurrencyMarket:
        """The same quotes with another observation time or regime (cheap: the tables are shared)."""
        if observed_at is not None and observed_at.tzinfo is None:
            raise MarketDataError("observed_at must be an aware UTC datetime")
        if regime is not None and regime.currency != self.currency:
            raise MarketDataError(f"{self.currency}: the regime is for {regime.currency}")
        return self._twin(observed_at=observed_at or self.observed_at, regime=regime or self.regime)


def _check_meta(currency: str, observed_at: datetime, regime: RegimeAssessment) -> None:
    if observed_at.tzinfo is None:
        raise MarketDataError("observed_at must be an aware UTC datetime")
    if regime.currency != currency:
        raise MarketDataError(f"{currency}: the regime is for {regime.currency}")


def _readonly_view(a: npt.NDArray[_T]) -> npt.NDArray[_T]:
    if not a.flags.writeable:
        return a
    out = a.view()
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class MarketSnapshot:
    """Every underlying's market at one tick, by currency."""

    markets: Mapping[str, CurrencyMarket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, market in self.markets.items():
            if key != market.currency:
                raise MarketDataError(f"market under {key!r} is for {market.currency!r}")
        object.__setattr__(self, "markets", dict(self.markets))

    def get(self, currency: str) -> CurrencyMarket | None:
        return self.markets.get(currency)

    def __iter__(self) -> Iterator[str]:
        return iter(self.markets)

    def quote(self, currency: str, instrument_name: str) -> Quote | None:
        market = self.markets.get(currency)
        return None if market is None else market.quote(instrument_name)

    def isolated(self) -> MarketSnapshot:
        return MarketSnapshot({c: m.isolated() for c, m in self.markets.items()})
