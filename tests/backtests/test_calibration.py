"""Calibration of the synthetic chain model: the model's prices for real options, the error
report, the fit, and the figures on real Deribit snapshots the fit did not see."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.special import ndtri

from backtests.calibration import (
    CalibrationError,
    CalibrationParams,
    FitResult,
    IndexHistory,
    calibration_report,
    fit_params,
    index_history_from_file,
    index_history_from_snapshots,
    model_ivs,
)
from backtests.calibration.history import history_state
from backtests.calibration.report import delta_bucket, dte_band
from trading.marketdata.frame import validate_snapshot_frame
from trading.marketdata.importers import svcj_file_snapshots
from trading.quant import black76
from trading.quant.synthetic import (
    SyntheticChain,
    SyntheticChainConfig,
    simulate_underlying,
    synthetic_chains,
)
from trading.quant.synthetic.surface import ewma_log_level, weekend_variance_factor

DAYS = 60
TRUTH: dict[str, Any] = {
    "dvol_scale": 0.93,
    "long_run_memory_days": 90.0,
    "long_run_memory_ratio": 1.15,
    "long_run_anchor_weight": 0.25,
    "term_mean_reversion": 8.0,
    "weekend_variance_weight": 0.6,
    "skew_short": -0.06,
    "skew_long": -0.12,
    "skew_tau_days": 20.0,
    "skew_momentum_beta": 0.3,
    "curvature_short": 0.45,
    "curvature_long": 0.25,
    "curvature_tau_days": 40.0,
    "smile_vol_power": 0.5,
}
"""A synthetic market's parameters, far from the generator's defaults."""


# --- a synthetic market with known parameters -------------------------------------------------------


def snapshot_frame(chain: SyntheticChain, step: int) -> pd.DataFrame:
    """Step ``step`` of a generated chain as a validated snapshot frame (the frame format)."""
    t = chain.at(step)
    names = t["instrument_name"].astype(str)
    raw = pd.DataFrame(
        {
            "timestamp": t["timestamp"],
            "instrument_name": names,
            "currency": chain.currency,
            "expiry_datetime": t["expiry"],
            "strike": t["strike"],
            "option_type": t["option_type"],
            "underlying": t["forward"],
            "underlying_index": "",
            "index_price": t["index_price"],
            "implied_volatility": t["mark_iv"],
            "mark_price": t["mark_price_coin"],
            "bid_price": t["bid_price_coin"],
            "ask_price": t["ask_price_coin"],
            "mid_price": np.nan,
            "open_interest": t["open_interest"],
            "volume": np.nan,
        }
    )
    return validate_snapshot_frame(raw, source_name=f"synthetic step {step}")


class Market:
    """An hourly index path with DVOL, and chains priced on it without noise."""

    def __init__(self, config: SyntheticChainConfig, *, with_dvol: bool) -> None:
        path = simulate_underlying(start=datetime(2026, 3, 1, tzinfo=UTC), n_bars=24 * DAYS, seed=7)
        n = len(path)
        times = np.asarray(path.index.as_unit("ns").asi8, dtype=np.int64)
        self.dvol = 50.0 + 15.0 * np.sin(np.arange(n) / (24 * 6.0)) + np.linspace(0.0, 10.0, n)
        chain = synthetic_chains(
            path.index,
            path["close"].to_numpy(),
            config=config,
            dvol=self.dvol if with_dvol else None,
            seed=3,
            max_dte_days=200,
            quote_ivs=False,
        )
        self.steps = [24 * d + 9 for d in range(DAYS - 9, DAYS)]  # 09:00 UTC on the last 9 days
        self.frames = [snapshot_frame(chain, i) for i in self.steps]
        empty = np.zeros(0, dtype=np.int64)
        self.history = IndexHistory(
            config.currency,
            times,
            path["close"].to_numpy(),
            times if with_dvol else empty,
            self.dvol if with_dvol else np.zeros(0),
            "generated path",
        )


@pytest.fixture(scope="module")
def market() -> Market:
    config = SyntheticChainConfig(currency="BTC", iv_noise=0.0, basis_noise=0.0, **TRUTH)
    return Market(config, with_dvol=True)


def test_the_model_is_the_generator_without_its_noise(market: Market) -> None:
    truth = CalibrationParams(currency="BTC", **TRUTH)
    report = calibration_report(market.frames, params=truth, history=market.history)
    assert report["samples"] > 5000 and report["anchor_sources"] == {
        "dvol": 9,
        "realised_vol": 0,
        "fallback": 0,
    }
    assert report["overall"]["mae_vol_pts"] < 1e-9
    assert report["overall"]["mae_pct"] < 1e-9
    priced = model_ivs(market.frames[-1], params=truth, history=market.history)
    np.testing.assert_allclose(priced["model_iv"], market.frames[-1]["implied_volatility"], rtol=1e-12)


def test_the_default_model_matches_the_default_generator_on_realised_vol() -> None:
    rv_market = Market(SyntheticChainConfig(currency="ETH", iv_noise=0.0, basis_noise=0.0), with_dvol=False)
    history = rv_market.history
    report = calibration_report(rv_market.frames, params=CalibrationParams.default("ETH"), history=history)
    assert report["anchor_sources"] == {"dvol": 0, "realised_vol": 9, "fallback": 0}
    assert report["overall"]["mae_vol_pts"] < 1e-9


def test_the_fit_recovers_known_parameters(market: Market) -> None:
    result = fit_params(market.frames, history=market.history, currency="BTC")
    assert isinstance(result, FitResult) and result.converged
    fitted = result.params.model_dump()
    for name, value in TRUTH.items():
        assert fitted[name] == pytest.approx(value, rel=2e-3, abs=1e-3), name
    assert fitted["vrp_factor"] == CalibrationParams.default("BTC").vrp_factor  # no realised-vol anchor
    overall = result.train_report["overall"]
    assert overall["mae_vol_pts"] < 0.01 and overall["vega_weighted_mae_pct"] < 0.01
    again = fit_params(market.frames, history=market.history, currency="BTC")
    assert again.params == result.params  # deterministic


def test_the_model_never_reads_market_prices_or_ivs(market: Market) -> None:
    frame = market.frames[3]
    params = CalibrationParams(currency="BTC", **TRUTH)
    before = model_ivs(frame, params=params, history=market.history)
    rng = np.random.default_rng(0)
    noisy = frame.copy()
    n = len(frame)
    for column in ("implied_volatility", "bid_iv", "ask_iv"):
        noisy[column] = rng.uniform(0.05, 3.0, n)
    for column in ("mark_price", "bid_price", "ask_price", "mid_price"):
        noisy[column] = rng.uniform(0.0001, 0.5, n)
    for column in ("delta", "vega", "open_interest", "volume"):
        noisy[column] = rng.normal(0.0, 100.0, n)
    pd.testing.assert_frame_equal(model_ivs(noisy, params=params, history=market.history), before)
    order = rng.permutation(n)
    shuffled = model_ivs(noisy.iloc[order], params=params, history=market.history)
    pd.testing.assert_frame_equal(shuffled, before.iloc[order])


def test_the_history_is_read_only_up_to_the_snapshot(market: Market) -> None:
    h = market.history
    cut = market.frames[0]["timestamp"].iloc[0].value
    past = h.times_ns <= cut
    known = IndexHistory(h.currency, h.times_ns[past], h.index_usd[past], h.dvol_times_ns[past], h.dvol[past])
    cfg = CalibrationParams(currency="BTC", **TRUTH).chain_config()
    q = np.array([cut], dtype=np.int64)
    a, b = history_state(h, q, cfg), history_state(known, q, cfg)
    for field in ("rv", "slow_rv", "dvol", "trailing_return", "dvol_memory", "rv_memory"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


# --- buckets, exclusions, JSON ----------------------------------------------------------------------

NOW = pd.Timestamp("2026-03-02T08:00:00Z")
FWD = 100_000.0
IV = 0.5


def hand_made(options: list[tuple[int, float, str]]) -> pd.DataFrame:
    """Options (days to expiry, |delta| at IV 50 %, 'call'/'put') on a 100 000 USD forward."""
    records = []
    for days, abs_delta, kind in options:
        t = days / 365.0
        d1 = float(ndtri(abs_delta if kind == "call" else 1.0 - abs_delta))
        strike = round(FWD * np.exp(-d1 * IV * np.sqrt(t) + 0.5 * IV * IV * t))
        expiry = NOW + pd.Timedelta(days=days)
        mark = float(black76.price_coin(FWD, strike, t, IV, kind == "call"))
        code = f"{expiry.day}{expiry.strftime('%b').upper()}{expiry.strftime('%y')}"
        name = f"BTC-{code}-{strike}-{kind[0].upper()}"
        records.append(
            {
                "timestamp": NOW,
                "instrument_name": name,
                "currency": "BTC",
                "expiry_datetime": expiry,
                "strike": float(strike),
                "option_type": kind,
                "underlying": FWD,
                "underlying_index": "",
                "index_price": FWD,
                "implied_volatility": IV,
                "mark_price": mark,
                "bid_price": mark * 0.95,
                "ask_price": mark * 1.05,
                "mid_price": mark,
                "open_interest": 1.0,
                "volume": 0.0,
            }
        )
    return validate_snapshot_frame(pd.DataFrame.from_records(records), source_name="hand-made")


def test_band_and_bucket_edges() -> None:
    days = [0.0, 1.99, 2.0, 6.99, 7.0, 29.9, 30.0, 89.9, 90.0, 400.0]
    assert dte_band(days).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    deltas = [0.0, 0.0999, 0.1, 0.2499, 0.25, 0.4, 0.6, 0.75, 0.9, 1.0]
    assert delta_bucket(deltas).tolist() == [0, 0, 1, 1, 2, 3, 4, 5, 6, 6]


def test_buckets_of_a_hand_made_chain() -> None:
    centres = [0.05, 0.175, 0.325, 0.5, 0.675, 0.825, 0.95]
    options = [(days, d, kind) for days in (3, 10, 45, 120) for d in centres for kind in ("call", "put")]
    options += [(1, d, "call") for d in (0.175, 0.5, 0.825)]
    frame = hand_made(options)
    history = index_history_from_snapshots([frame.assign(dvol=50.0)])
    report = calibration_report([frame], params=CalibrationParams.default("BTC"), history=history)
    assert {e["reason"]: e["n"] for e in report["exclusions"]} == dict.fromkeys(
        ("no_mark", "expiring", "no_quote", "below_intrinsic", "below_one_tick"), 0
    )
    assert [b["n"] for b in report["by_dte"]] == [3, 14, 14, 14, 14]
    assert [b["n"] for b in report["by_delta"]] == [8, 9, 8, 9, 8, 9, 8]
    assert report["by_type"]["call"]["n"] == 31 and report["by_type"]["put"]["n"] == 28
    assert report["overall"]["inside_bid_ask_pct"] is not None
    json.dumps(report, allow_nan=False)


def test_exclusions_are_counted_by_their_first_rule() -> None:
    frame = hand_made(
        [(10, 0.3, "call"), (10, 0.3, "put"), (10, 0.5, "call"), (10, 0.7, "put"), (45, 0.2, "put")]
    )
    frame.loc[0, "mark_price"] = np.nan  # no mark
    frame.loc[1, ["bid_price", "ask_price", "mid_price"]] = np.nan  # no quote
    intrinsic = max(frame.loc[3, "strike"] - FWD, 0.0) / FWD
    frame.loc[3, "mark_price"] = intrinsic - 0.001  # below intrinsic
    frame.loc[4, "mark_price"] = 0.00005  # below one tick
    history = index_history_from_snapshots([frame.assign(dvol=50.0)])
    report = calibration_report([frame], params=CalibrationParams.default("BTC"), history=history)
    counts = {e["reason"]: e["n"] for e in report["exclusions"]}
    assert counts == {"no_mark": 1, "expiring": 0, "no_quote": 1, "below_intrinsic": 1, "below_one_tick": 1}
    assert report["samples"] == 1
    empty = [b for b in report["by_dte"] if b["n"] == 0]
    assert empty and all(b["mae_vol_pts"] is None for b in empty)
    json.dumps(report, allow_nan=False)


def test_the_report_of_a_synthetic_market_is_json_safe(market: Market) -> None:
    report = calibration_report(
        market.frames, params=CalibrationParams.default("BTC"), history=market.history
    )
    text = json.dumps(report, allow_nan=False)
    assert "NaN" not in text and report["snapshots"] == 9
    smiles = report["smiles"]
    assert 1 <= len(smiles) <= 3 and all(s["timestamp"] == smiles[0]["timestamp"] for s in smiles)
    assert smiles[0]["timestamp"] == market.frames[-1]["timestamp"].iloc[0].isoformat()
    point = smiles[-1]["points"][0]
    assert set(point) == {"strike", "moneyness", "market_iv", "bid_iv", "ask_iv", "model_iv"}


# --- parameters, histories, errors -------------------------------------------------------------------


def test_default_parameters_are_the_generators() -> None:
    for currency in ("BTC", "ETH"):
        params = CalibrationParams.default(currency)
        assert params.chain_config() == SyntheticChainConfig(currency=currency)
        assert (
            CalibrationParams.model_validate(json.loads(json.dumps(params.model_dump(mode="json")))) == params
        )
    fitted = CalibrationParams(currency="ETH", **TRUTH)
    base = SyntheticChainConfig(currency="ETH", iv_noise=0.2)
    applied = fitted.chain_config(base)
    assert applied.iv_noise == 0.2 and applied.skew_short == TRUTH["skew_short"]
    with pytest.raises(ValidationError):
        CalibrationParams(currency="BTC", surprise=1.0)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        fitted.skew_short = 0.0  # type: ignore[misc]
    with pytest.raises(CalibrationError, match="BTC or ETH"):
        CalibrationParams.default("XRP")


def test_generator_extensions_are_off_by_default() -> None:
    cfg = SyntheticChainConfig()
    saturday, monday = pd.Timestamp("2026-03-07T00:00Z").value, pd.Timestamp("2026-03-09T00:00Z").value
    assert weekend_variance_factor(saturday, monday, cfg) == 1.0
    weekend = SyntheticChainConfig(weekend_variance_weight=0.5)
    assert weekend_variance_factor(saturday, monday, weekend) == pytest.approx(np.sqrt(0.5))
    week_later = pd.Timestamp("2026-03-16T00:00Z").value
    assert weekend_variance_factor(monday, week_later, weekend) == pytest.approx(1.0)
    with pytest.raises(ValidationError, match="long_run_memory_days"):
        SyntheticChainConfig(anchor_memory_weight=0.3)
    day = 86_400 * 10**9
    level = ewma_log_level(np.arange(3) * 30 * day, np.array([1.0, 4.0, 4.0]), halflife_days=30.0)
    assert level == pytest.approx([1.0, 2.0, 2.0**1.5])  # half the way in log terms per half-life


def test_histories_from_files(tmp_path: Path) -> None:
    dvol_file = tmp_path / "BTC_dvol_daily.csv"
    dvol_file.write_text("date,dvol_open,dvol_close\n2026-01-01,40,41\n2026-01-02,41,45\n")
    dvol_only = index_history_from_file(dvol_file, "BTC")
    assert dvol_only.times_ns.size == 0 and dvol_only.has_dvol
    # a daily close is known when its day ends
    assert dvol_only.dvol_times_ns[0] == pd.Timestamp("2026-01-02T00:00Z").value
    prices = tmp_path / "prices.csv"
    prices.write_text("timestamp,price,dvol\n2026-01-01T00:00Z,100,40\n2026-01-01T01:00Z,101,41\n")
    both = index_history_from_file(prices, "BTC")
    assert both.index_usd.tolist() == [100.0, 101.0] and both.dvol.tolist() == [40.0, 41.0]
    combined = both.combined(dvol_only)
    assert combined.dvol.size == 4 and combined.index_usd.size == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\nyesterday,blue\n")
    with pytest.raises(CalibrationError):
        index_history_from_file(bad, "BTC")
    with pytest.raises(CalibrationError, match="no such"):
        index_history_from_file(tmp_path / "missing.csv", "BTC")


def test_bad_input_raises_calibration_errors(market: Market) -> None:
    params = CalibrationParams(currency="BTC", **TRUTH)
    eth = CalibrationParams.default("ETH")
    with pytest.raises(CalibrationError, match="for ETH"):
        calibration_report(market.frames, params=eth, history=market.history)
    two = pd.concat([market.frames[0], market.frames[1]], ignore_index=True)
    with pytest.raises(CalibrationError, match="one snapshot"):
        model_ivs(two, params=params, history=market.history)
    with pytest.raises(CalibrationError, match="no snapshots"):
        calibration_report([], params=params, history=market.history)
    with pytest.raises(CalibrationError, match="only"):
        fit_params([market.frames[0].iloc[:10]], history=market.history, currency="BTC")
    mixed = [market.frames[0], market.frames[1].assign(currency="ETH")]
    with pytest.raises(CalibrationError, match="build one history per currency"):
        index_history_from_snapshots(mixed)


# --- real Deribit snapshots -----------------------------------------------------------------------------

TRAIN_END = pd.Timestamp("2026-05-01T00:00Z")
OOS_TARGETS: dict[str, dict[str, dict[str, float]]] = {
    # realised vol from the daily index (the daily set has no DVOL): what the model reaches
    "realised_vol": {
        "BTC": {"test_vw": 8.7, "test_vol": 4.2, "stress_vw": 16.0, "stress_vol": 12.5},
        "ETH": {"test_vw": 7.9, "test_vol": 6.3, "stress_vw": 9.6, "stress_vol": 11.8},
    },
    # with Deribit's daily DVOL (the close of the previous UTC day)
    "dvol": {
        "BTC": {"test_vw": 2.9, "test_vol": 2.5, "stress_vw": 8.5, "stress_vol": 8.2},
        "ETH": {"test_vw": 2.9, "test_vol": 3.35, "stress_vw": 4.5, "stress_vol": 8.4},
    },
}
"""Upper bounds of the out-of-sample figures: vega-weighted MAE (%) and MAE (vol points) on
May-Aug 2026 (test) and the stress week of 2026-02-02, after a fit on Jan-Apr 2026."""
DVOL_FOLDER = "dvol_daily_2025_2026"


class RealData:
    def __init__(self, root: Path) -> None:
        base = root / "svcj_deribit_snapshots_2025_2026"
        self.daily: list[pd.DataFrame] = []
        for f in sorted((base / "daily_0915utc").glob("*.csv.gz")):
            self.daily.extend(svcj_file_snapshots(f))
        self.stress: list[pd.DataFrame] = []
        for f in sorted((base / "stress_week_2026-02-02_to_08").glob("*.csv.gz")):
            self.stress.extend(svcj_file_snapshots(f))
        self.dvol_dir = root / DVOL_FOLDER
        self.fits: dict[tuple[str, str], tuple[FitResult, IndexHistory]] = {}

    def of(self, currency: str, frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
        return [f for f in frames if f["currency"].iloc[0] == currency]

    def fit(self, currency: str, anchor: str) -> tuple[FitResult, IndexHistory]:
        if (currency, anchor) not in self.fits:
            history = index_history_from_snapshots(self.of(currency, self.daily + self.stress))
            if anchor == "dvol":
                history = history.combined(
                    index_history_from_file(self.dvol_dir / f"{currency}_dvol_daily.csv", currency)
                )
            train = [f for f in self.of(currency, self.daily) if f["timestamp"].iloc[0] < TRAIN_END]
            self.fits[currency, anchor] = (fit_params(train, history=history, currency=currency), history)
        return self.fits[currency, anchor]


@pytest.fixture(scope="module")
def real(real_data_dir: Path) -> RealData:
    return RealData(real_data_dir)


@pytest.mark.parametrize("anchor", ["realised_vol", "dvol"])
@pytest.mark.parametrize("currency", ["BTC", "ETH"])
def test_out_of_sample_errors_on_real_snapshots(real: RealData, currency: str, anchor: str) -> None:
    if anchor == "dvol" and not (real.dvol_dir / f"{currency}_dvol_daily.csv").is_file():
        pytest.skip(
            f"no daily DVOL history at {real.dvol_dir}: put {currency}_dvol_daily.csv there "
            "(columns date, dvol_open, dvol_close; Deribit's daily DVOL candles) to run this test"
        )
    result, history = real.fit(currency, anchor)
    assert result.converged
    assert result.train_report["anchor_sources"][anchor] > 0
    test = [f for f in real.of(currency, real.daily) if f["timestamp"].iloc[0] >= TRAIN_END]
    target = OOS_TARGETS[anchor][currency]
    for name, frames in (("test", test), ("stress", real.of(currency, real.stress))):
        report = calibration_report(frames, params=result.params, history=history)
        json.dumps(report, allow_nan=False)
        overall = report["overall"]
        assert overall["vega_weighted_mae_pct"] <= target[f"{name}_vw"], (name, overall)
        assert overall["mae_vol_pts"] <= target[f"{name}_vol"], (name, overall)
