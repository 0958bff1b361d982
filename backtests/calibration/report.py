"""The model's prices against real marks: which options are compared, the errors, the buckets.

Which options are compared (the rest are counted in the report's ``exclusions``, by the first
rule they break, in this order):

* ``no_mark``: no mark price or mark IV (missing or zero).
* ``expiring``: less than :data:`MIN_T_HOURS` to expiry; the price is settling, not a vol.
* ``no_quote``: neither a bid nor an ask; the mark is the exchange's model alone.
* ``below_intrinsic``: the mark is below intrinsic value on the snapshot's forward (a forward and
  a mark taken at different moments), so no IV prices it.
* ``below_one_tick``: time value (mark minus intrinsic; for out-of-the-money options the whole
  mark) smaller than one price tick at the mark (0.0001 coin below 0.005, 0.0005 from there):
  deep in-the-money options whose mark is just intrinsic value and far wings marked below the
  smallest price, whose IV no quote can express.

Errors per option (model minus market): USD (coin prices · the forward, Black-76's USD value),
% of the mark, vol points (model IV - mark IV, · 100). An error block over a set of options, with
each option's vega its Black-76 vega at the mark IV (USD per vol point):

* ``mae_usd``, ``mae_pct``, ``mae_vol_pts``: mean absolute errors; ``bias_vol_pts``, ``bias_pct``:
  mean signed errors.
* ``vega_weighted_mae_pct`` = 100 · Σ vega·|model IV - mark IV| / mark IV / Σ vega: the relative
  IV error, vega-weighted. For an at-the-money option it is the price error in % of the price;
  for any option it is the price error in % of vega · IV, the option's value per unit of
  volatility, so cheap wings (whose % price errors are several times their IV error) do not
  swamp it.
* ``vega_weighted_mae_vol_pts`` = Σ vega·|error in vol points| / Σ vega.
* ``vega_weighted_mae_price_pct`` = Σ vega·|error % of the mark| / Σ vega (price errors as % of
  the mark, vega-weighted: dominated by the out-of-the-money options, bounded below by the
  market's own half-spread, about 4 % of the mark on Deribit).
* ``inside_bid_ask_pct``: of the ``n_two_sided`` options with both a bid and an ask, the % whose
  model price lies within [bid, ask].

Empty blocks have ``n`` = 0 and null metrics. DTE bands (:data:`DTE_BANDS`, days) and |delta|
buckets (:data:`DELTA_BUCKETS`, Black-76 delta at the mark IV) include their lower edge and
exclude their upper one, except the last delta bucket, which includes 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtests.calibration.history import IndexHistory
from backtests.calibration.model import ANCHOR_SOURCES, Rows, Surface, prepare_rows, surface
from backtests.calibration.params import CalibrationError, CalibrationParams
from trading.quant import black76
from trading.quant.implied_vol import implied_vol
from trading.quant.synthetic import tick_size

FloatArray = npt.NDArray[np.float64]

MIN_T_HOURS = 1.0
DTE_BANDS: tuple[tuple[float, float], ...] = ((0, 2), (2, 7), (7, 30), (30, 90), (90, math.inf))
DELTA_BUCKETS: tuple[tuple[float, float], ...] = (
    (0.0, 0.1), (0.1, 0.25), (0.25, 0.4), (0.4, 0.6), (0.6, 0.75), (0.75, 0.9), (0.9, 1.0),
)  # fmt: skip
EXCLUSIONS: dict[str, str] = {
    "no_mark": "no mark price or mark IV",
    "expiring": f"less than {MIN_T_HOURS:g} hour to expiry",
    "no_quote": "neither a bid nor an ask",
    "below_intrinsic": "mark below intrinsic value on the snapshot's forward",
    "below_one_tick": "time value below one price tick (a mark that is just intrinsic value, "
    "or a wing marked below the smallest price)",
}
"""Why an option is left out of the comparison, in the order the rules are applied."""
SMILE_TARGET_DAYS = (7.0, 30.0, 90.0)
"""The smiles shown are of the expiries nearest these DTEs (one per target, distinct)."""


def dte_band_label(lo: float, hi: float) -> str:
    return f"{lo:g}d+" if math.isinf(hi) else f"{lo:g}-{hi:g}d"


def delta_bucket_label(lo: float, hi: float) -> str:
    return f"{lo:.2f}-{hi:.2f}"


def dte_band(dte_days: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index into :data:`DTE_BANDS` of each DTE (days; negative gives -1)."""
    edges = np.array([lo for lo, _ in DTE_BANDS[1:]], dtype=np.float64)
    d = np.asarray(dte_days, dtype=np.float64)
    return np.where(d >= 0, np.searchsorted(edges, d, side="right"), -1).astype(np.int64)


