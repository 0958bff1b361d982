"""Implied volatility: round trips, edge cases, status codes, and Deribit's real quotes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from trading.quant import black76
from trading.quant.datasets import load_svcj_snapshots, svcj_daily_files
from trading.quant.implied_vol import IVStatus, implied_vol, status_counts

EPS = float(np.finfo(np.float64).eps)
FloatArray = npt.NDArray[np.float64]


def _intrinsic(f: FloatArray, k: FloatArray, call: npt.ArrayLike) -> FloatArray:
    return np.maximum(np.where(call, f - k, k - f), 0.0)


def _tolerance(f: FloatArray, k: FloatArray, t: FloatArray, sigma: FloatArray, p: FloatArray) -> FloatArray:
    """1e-9 plus what the rounding of the price itself allows: ulp(price) / dPrice/dSigma.

    The second term only matters deep in the money, where a time value of 1e-8 F sits on an
    intrinsic value of several F and the price carries it with few significant digits.
    """
    vega_per_unit = np.asarray(black76.vega(f, k, t, sigma)) * 100.0
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.asarray(1e-9 + 4 * EPS * p / vega_per_unit)


def _check_round_trip(
    f: FloatArray, k: FloatArray, t: FloatArray, sigma: FloatArray, call: npt.ArrayLike
) -> int:
    p = np.asarray(black76.price(f, k, t, sigma, call))
    res = implied_vol(p, f, k, t, call, unit="usd")
    tv = p - _intrinsic(f, k, call)
    checked = tv > 1e-8 * f
    assert (res.status[checked] == IVStatus.OK).all()
    err = np.abs(res.iv - sigma)
    tol = _tolerance(f, k, t, sigma, p)
    bad = checked & ~(err <= tol)
    assert not bad.any(), (f[bad][:3], k[bad][:3], t[bad][:3], sigma[bad][:3], err[bad][:3])
    # The rounding allowance is an exception (deep in the money), not what makes this pass.
    assert (tol[checked] <= 1.1e-9).mean() > 0.9
    # Any time value above rounding noise gives a finite, positive volatility.
    noticeable = tv > 8 * EPS * (p + _intrinsic(f, k, call))
    assert (res.status[noticeable] == IVStatus.OK).all()
    assert (res.iv[noticeable] > 0).all() and np.isfinite(res.iv[noticeable]).all()
    return int(checked.sum())


def test_round_trip_on_a_dense_grid() -> None:
    f = 60000.0
    m = np.linspace(-3.0, 3.0, 121)
    days = np.array([1 / 1440, 1 / 24, 1.0, 7.0, 30.0, 90.0, 365.0, 1095.0])
    sigma = np.array([0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0])
    mm, tt, ss = (a.ravel() for a in np.meshgrid(m, days / 365.0, sigma, indexing="ij"))
    k = f * np.exp(mm)
    f_arr = np.full_like(k, f)
    checked = 0
    for call in (True, False):
        checked += _check_round_trip(f_arr, k, tt, ss, np.full(k.shape, call))
    assert checked > 9_000


@settings(max_examples=400, deadline=None)
@given(
    f=st.floats(1.0, 1e6),
    m=st.floats(-3.0, 3.0),
    t=st.floats(1e-6, 3.0),
    sigma=st.floats(0.01, 5.0),
    call=st.booleans(),
)
def test_round_trip_property(f: float, m: float, t: float, sigma: float, call: bool) -> None:
    k = f * np.exp(m)
    p = float(black76.price(f, k, t, sigma, call))
    assume(p - max(f - k if call else k - f, 0.0) > 1e-8 * f)
    res = implied_vol(p, f, k, t, call, unit="usd")
    assert res.status == IVStatus.OK
    tol = float(_tolerance(np.array(f), np.array(k), np.array(t), np.array(sigma), np.array(p)))
    assert abs(float(res.iv) - sigma) <= tol


@settings(max_examples=200, deadline=None)
@given(f=st.floats(10.0, 1e6), m=st.floats(-2.0, 2.0), t=st.floats(1e-4, 3.0), sigma=st.floats(0.05, 3.0))
def test_calls_and_puts_related_by_parity_have_the_same_vol(
    f: float, m: float, t: float, sigma: float
) -> None:
    k = f * np.exp(m)
    call = float(black76.price(f, k, t, sigma, True))
    put = call - (f - k)  # put-call parity with r = 0
    assume(min(call, put) > 1e-8 * f)
    res = implied_vol([call, put], f, k, t, [True, False], unit="usd")
    tol = float(_tolerance(np.array(f), np.array(k), np.array(t), np.array(sigma), np.array(max(call, put))))
    assert abs(res.iv[0] - res.iv[1]) <= 2 * tol


def test_extreme_but_valid_inputs_get_finite_vols() -> None:
    #          F        K         T (years)      sigma
    cases = [
        (60000.0, 180000.0, 1 / 365, 3.0),  # far OTM call, a day left, 300 % vol
        (60000.0, 20000.0, 1 / 365, 3.0),  # far OTM put
        (60000.0, 60100.0, 1 / 525600, 0.5),  # one minute left, near the money
        (60000.0, 60000.0, 1e-9, 0.5),  # 30 ms left, at the money
        (60000.0, 90000.0, 1 / 8760, 5.0),  # one hour, 500 % vol
        (3000.0, 3000.0, 3.0, 5.0),  # price 99.9 % of the forward
        (3000.0, 6000.0, 0.5, 0.02),  # time value ~1e-200 F
        (60000.0, 30000.0, 2.0, 0.05),  # deep ITM with a time value of 1e-80 F
    ]
    for f, k, t, sigma in cases:
        for call in (True, False):
            p = float(black76.price(f, k, t, sigma, call))
            tv = p - max(f - k if call else k - f, 0.0)
            res = implied_vol(p, f, k, t, call, unit="usd")
            tol = float(_tolerance(np.array(f), np.array(k), np.array(t), np.array(sigma), np.array(p)))
            if tv > 8 * EPS * p:
                # Any time value above the rounding of the price gives a finite volatility, as
                # exact as that rounding allows (1e-9 out of the money and whenever tv > 1e-8 F).
                assert res.status == IVStatus.OK
                assert abs(float(res.iv) - sigma) <= tol, (f, k, t, sigma, call)
                if tv > 1e-8 * f:
                    assert tol < 1.1e-9
            else:
                # Deep in the money the time value is lost in the rounding of the price.
                assert res.status == IVStatus.NO_TIME_VALUE and np.isnan(res.iv)


def test_agrees_with_brentq_on_realistic_options() -> None:
    rng = np.random.default_rng(3)
    n = 200
    f = np.full(n, 65000.0)
    k = f * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
    t = rng.uniform(1, 365, n) / 365
    sigma = rng.uniform(0.3, 1.5, n)
    call = rng.random(n) < 0.5
    p = np.asarray(black76.price(f, k, t, sigma, call))
    res = implied_vol(p, f, k, t, call, unit="usd")
    has_time_value = p - _intrinsic(f, k, call) > 1e-8 * f
    assert has_time_value.sum() > 150
    for i in np.flatnonzero(has_time_value):
        ref = brentq(
            lambda s, i=i: float(black76.price(f[i], k[i], t[i], s, call[i])) - p[i], 1e-6, 10.0, xtol=1e-15
        )
        assert res.iv[i] == pytest.approx(ref, abs=1e-10)


def test_coin_and_usd_prices_agree() -> None:
    f, k, t, sigma = 88000.0, np.array([70000.0, 88000.0, 120000.0]), 0.2, 0.55
    for call in (True, False):
        p_usd = np.asarray(black76.price(f, k, t, sigma, call))
        a = implied_vol(p_usd, f, k, t, call, unit="usd").iv
        b = implied_vol(p_usd / f, f, k, t, call, unit="coin").iv
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, sigma, rtol=1e-12)
    with pytest.raises(ValueError, match="unit"):
        implied_vol(1.0, 1.0, 1.0, 1.0, True, unit="btc")  # type: ignore[arg-type]


def test_status_codes_explain_every_nan() -> None:
    f, k, t = 100.0, 90.0, 0.5
    call_value = float(black76.price(f, k, t, 0.4, True))
    cases = [
        (call_value, f, k, t, True, IVStatus.OK),
        (9.99, f, k, t, True, IVStatus.BELOW_INTRINSIC),
        (-0.01, f, 110.0, t, True, IVStatus.BELOW_INTRINSIC),
        (10.0, f, k, t, True, IVStatus.NO_TIME_VALUE),
        (0.0, f, 110.0, t, True, IVStatus.NO_TIME_VALUE),
        (100.0, f, k, t, True, IVStatus.ABOVE_UPPER_BOUND),
        (101.0, f, k, t, True, IVStatus.ABOVE_UPPER_BOUND),
        (90.0, f, k, t, False, IVStatus.ABOVE_UPPER_BOUND),
        (np.nan, f, k, t, True, IVStatus.INVALID_INPUT),
        (np.inf, f, k, t, True, IVStatus.INVALID_INPUT),
        (1.0, -f, k, t, True, IVStatus.INVALID_INPUT),
        (1.0, f, 0.0, t, True, IVStatus.INVALID_INPUT),
        (1.0, f, k, 0.0, True, IVStatus.INVALID_INPUT),
        (1.0, f, k, -t, True, IVStatus.INVALID_INPUT),
    ]
    p, ff, kk, tt, cc, want = (np.array(col) for col in zip(*cases, strict=True))
    res = implied_vol(p, ff, kk, tt, cc.astype(bool), unit="usd")
    np.testing.assert_array_equal(res.status, want.astype(np.int8))
    assert np.isfinite(res.iv[0]) and np.isnan(res.iv[1:]).all()
    counts = status_counts(res.status)
    assert counts == {
        "OK": 1,
        "BELOW_INTRINSIC": 2,
        "ABOVE_UPPER_BOUND": 3,
        "INVALID_INPUT": 6,
        "NO_TIME_VALUE": 2,
    }


def test_shapes_broadcast() -> None:
    res = implied_vol(
        np.full((2, 3), 0.05), 60000.0, np.array([55000.0, 60000.0, 65000.0]), 0.1, "call", unit="coin"
    )
    assert res.iv.shape == res.status.shape == (2, 3)
    assert implied_vol(0.05, 60000.0, 60000.0, 0.1, "put", unit="coin").iv.shape == ()


# --------------------------------------------------------------------------------------------
# Deribit's real quotes


@pytest.fixture(scope="module")
def svcj(real_data_dir: Path) -> pd.DataFrame:
    return load_svcj_snapshots(svcj_daily_files(real_data_dir))


@pytest.mark.real_data
def test_inverts_every_svcj_mark(svcj: pd.DataFrame) -> None:
    f, k, t = (svcj[c].to_numpy() for c in ("forward", "strike", "t_years"))
    call = svcj["is_call"].to_numpy()
    res = implied_vol(svcj["mark_price"], f, k, t, call, unit="coin")
    counts = status_counts(res.status)
    assert counts["INVALID_INPUT"] == counts["ABOVE_UPPER_BOUND"] == 0
    # Zero marks have no time value; a few percent of deep ITM marks sit just below the
    # intrinsic value on the recorded forward (prices and forward are not quite simultaneous).
    assert counts["NO_TIME_VALUE"] == int((svcj["mark_price"] == 0).sum())
    below = res.status == IVStatus.BELOW_INTRINSIC
    assert (_intrinsic(f, k, call)[below] > 0).all()
    assert counts["OK"] / int((svcj["mark_price"] > 0).sum()) > 0.97
    ok = res.status == IVStatus.OK
    # mark_iv is rounded to 0.01 vol points and marks to 1e-8 coin.
    assert np.median(np.abs(res.iv[ok] - svcj["mark_iv"].to_numpy()[ok])) <= 1e-4


@pytest.mark.real_data
def test_round_trip_on_every_svcj_row(svcj: pd.DataFrame) -> None:
    f, k, t, sigma = (svcj[c].to_numpy() for c in ("forward", "strike", "t_years", "mark_iv"))
    checked = _check_round_trip(f, k, t, sigma, svcj["is_call"].to_numpy())
    assert checked > 360_000


def _tickers(data_dir: Path) -> list[pd.DataFrame]:
    frames = []
    for path in sorted((data_dir / "schepal_btc_tickers_2020").glob("btc_options_tickers_*.csv.gz")):
        raw = pd.read_csv(path)
        raw["expiry_ms"] = raw["expiration_timestamp"]
        frames.append(raw)
    for path in sorted((data_dir / "bottama_tickers_2021").glob("*.csv.gz")):
        raw = pd.read_csv(path)
        expiry = pd.to_datetime(raw["instrument_name"].str.split("-").str[1], format="%d%b%y", utc=True)
        raw["expiry_ms"] = (expiry + pd.Timedelta(hours=8)).dt.as_unit("ms").astype("int64")
        frames.append(raw)
    for df in frames:
        df["t_years"] = (df["expiry_ms"] - df["timestamp"]) / 1000 / black76.SECONDS_PER_YEAR
        df["strike"] = df["instrument_name"].str.split("-").str[2].astype(float)
        df["is_call"] = df["instrument_name"].str.endswith("-C")
    return frames


@pytest.mark.real_data
def test_2020_and_2021_quotes_invert_to_deribit_ivs(real_data_dir: Path) -> None:
    frames = _tickers(real_data_dir)
    assert len(frames) == 6
    for df in frames:
        f, k, t, call = (df[c].to_numpy() for c in ("underlying_price", "strike", "t_years", "is_call"))
        _check_round_trip(f, k, t, df["mark_iv"].to_numpy() / 100, call)
        marks = implied_vol(df["mark_price"], f, k, t, call, unit="coin")
        ok = marks.status == IVStatus.OK
        assert ok.mean() > 0.9
        # Looser than the rounding of mark_iv and mark_price alone: these marks reprice from
        # mark_iv only to 0.6e-4..3e-4 (relative), as the data README reports.
        assert np.median(np.abs(marks.iv[ok] - df["mark_iv"].to_numpy()[ok] / 100)) <= 6e-4
        # Deribit's bid_iv inverts best_bid_price the same way (checked on every quoted bid).
        bid, bid_iv = df["best_bid_price"].to_numpy(), df["bid_iv"].to_numpy() / 100
        quoted = (bid > 0) & (bid_iv > 0)
        bids = implied_vol(bid[quoted], f[quoted], k[quoted], t[quoted], call[quoted], unit="coin")
        assert (bids.status == IVStatus.OK).all()
        assert np.median(np.abs(bids.iv - bid_iv[quoted])) <= 5e-5
