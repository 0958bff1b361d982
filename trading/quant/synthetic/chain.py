"""Synthetic Deribit-like option chains along an index path, generated in daily batches.

At each time step the chain is what Deribit would list then: the expiries of
:func:`trading.quant.instruments.listed_expiries` and, per expiry, the strikes of
:func:`trading.quant.instruments.strike_grid` around the forward, kept for the expiry's life and
extended when the forward has moved 3 % (strikes left far outside the new range drop out).
Listings change only at 08:00 UTC (expiry, new series), so each day from 08:00 to 08:00 is one
batch with one instrument set, laid out at the batch's first step (Deribit also adds strikes
intraday when the index runs far; this generator waits for the next 08:00). Prices, greeks and
quote IVs are computed for all rows of a batch at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.signal import lfilter
from scipy.special import ndtri

from trading.quant import black76
from trading.quant.candidates import ChainArrays
from trading.quant.implied_vol import implied_vol
from trading.quant.instruments import format_expiry_code, format_strike, listed_expiries, strike_grid
from trading.quant.synthetic.config import SyntheticChainConfig
from trading.quant.synthetic.surface import (
    anchor_with_memory,
    half_spread_coin,
    long_run_vol_level,
    round_to_tick,
    ssvi_implied_vol,
    ssvi_raw_params,
    term_structure_atm_vol,
    tick_size,
    trailing_log_memory,
    weekend_variance_factor,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_NS_PER_YEAR = black76.SECONDS_PER_YEAR * 1e9
_NS_PER_DAY = 86_400 * 10**9
_EXPIRY_OFFSET_NS = 8 * 3_600 * 10**9  # listings change at 08:00 UTC

ROW_FIELDS: tuple[str, ...] = (
    "expiry_ns", "strike", "is_call", "forward", "t_years", "mark_iv", "mark_price_coin", "bid_price_coin",
    "ask_price_coin", "bid_iv", "ask_iv", "delta", "gamma", "vega", "theta", "open_interest",
)  # fmt: skip


@dataclass(frozen=True)
class SyntheticChain:
    """Columnar chains: one entry per (time step, listed option), rows grouped by step.

    Per step (n_steps,): ``timestamps`` (datetime64[ns], UTC), ``index_price`` (USD),
    ``step_offsets`` (n_steps + 1,): the rows of step i are ``step_offsets[i]:step_offsets[i+1]``.
    Per row (N,): ``step`` (index into the step arrays), ``instrument`` (index into ``names``),
    ``expiry_ns`` (UTC ns), ``strike`` (USD), ``is_call``, ``forward`` (USD), ``t_years``,
    ``mark_iv``/``bid_iv``/``ask_iv`` (decimal, NaN without a quote), ``mark_price_coin``,
    ``bid_price_coin``/``ask_price_coin`` (coin, ticked, NaN: no bid), ``delta`` (coin),
    ``gamma`` (per USD), ``vega`` (USD per vol point), ``theta`` (USD per day),
    ``open_interest`` (contracts). ``atm_anchor_vol`` (n_steps,) is the 30-day ATM IV the surface
    was built on and ``realized_vol`` (n_steps,) the trailing realised vol (decimal).
    """

    currency: str
    timestamps: npt.NDArray[np.datetime64]
    index_price: FloatArray
    realized_vol: FloatArray
    atm_anchor_vol: FloatArray
    step_offsets: IntArray
    step: IntArray
    instrument: IntArray
    names: npt.NDArray[np.object_]
    expiry_ns: IntArray
    strike: FloatArray
    is_call: BoolArray
    forward: FloatArray
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

    def __len__(self) -> int:
        return len(self.step)

    def _frame(self, rows: slice | IntArray) -> pd.DataFrame:
        steps = self.step[rows]
        expiry = pd.to_datetime(self.expiry_ns[rows], utc=True)
        is_call = self.is_call[rows]
        return pd.DataFrame(
            {
                "timestamp": pd.to_datetime(self.timestamps[steps], utc=True),
                "instrument_name": pd.Categorical.from_codes(
                    self.instrument[rows], categories=pd.Index(self.names)
                ),
                "currency": self.currency,
                "expiry": expiry,
                "strike": self.strike[rows],
                "option_type": np.where(is_call, "call", "put"),
                "forward": self.forward[rows],
                "index_price": self.index_price[steps],
                **{f: getattr(self, f)[rows] for f in ROW_FIELDS[4:]},
            }
        )

    def at(self, i: int) -> pd.DataFrame:
        """The chain of step ``i`` as a chain table (``trading.quant.candidates.CHAIN_COLUMNS``)."""
        return self._frame(slice(int(self.step_offsets[i]), int(self.step_offsets[i + 1])))

    def step_arrays(self, i: int) -> ChainArrays:
        """The chain of step ``i`` as columns (views into this batch, no copy)."""
        rows = slice(int(self.step_offsets[i]), int(self.step_offsets[i + 1]))
        return ChainArrays(
            currency=self.currency,
            timestamp_ns=int(self.timestamps[i].astype("datetime64[ns]").astype(np.int64)),
            instrument_name=(
                self._shared_names if self._shared_rows is not None else self.names[self.instrument[rows]]
            ),
            is_call=self.is_call[rows],
            expiry_ns=self.expiry_ns[rows],
            strike=self.strike[rows],
            forward=self.forward[rows],
            index_price=np.broadcast_to(self.index_price[i], (rows.stop - rows.start,)),
            **{f: getattr(self, f)[rows] for f in ROW_FIELDS[4:]},
            row_of=self._shared_rows,
        )

    @cached_property
    def _shared_names(self) -> npt.NDArray[np.object_]:
        """Names of a step's rows when every step of this batch lists the same options."""
        return np.array(list(self._shared_rows or ()), dtype=object)

    @cached_property
    def _shared_rows(self) -> dict[str, int] | None:
        """Row of each name within a step, when every step of this batch lists the same options
        in the same order (one listing per day), else ``None``."""
        sizes = np.diff(self.step_offsets)
        steps = np.flatnonzero(sizes)
        if len(steps) == 0 or np.any(sizes[steps] != sizes[steps[0]]):
            return None
        first = int(self.step_offsets[steps[0]])
        n = int(sizes[steps[0]])
        codes = self.instrument[first : first + len(steps) * n]
        if len(codes) != len(steps) * n or not np.all(codes.reshape(len(steps), n) == codes[:n]):
            return None
        return dict(zip(self.names[codes[:n]].tolist(), range(n), strict=True))

    def to_frame(self) -> pd.DataFrame:
        """All rows as one chain table (``instrument_name`` categorical)."""
        return self._frame(slice(None))