def delta_bucket(abs_delta: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index into :data:`DELTA_BUCKETS` of each |delta| in [0, 1]."""
    edges = np.array([lo for lo, _ in DELTA_BUCKETS[1:]], dtype=np.float64)
    d = np.clip(np.asarray(abs_delta, dtype=np.float64), 0.0, 1.0)
    return np.searchsorted(edges, d, side="right").astype(np.int64)


def _frames_list(frames: Iterable[pd.DataFrame]) -> list[pd.DataFrame]:
    out = [f for f in frames if len(f)]
    if not out:
        raise CalibrationError("no snapshots to compare")
    return out


def comparison_rows(
    frames: list[pd.DataFrame], *, params: CalibrationParams, history: IndexHistory
) -> tuple[pd.DataFrame, Rows]:
    """One row per option of ``frames``: market, model, errors, bucket and ``excluded`` (the
    first rule of :data:`EXCLUSIONS` it breaks, '' when compared)."""
    cfg = params.chain_config()
    rows = prepare_rows(frames, history=history, cfg=cfg)
    return table_from_rows(frames, rows, surface(rows, cfg), market_arrays(frames, rows)), rows


def _col(frames: list[pd.DataFrame], name: str) -> FloatArray:
    return np.concatenate(
        [f[name].to_numpy(dtype=np.float64) if name in f.columns else np.full(len(f), np.nan) for f in frames]
    )


def market_arrays(frames: list[pd.DataFrame], rows: Rows) -> dict[str, FloatArray]:
    """Mark, quotes, Black-76 delta and vega at the mark IV, and the exclusion code per option."""
    fwd, k, t, c = rows.forward, rows.strike, rows.t_years, rows.is_call
    mark = _col(frames, "mark_price")
    mark_iv = _col(frames, "implied_volatility")
    bid = _col(frames, "bid_price")
    ask = _col(frames, "ask_price")
    bid = np.where(bid > 0, bid, np.nan)
    ask = np.where(ask > 0, ask, np.nan)
    intrinsic = np.where(c, np.maximum(fwd - k, 0.0), np.maximum(k - fwd, 0.0)) / fwd
    time_value = mark - intrinsic
    g = black76.price_and_greeks(fwd, k, np.maximum(t, 0.0), np.where(mark_iv > 0, mark_iv, np.nan), c)
    code = np.zeros(len(mark), dtype=np.int64)  # 0: compared; i: i-th rule of EXCLUSIONS
    with np.errstate(invalid="ignore"):
        rules = [
            ~(mark > 0) | ~(mark_iv > 0),
            ~(t * 365.0 * 24.0 >= MIN_T_HOURS),
            np.isnan(bid) & np.isnan(ask),
            time_value < -1e-9,
            time_value < tick_size(np.nan_to_num(mark)) - 1e-12,
        ]
    for i, rule in enumerate(rules, start=1):
        code = np.where((code == 0) & rule, i, code)
    return {
        "mark": mark,
        "mark_iv": mark_iv,
        "bid": bid,
        "ask": ask,
        "delta": g.delta,
        "vega": g.vega,
        "code": code.astype(np.float64),
    }


def table_from_rows(
    frames: list[pd.DataFrame], rows: Rows, surf: Surface, market: dict[str, FloatArray]
) -> pd.DataFrame:
    """The comparison table of :func:`comparison_rows` from its parts."""
    m = market
    fwd = rows.forward
    model_iv = surf.iv
    model = black76.price_coin(fwd, rows.strike, np.maximum(rows.t_years, 0.0), model_iv, rows.is_call)
    reasons = np.array(["", *EXCLUSIONS], dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "snapshot": rows.snap,
                "timestamp": np.concatenate(
                    [pd.DatetimeIndex(f["timestamp"]).as_unit("ns").asi8 for f in frames]
                ),
                "expiry_ns": np.concatenate(
                    [pd.DatetimeIndex(f["expiry_datetime"]).as_unit("ns").asi8 for f in frames]
                ),
                "dte": rows.t_years * 365.0,
                "strike": rows.strike,
                "forward": fwd,
                "is_call": rows.is_call,
                "market_iv": m["mark_iv"],
                "model_iv": model_iv,
                "mark_coin": m["mark"],
                "model_coin": model,
                "bid_coin": m["bid"],
                "ask_coin": m["ask"],
                "delta": m["delta"],
                "vega_usd": m["vega"],
                "err_usd": (model - m["mark"]) * fwd,
                "err_pct": (model - m["mark"]) / m["mark"] * 100.0,
                "err_vol_pts": (model_iv - m["mark_iv"]) * 100.0,
                "anchor_source": surf.anchor_source[rows.snap],
                "excluded": reasons[m["code"].astype(np.int64)],
            }
        )
    table["dte_band"] = dte_band(table["dte"].to_numpy())
    table["delta_bucket"] = delta_bucket(np.abs(table["delta"].to_numpy()))
    bad = (table["excluded"] == "") & ~np.isfinite(
        table[["model_iv", "model_coin", "err_pct"]].to_numpy()
    ).all(axis=1)
    if bad.any():  # cannot happen with valid inputs; keeps the blocks finite regardless
        table.loc[bad, "excluded"] = "no_mark"
    return table


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def error_block(table: pd.DataFrame) -> dict[str, Any]:
    """The error metrics (module docstring) over the options of ``table`` (compared rows only)."""
    n = len(table)
    if n == 0:
        keys = (
            "mae_usd", "mae_pct", "mae_vol_pts", "vega_weighted_mae_pct", "vega_weighted_mae_vol_pts",
            "vega_weighted_mae_price_pct", "bias_vol_pts", "bias_pct", "inside_bid_ask_pct",
        )  # fmt: skip
        return {"n": 0, **dict.fromkeys(keys), "n_two_sided": 0}
    vega = table["vega_usd"].to_numpy()
    pct = table["err_pct"].to_numpy()
    vol = table["err_vol_pts"].to_numpy()
    iv = table["market_iv"].to_numpy()
    sv = float(vega.sum())
    bid, ask, model = (table[c].to_numpy() for c in ("bid_coin", "ask_coin", "model_coin"))
    two = np.isfinite(bid) & np.isfinite(ask)
    inside = two & (model >= bid - 1e-12) & (model <= ask + 1e-12)
    return {
        "n": n,
        "mae_usd": _num(float(np.abs(table["err_usd"].to_numpy()).mean())),
        "mae_pct": _num(float(np.abs(pct).mean())),
        "mae_vol_pts": _num(float(np.abs(vol).mean())),
        "vega_weighted_mae_pct": _num(float((vega * np.abs(vol) / iv).sum() / sv)) if sv > 0 else None,
        "vega_weighted_mae_vol_pts": _num(float((vega * np.abs(vol)).sum() / sv)) if sv > 0 else None,
        "vega_weighted_mae_price_pct": _num(float((vega * np.abs(pct)).sum() / sv)) if sv > 0 else None,
        "bias_vol_pts": _num(float(vol.mean())),
        "bias_pct": _num(float(pct.mean())),
        "inside_bid_ask_pct": _num(100.0 * inside.sum() / two.sum()) if two.any() else None,
        "n_two_sided": int(two.sum()),
    }


def _smiles(table: pd.DataFrame, currency: str) -> list[dict[str, Any]]:
    """The latest snapshot's smiles at the expiries nearest :data:`SMILE_TARGET_DAYS`: its
    out-of-the-money options (puts below the forward, calls from it up), market and model IVs,
    bid and ask IVs inverted from the quotes (null without a quote)."""
    latest = int(table["snapshot"].to_numpy()[int(np.argmax(table["timestamp"].to_numpy()))])
    snap = table[table["snapshot"] == latest]
    live = snap[snap["dte"] * 24.0 >= MIN_T_HOURS]
    if live.empty:
        return []
    expiries = live.groupby("expiry_ns")["dte"].first()
    chosen: list[int] = []
    for target in SMILE_TARGET_DAYS:
        e = int(expiries.index[int(np.argmin(np.abs(expiries.to_numpy() - target)))])
        if e not in chosen:
            chosen.append(e)
    out = []
    for e in sorted(chosen):
        s = live[live["expiry_ns"] == e]
        otm = s[np.where(s["is_call"], s["strike"] >= s["forward"], s["strike"] < s["forward"])]
        otm = otm[np.isfinite(otm["market_iv"]) & (otm["market_iv"] > 0)].sort_values("strike")
        if otm.empty:
            continue
        t = otm["dte"].to_numpy() / 365.0
        quote_iv = {}
        for side in ("bid", "ask"):
            price = otm[f"{side}_coin"].to_numpy()
            iv = implied_vol(
                price,
                otm["forward"].to_numpy(),
                otm["strike"].to_numpy(),
                t,
                otm["is_call"].to_numpy(),
                unit="coin",
            ).iv
            quote_iv[side] = iv
        points = [
            {
                "strike": float(r.strike),
                "moneyness": float(r.strike / r.forward),
                "market_iv": _num(float(r.market_iv)),
                "bid_iv": _num(float(quote_iv["bid"][i])),
                "ask_iv": _num(float(quote_iv["ask"][i])),
                "model_iv": _num(float(r.model_iv)),
            }
            for i, r in enumerate(otm.itertuples())
        ]
        out.append(
            {
                "currency": currency,
                "timestamp": pd.Timestamp(int(s["timestamp"].iloc[0]), tz="UTC").isoformat(),
                "expiry": pd.Timestamp(e, tz="UTC").isoformat(),
                "dte": float(s["dte"].iloc[0]),
                "points": points,
            }
        )
    return out


def report_from_table(table: pd.DataFrame, *, currency: str, n_snapshots: int) -> dict[str, Any]:
    """The JSON-safe report of a comparison table (see :func:`calibration_report`)."""
    kept = table[table["excluded"] == ""]
    counts = table["excluded"].value_counts()
    by_dte = []
    for i, (lo, hi) in enumerate(DTE_BANDS):
        block = error_block(kept[kept["dte_band"] == i])
        by_dte.append(
            {
                "band": dte_band_label(lo, hi),
                "lo_days": lo,
                "hi_days": None if math.isinf(hi) else hi,
                **block,
            }
        )
    by_delta = []
    for i, (lo, hi) in enumerate(DELTA_BUCKETS):
        block = error_block(kept[kept["delta_bucket"] == i])
        by_delta.append({"bucket": delta_bucket_label(lo, hi), "lo": lo, "hi": hi, **block})
    per_snapshot_source = table.groupby("snapshot")["anchor_source"].first().value_counts()
    stamps = table["timestamp"]
    return {
        "currency": currency,
        "overall": error_block(kept),
        "by_dte": by_dte,
        "by_delta": by_delta,
        "by_type": {"call": error_block(kept[kept["is_call"]]), "put": error_block(kept[~kept["is_call"]])},
        "smiles": _smiles(table, currency) if len(table) else [],
        "samples": len(kept),
        "snapshots": n_snapshots,
        "first": pd.Timestamp(int(stamps.min()), tz="UTC").isoformat() if len(table) else None,
        "last": pd.Timestamp(int(stamps.max()), tz="UTC").isoformat() if len(table) else None,
        "exclusions": [
            {"reason": r, "rule": rule, "n": int(counts.get(r, 0))} for r, rule in EXCLUSIONS.items()
        ],
        "anchor_sources": {s: int(per_snapshot_source.get(s, 0)) for s in ANCHOR_SOURCES},
    }


def calibration_report(
    frames: Iterable[pd.DataFrame], *, params: CalibrationParams, history: IndexHistory
) -> dict[str, Any]:
    """The model (``params``, knowing ``history``) against the marks of ``frames`` (snapshot frames
    of ``params.currency``): errors overall, by DTE band, by |delta| bucket, calls and puts, the
    latest snapshot's smiles, what was excluded and why, and which anchor each snapshot used.
    JSON-safe (no NaN: missing numbers are null)."""
    fl = _frames_list(frames)
    table, _ = comparison_rows(fl, params=params, history=history)
    return report_from_table(table, currency=params.currency, n_snapshots=len(fl))
