"""The synthetic model's price for real options: the generator's surface without its noise.

For a snapshot at time t the model knows the forward of each expiry (the snapshot's
``underlying``), and from the :class:`~backtests.calibration.history.IndexHistory` only what was
known at t: realised vol, DVOL and the trailing return. It never reads an option's market IV or
prices. The 30-day ATM anchor is DVOL/100 · ``dvol_scale`` when a DVOL is known (the frame's
``dvol`` column first, then the history's), else trailing realised vol · ``vrp_factor``, else the
generator's ``fallback_vol``. The anchor's memory (a time-EWMA of the same source, DVOL or
realised vol, over the history) sets the far level when ``long_run_memory_days`` is set. From
there the functions of ``trading.quant.synthetic.surface`` (term structure, weekend factor, SSVI
slices) give every option's IV exactly as the generator does with its IV and basis noise at zero
(their median).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtests.calibration.history import HistoryState, IndexHistory, history_state
from backtests.calibration.params import CalibrationError, CalibrationParams
from trading.quant import black76
from trading.quant.synthetic import SyntheticChainConfig
from trading.quant.synthetic.surface import (
    anchor_with_memory,
    long_run_vol_level,
    ssvi_implied_vol,
    ssvi_raw_params,
    term_structure_atm_vol,
    weekend_variance_factor,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MODEL_COLUMNS: dict[str, str] = {
    "model_iv": "the model's IV, decimal (NaN: expired, T <= 0)",
    "model_price_coin": "Black-76 price at the model IV on the snapshot's forward, coin",
    "model_atm_vol": "the model's ATM vol of the option's expiry, decimal",
    "anchor_vol": "the 30-day ATM anchor of the snapshot, decimal",
    "anchor_source": "'dvol', 'realised_vol' or 'fallback'",
}
"""Columns of :func:`model_ivs`."""

ANCHOR_SOURCES = ("dvol", "realised_vol", "fallback")
_REQUIRED = ("timestamp", "currency", "expiry_datetime", "strike", "option_type", "underlying", "index_price")


@dataclass(frozen=True)
class Rows:
    """Options of one or several snapshots of one currency, with what the model knows about each.

    Per snapshot (n_snap,): ``state``. Per (snapshot, expiry) slice: ``slice_snap``, ``slice_t``.
    Per option: ``slice_id``, ``t_years``, ``log_moneyness`` (ln K/F), ``forward``, ``strike``,
    ``is_call``.
    """

    state: HistoryState
    frame_dvol: FloatArray
    times_ns: IntArray
    slice_snap: IntArray
    slice_t: FloatArray
    slice_expiry_ns: IntArray
    slice_id: IntArray
    t_years: FloatArray
    log_moneyness: FloatArray
    forward: FloatArray
    strike: FloatArray
    is_call: BoolArray

    @property
    def snap(self) -> IntArray:
        return self.slice_snap[self.slice_id]

    def subset(self, mask: npt.NDArray[np.bool_]) -> Rows:
        """The same snapshots and slices with only the options where ``mask`` is true."""
        return replace(
            self,
            slice_id=self.slice_id[mask],
            t_years=self.t_years[mask],
            log_moneyness=self.log_moneyness[mask],
            forward=self.forward[mask],
            strike=self.strike[mask],
            is_call=self.is_call[mask],
        )


def check_frame(frame: pd.DataFrame, currency: str) -> pd.Timestamp:
    """The snapshot time of ``frame``, after checking it is one snapshot of ``currency``."""
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise CalibrationError(
            f"a snapshot frame needs the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )
    if len(frame) == 0:
        raise CalibrationError("empty snapshot frame")
    stamps = pd.DatetimeIndex(frame["timestamp"])
    if stamps.tz is None:
        raise CalibrationError("snapshot timestamps must be timezone-aware (UTC)")
    if stamps.nunique() != 1:
        raise CalibrationError(
            f"a frame must be one snapshot, this one has {stamps.nunique()} timestamps; "
            "split it by timestamp first"
        )
    currencies = {str(c) for c in pd.unique(frame["currency"].to_numpy(dtype=object))}
    if currencies != {currency}:
        raise CalibrationError(
            f"the parameters and history are for {currency}, the snapshot at {stamps[0]} holds "
            f"{', '.join(sorted(currencies))}"
        )
    return pd.Timestamp(stamps[0])


def prepare_rows(frames: list[pd.DataFrame], *, history: IndexHistory, cfg: SyntheticChainConfig) -> Rows:
    """The model's inputs for the options of ``frames`` (each one snapshot of ``cfg.currency``)."""
    if history.currency != cfg.currency:
        raise CalibrationError(f"the history is for {history.currency}, the parameters for {cfg.currency}")
    times = np.array([check_frame(f, cfg.currency).value for f in frames], dtype=np.int64)
    state = history_state(history, times, cfg)
    n_rows = np.array([len(f) for f in frames], dtype=np.int64)
    snap = np.repeat(np.arange(len(frames), dtype=np.int64), n_rows)
    frame_dvol = np.array(
        [
            float(np.nanmedian(d))
            if "dvol" in f.columns and np.isfinite(d := f["dvol"].to_numpy(float)).any()
            else np.nan
            for f in frames
        ]
    )

    def col(name: str) -> FloatArray:
        return np.concatenate([f[name].to_numpy(dtype=np.float64) for f in frames]) if frames else np.zeros(0)

    expiry_ns = (
        np.concatenate([pd.DatetimeIndex(f["expiry_datetime"]).as_unit("ns").asi8 for f in frames])
        if frames
        else np.zeros(0, dtype=np.int64)
    )
    t_years = (expiry_ns - times[snap]) / black76.SECONDS_PER_YEAR / 1e9
    strike = col("strike")
    if not (np.isfinite(strike) & (strike > 0)).all():
        raise CalibrationError("every option needs a positive strike (USD)")
    forward = col("underlying")
    no_fwd = ~(np.isfinite(forward) & (forward > 0))
    if no_fwd.any():  # a forward the snapshot lacks comes from the index and the model's mean basis
        forward = np.where(
            no_fwd, col("index_price") * np.exp(cfg.basis_annual * np.maximum(t_years, 0.0)), forward
        )
    kinds = np.concatenate([f["option_type"].astype(str).str.lower().to_numpy() for f in frames])
    if not np.isin(kinds, ["call", "put"]).all():
        raise CalibrationError("option_type must be 'call' or 'put'")
    keys = snap * (1 << 40) + (expiry_ns // 10**9 - 1_000_000_000)  # (snapshot, expiry second)
    _, first, slice_id = np.unique(keys, return_index=True, return_inverse=True)
    return Rows(
        state=state,
        frame_dvol=frame_dvol,
        times_ns=times,
        slice_snap=snap[first],
        slice_t=t_years[first],
        slice_expiry_ns=expiry_ns[first].astype(np.int64),
        slice_id=slice_id.astype(np.int64),
        t_years=t_years,
        log_moneyness=np.log(strike / forward),
        forward=forward,
        strike=strike,
        is_call=kinds == "call",
    )


@dataclass(frozen=True)
class Surface:
    """The model's IVs for :class:`Rows`: per option, per slice and per snapshot."""

    iv: FloatArray
    slice_atm: FloatArray
    anchor: FloatArray
    anchor_source: npt.NDArray[np.str_]


def anchors(rows: Rows, cfg: SyntheticChainConfig) -> tuple[FloatArray, npt.NDArray[np.str_], FloatArray]:
    """Per snapshot: the 30-day ATM anchor (decimal), where it came from, and its memory (decimal,
    NaN when unknown or ``long_run_memory_days`` is None)."""
    dvol = np.where(np.isfinite(rows.frame_dvol), rows.frame_dvol, rows.state.dvol)
    has_dvol = np.isfinite(dvol)
    has_rv = np.isfinite(rows.state.rv)
    anchor = np.where(
        has_dvol,
        dvol / 100.0 * cfg.dvol_scale,
        np.where(has_rv, rows.state.rv * cfg.vrp_factor, cfg.fallback_vol),
    )
    source = np.where(has_dvol, "dvol", np.where(has_rv, "realised_vol", "fallback"))
    memory = np.where(
        has_dvol,
        rows.state.dvol_memory * cfg.dvol_scale,
        np.where(has_rv, rows.state.rv_memory * cfg.vrp_factor, np.nan),
    )
    anchor = anchor_with_memory(anchor, memory, cfg)
    return np.clip(anchor, cfg.iv_min, cfg.iv_max), source, memory


def surface(rows: Rows, cfg: SyntheticChainConfig) -> Surface:
    """The generator's surface with its noise at zero, for ``rows``."""
    anchor, source, memory = anchors(rows, cfg)
    if cfg.long_run_vol is not None:
        long_run = np.full(anchor.size, cfg.long_run_vol)
    elif cfg.long_run_memory_days is not None:
        long_run = np.where(np.isfinite(memory), cfg.long_run_memory_ratio * memory, anchor)
    else:
        slow = rows.state.slow_rv
        long_run = np.where(np.isfinite(slow), slow * cfg.vrp_factor, anchor)
    long_run = long_run_vol_level(long_run, anchor, cfg)
    shift = np.clip(cfg.skew_momentum_beta * rows.state.trailing_return, -0.2, 0.2)
    s = rows.slice_snap
    live = rows.slice_t > 0.0
    t = np.where(live, rows.slice_t, 1.0)
    atm = term_structure_atm_vol(t, anchor_vol=anchor[s], long_run_vol=long_run[s], cfg=cfg)
    if cfg.weekend_variance_weight != 1.0:
        atm = atm * weekend_variance_factor(rows.times_ns[s], rows.slice_expiry_ns, cfg)
    raw = ssvi_raw_params(t, atm, shift[s], cfg)
    t_row = np.where(rows.t_years > 0.0, rows.t_years, 1.0)
    iv = ssvi_implied_vol(rows.log_moneyness, t_row, raw[rows.slice_id], cfg)
    iv = np.where(rows.t_years > 0.0, iv, np.nan)
    return Surface(iv=iv, slice_atm=np.where(live, atm, np.nan), anchor=anchor, anchor_source=source)


def model_ivs(frame: pd.DataFrame, *, params: CalibrationParams, history: IndexHistory) -> pd.DataFrame:
    """The model's IV and coin price for each option of one snapshot frame (same index, the
    columns of :data:`MODEL_COLUMNS`), from the forward, the strike, the expiry and what
    ``history`` knew at the snapshot time. The frame's IVs and prices are never read."""
    cfg = params.chain_config()
    rows = prepare_rows([frame], history=history, cfg=cfg)
    surf = surface(rows, cfg)
    price = black76.price_coin(
        rows.forward, rows.strike, np.maximum(rows.t_years, 0.0), surf.iv, rows.is_call
    )
    return pd.DataFrame(
        {
            "model_iv": surf.iv,
            "model_price_coin": np.where(np.isfinite(surf.iv), price, np.nan),
            "model_atm_vol": surf.slice_atm[rows.slice_id],
            "anchor_vol": surf.anchor[rows.snap],
            "anchor_source": surf.anchor_source[rows.snap],
        },
        index=frame.index,
    )