def _ou(rng: np.random.Generator, n: int, sd: float, phi: float) -> FloatArray:
    """Stationary AR(1) with standard deviation ``sd`` and lag-one coefficient ``phi``."""
    if sd == 0.0 or n == 0:
        return np.zeros(n)
    shocks = rng.standard_normal(n) * sd * np.sqrt(1.0 - phi * phi)
    shocks[0] = rng.standard_normal() * sd
    return np.asarray(lfilter([1.0], [1.0, -phi], shocks), dtype=np.float64)


def _trailing(ts_ns: IntArray, window_ns: int) -> IntArray:
    """Index of the first step inside the trailing window ending at each step."""
    return np.searchsorted(ts_ns, ts_ns - window_ns, side="left").astype(np.int64)


def trailing_realized_vol(
    ts_ns: IntArray, price: FloatArray, *, window_days: float, min_returns: int
) -> FloatArray:
    """Zero-mean close-to-close realised vol over a trailing time window (annualised decimal).

    Σ r² over the returns inside the window divided by the elapsed time in years, so uneven steps
    are handled; NaN where fewer than ``min_returns`` returns are available.
    """
    r = np.diff(np.log(price))
    cs = np.concatenate([[0.0], np.cumsum(r * r)])
    i = np.arange(len(price))
    j = _trailing(ts_ns, int(window_days * _NS_PER_DAY))
    elapsed = (ts_ns - ts_ns[j]) / _NS_PER_YEAR
    with np.errstate(divide="ignore", invalid="ignore"):
        rv = np.sqrt((cs[i] - cs[j]) / elapsed)
    return np.where(i - j >= min_returns, rv, np.nan)


def _uniform_hash(*keys: npt.ArrayLike) -> FloatArray:
    """Deterministic uniforms in (0, 1) from integer keys (splitmix64 finaliser)."""
    x = np.zeros(np.broadcast(*keys).shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in keys:
            x = (x ^ np.asarray(k).astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
            x ^= x >> np.uint64(30)
            x *= np.uint64(0xBF58476D1CE4E5B9)
            x ^= x >> np.uint64(27)
            x *= np.uint64(0x94D049BB133111EB)
            x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)


@dataclass(frozen=True)
class _StepState:
    ts_ns: IntArray
    spot: FloatArray
    rv: FloatArray
    anchor: FloatArray
    long_run: FloatArray
    basis: FloatArray
    skew_shift: FloatArray


def _step_state(
    ts_ns: IntArray,
    spot: FloatArray,
    dvol: FloatArray | None,
    cfg: SyntheticChainConfig,
    rng: np.random.Generator,
) -> _StepState:
    n = len(ts_ns)
    step_ns = float(np.median(np.diff(ts_ns))) if n > 1 else 3.6e12
    rv = trailing_realized_vol(ts_ns, spot, window_days=cfg.rv_window_days, min_returns=cfg.rv_min_returns)
    if dvol is not None:
        anchor = dvol / 100.0 * cfg.dvol_scale
    else:
        anchor = np.where(np.isfinite(rv), rv * cfg.vrp_factor, cfg.fallback_vol)
    memory = None
    if cfg.long_run_memory_days is not None:  # of the noise-free anchor, warm-up fallback left out
        known = anchor if dvol is not None else np.where(np.isfinite(rv), anchor, np.nan)
        memory = trailing_log_memory(ts_ns, known, ts_ns, halflife_days=cfg.long_run_memory_days)
        anchor = anchor_with_memory(anchor, memory, cfg)
    hl_steps = cfg.iv_noise_halflife_hours * 3.6e12 / step_ns
    anchor = np.clip(
        anchor * np.exp(_ou(rng, n, cfg.iv_noise, 0.5 ** (1.0 / hl_steps))), cfg.iv_min, cfg.iv_max
    )
    if cfg.long_run_vol is not None:
        long_run = np.full(n, cfg.long_run_vol)
    elif memory is not None:
        long_run = np.where(np.isfinite(memory), cfg.long_run_memory_ratio * memory, anchor)
    else:
        slow = trailing_realized_vol(
            ts_ns, spot, window_days=cfg.long_run_rv_days, min_returns=cfg.rv_min_returns
        )
        long_run = np.where(np.isfinite(slow), slow * cfg.vrp_factor, anchor)
    long_run = long_run_vol_level(long_run, anchor, cfg)
    hl_steps = cfg.basis_halflife_hours * 3.6e12 / step_ns
    basis = cfg.basis_annual + _ou(rng, n, cfg.basis_noise, 0.5 ** (1.0 / hl_steps))
    back = _trailing(ts_ns, int(cfg.skew_momentum_days * _NS_PER_DAY))
    skew_shift = np.clip(cfg.skew_momentum_beta * np.log(spot / spot[back]), -0.2, 0.2)
    return _StepState(ts_ns, spot, rv, anchor, long_run, basis, skew_shift)


class _Names:
    """Instrument names, each formatted once: key (expiry ns, strike, is_call) -> global code."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.codes: dict[tuple[int, float, bool], int] = {}
        self.names: list[str] = []
        self._expiry_codes: dict[int, str] = {}

    def lookup(self, expiry_ns: IntArray, strike: FloatArray, is_call: BoolArray) -> IntArray:
        out = np.empty(expiry_ns.size, dtype=np.int64)
        for i, key in enumerate(zip(expiry_ns.tolist(), strike.tolist(), is_call.tolist(), strict=True)):
            code = self.codes.get(key)
            if code is None:
                e, k, c = key
                exp = self._expiry_codes.get(e)
                if exp is None:
                    exp = self._expiry_codes[e] = format_expiry_code(pd.Timestamp(e, unit="ns"))
                code = self.codes[key] = len(self.names)
                self.names.append(f"{self.currency}-{exp}-{format_strike(k)}-{'C' if c else 'P'}")
            out[i] = code
        return out


class _Listing:
    """Listed instruments over time. Strikes of an expiry are kept once listed while they stay
    inside the current grid's range (an open position near the money keeps its instrument); the
    grid is laid out again only when the forward has moved more than ``REGRID`` in log terms, so
    ``strike_grid`` runs a few times per expiry, not every day."""

    REGRID = 0.03

    def __init__(self, currency: str, names: _Names, max_dte_days: float | None = None) -> None:
        self.currency = currency
        self.names = names
        self.max_ns = None if max_dte_days is None else int(max_dte_days * _NS_PER_DAY)
        self.grids: dict[int, tuple[float, FloatArray, IntArray | None]] = {}

    def at(self, when_ns: int, spot: float, basis: float) -> tuple[IntArray, FloatArray, BoolArray, IntArray]:
        """Instruments listed at ``when_ns``: (expiry_ns, strike, is_call, name code).

        A call and a put per strike.
        """
        now = pd.Timestamp(when_ns, unit="ns", tz="UTC").to_pydatetime()
        exp_ns, strikes, codes = [], [], []
        live: dict[int, tuple[float, FloatArray, IntArray | None]] = {}
        for expiry in listed_expiries(now):
            e_ns = pd.Timestamp(expiry).value
            t = (e_ns - when_ns) / _NS_PER_YEAR
            fwd = spot * float(np.exp(basis * t))
            grid_f, grid, code = self.grids.get(e_ns, (np.nan, np.empty(0), None))
            if not abs(np.log(fwd / grid_f)) <= self.REGRID:
                new = strike_grid(self.currency, fwd, t)
                kept = grid[(grid >= new[0]) & (grid <= new[-1])]  # far strikes left behind drop out
                grid = np.union1d(kept, new)
                grid_f = fwd
                code = None
            # beyond the DTE cap the strikes are still laid out (so the listing stays the same as
            # without the cap when the expiry comes nearer) but not named or emitted
            if self.max_ns is None or e_ns - when_ns <= self.max_ns:
                if code is None:
                    code = self.names.lookup(
                        np.full(2 * grid.size, e_ns), np.repeat(grid, 2), np.tile([True, False], grid.size)
                    )
                exp_ns.append(np.full(grid.size, e_ns, dtype=np.int64))
                strikes.append(grid)
                codes.append(code)
            live[e_ns] = (grid_f, grid, code)
        self.grids = live
        e = np.concatenate(exp_ns)
        k = np.concatenate(strikes)
        return np.repeat(e, 2), np.repeat(k, 2), np.tile([True, False], e.size), np.concatenate(codes)


def _price_batch(
    st: _StepState,
    steps: IntArray,
    listing: tuple[IntArray, FloatArray, BoolArray],
    cfg: SyntheticChainConfig,
    seed: int,
    quote_ivs: bool,
) -> dict[str, npt.NDArray[np.generic]]:
    exp_i, k_i, c_i = listing
    n_i = exp_i.size
    # surface per (step, expiry): the slices are few, the rows many
    expiries, exp_code = np.unique(exp_i, return_inverse=True)
    ps = np.repeat(steps, expiries.size)
    t_pair = (np.tile(expiries, steps.size) - st.ts_ns[ps]) / _NS_PER_YEAR
    atm_pair = term_structure_atm_vol(t_pair, anchor_vol=st.anchor[ps], long_run_vol=st.long_run[ps], cfg=cfg)
    if cfg.weekend_variance_weight != 1.0:
        atm_pair = atm_pair * weekend_variance_factor(st.ts_ns[ps], np.tile(expiries, steps.size), cfg)
    params_pair = ssvi_raw_params(t_pair, atm_pair, st.skew_shift[ps], cfg)
    fwd_pair = st.spot[ps] * np.exp(st.basis[ps] * t_pair)
    pair = (np.arange(steps.size)[:, None] * expiries.size + exp_code[None, :]).ravel()

    s = np.repeat(steps, n_i)
    e = np.tile(exp_i, steps.size)
    strike = np.tile(k_i, steps.size)
    is_call = np.tile(c_i, steps.size)
    t, fwd, atm, p = t_pair[pair], fwd_pair[pair], atm_pair[pair], params_pair[pair]
    k = np.log(strike / fwd)
    iv = ssvi_implied_vol(k, t, p, cfg)
    g = black76.price_and_greeks(fwd, strike, t, iv, is_call, backend="numba")
    mark = g.price_coin
    z = k / (atm * np.sqrt(t))
    half = half_spread_coin(t_years=t, z=z, vega_usd=g.vega, forward=fwd, delta=g.delta, cfg=cfg)
    half = np.maximum(half, 0.5 * cfg.min_spread_ticks * tick_size(mark))
    bid = round_to_tick(mark - half, direction="down")
    bid = np.where(bid >= 0.0001 - 1e-12, bid, np.nan)
    ask = np.maximum(round_to_tick(mark + half, direction="up"), 0.0001)
    bid_iv = np.full(s.size, np.nan)
    ask_iv = np.full(s.size, np.nan)
    if quote_ivs:
        has_bid = np.flatnonzero(np.isfinite(bid))
        prices = np.concatenate([bid[has_bid], ask])
        rows = np.concatenate([has_bid, np.arange(s.size)])
        both = implied_vol(prices, fwd[rows], strike[rows], t[rows], is_call[rows], unit="coin").iv
        bid_iv[has_bid] = both[: has_bid.size]
        ask_iv = both[has_bid.size :]
    # open interest: a bell in z times a per-instrument lognormal factor (stable across steps)
    u = _uniform_hash(np.full(n_i, seed), exp_i // _NS_PER_DAY, np.round(k_i * 100).astype(np.int64), c_i)
    noise = np.tile(cfg.oi_noise * ndtri(u) - 0.5 * cfg.oi_noise**2, steps.size)
    oi = cfg.oi_atm_contracts * np.exp(-0.5 * (z / cfg.oi_width) ** 2 + noise)
    return {
        "step": s,
        "expiry_ns": e,
        "strike": strike,
        "is_call": is_call,
        "forward": fwd,
        "t_years": t,
        "mark_iv": iv,
        "mark_price_coin": mark,
        "bid_price_coin": bid,
        "ask_price_coin": ask,
        "bid_iv": bid_iv,
        "ask_iv": ask_iv,
        "delta": g.delta,
        "gamma": g.gamma,
        "vega": g.vega,
        "theta": g.theta,
        "open_interest": np.round(oi, 1),
    }


def _batches(
    timestamps: pd.Index,
    index_price: npt.ArrayLike,
    config: SyntheticChainConfig | None,
    dvol: npt.ArrayLike | None,
    seed: int,
    quote_ivs: bool,
    max_dte_days: float | None = None,
    first_step: int = 0,
) -> Iterator[
    tuple[_StepState, npt.NDArray[np.datetime64], dict[str, npt.NDArray[np.generic]], IntArray, _Names]
]:
    cfg = config or SyntheticChainConfig()
    idx = pd.DatetimeIndex(timestamps)
    if idx.tz is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    ts_ns = idx.tz_convert("UTC").as_unit("ns").asi8.astype(np.int64)
    spot = np.asarray(index_price, dtype=np.float64)
    if spot.shape != ts_ns.shape or not np.all(np.diff(ts_ns) > 0) or not np.all(spot > 0):
        raise ValueError("need increasing timestamps and positive index prices of the same length")
    dv = None if dvol is None else np.asarray(dvol, dtype=np.float64)
    st = _step_state(ts_ns, spot, dv, cfg, np.random.default_rng(seed))
    day = (ts_ns - _EXPIRY_OFFSET_NS) // _NS_PER_DAY
    bounds = np.flatnonzero(np.diff(day)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(ts_ns)]])
    stamps = idx.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy()  # naive UTC datetime64[ns]
    names = _Names(cfg.currency)
    listings = _Listing(cfg.currency, names, max_dte_days)
    for a, b in zip(starts, ends, strict=True):
        e_ns, strike, is_call, codes = listings.at(int(ts_ns[a]), float(spot[a]), float(st.basis[a]))
        if b <= first_step:
            continue  # listed (the strikes carry over) but not priced
        cols = _price_batch(
            st, np.arange(a, b, dtype=np.int64), (e_ns, strike, is_call), cfg, seed, quote_ivs
        )
        yield st, stamps, cols, codes, names


def _offsets(step: IntArray, n_steps: int) -> IntArray:
    return np.concatenate([[0], np.cumsum(np.bincount(step, minlength=n_steps))]).astype(np.int64)


def iter_synthetic_chains(
    timestamps: pd.Index,
    index_price: npt.ArrayLike,
    *,
    config: SyntheticChainConfig | None = None,
    dvol: npt.ArrayLike | None = None,
    seed: int = 0,
    quote_ivs: bool = True,
    max_dte_days: float | None = None,
    first_step: int = 0,
) -> Iterator[SyntheticChain]:
    """Chains along an index path, one :class:`SyntheticChain` per listing day (08:00 to 08:00 UTC).

    ``timestamps`` (aware, increasing, evenly spaced) and ``index_price`` (USD) define the path;
    ``dvol`` (percent, like Deribit's DVOL) replaces realised vol * VRP as the 30-day ATM anchor
    when given. Realised vol is computed from the path itself, so include a warm-up of
    ``rv_window_days`` before the steps you need (earlier steps use ``fallback_vol``).
    ``quote_ivs=False`` skips inverting bid and ask to IVs (NaN then), the most expensive part.
    ``max_dte_days`` lists only the expiries at most that far away at each listing day (a
    consumer that never looks further, such as a backtest of short-dated strategies, saves the
    rest; the expiries kept are priced exactly as in the full chain). ``first_step`` skips the
    listing days that end before that step (a warm-up needed only for realised vol): they are not
    yielded, and the days after are priced exactly as without it.
    Each batch carries the step arrays of the whole path; its rows cover its own steps only.
    Deterministic for a given seed.
    """
    for st, stamps, cols, codes, names in _batches(
        timestamps, index_price, config, dvol, seed, quote_ivs, max_dte_days, first_step
    ):
        local, local_codes = np.unique(codes, return_inverse=True)
        n_steps = len(cols["step"]) // max(len(codes), 1)
        yield SyntheticChain(
            currency=names.currency,
            timestamps=stamps,
            index_price=st.spot,
            realized_vol=st.rv,
            atm_anchor_vol=st.anchor,
            step_offsets=_offsets(cols["step"].astype(np.int64), len(stamps)),
            instrument=np.tile(local_codes.astype(np.int64), n_steps),
            names=np.array([names.names[c] for c in local], dtype=object),
            **cols,  # type: ignore[arg-type]
        )


def synthetic_chains(
    timestamps: pd.Index,
    index_price: npt.ArrayLike,
    *,
    config: SyntheticChainConfig | None = None,
    dvol: npt.ArrayLike | None = None,
    seed: int = 0,
    quote_ivs: bool = True,
    max_dte_days: float | None = None,
) -> SyntheticChain:
    """All chains of :func:`iter_synthetic_chains` in one :class:`SyntheticChain` (same arguments)."""
    parts: dict[str, list[npt.NDArray[np.generic]]] = {f: [] for f in ("step", "instrument", *ROW_FIELDS)}
    last = None
    for st, stamps, cols, codes, names in _batches(
        timestamps, index_price, config, dvol, seed, quote_ivs, max_dte_days
    ):
        for f, v in cols.items():
            parts[f].append(v)
        parts["instrument"].append(np.tile(codes, len(cols["step"]) // max(len(codes), 1)))
        last = (st, stamps, names)
    if last is None:
        raise ValueError("empty path")
    st, stamps, names = last
    cols_all = {f: np.concatenate(v) for f, v in parts.items()}
    return SyntheticChain(
        currency=names.currency,
        timestamps=stamps,
        index_price=st.spot,
        realized_vol=st.rv,
        atm_anchor_vol=st.anchor,
        step_offsets=_offsets(cols_all["step"].astype(np.int64), len(stamps)),
        names=np.array(names.names, dtype=object),
        **cols_all,
    )
