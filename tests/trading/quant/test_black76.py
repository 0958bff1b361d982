"""Black-76 pricing and greeks: reference values, limits, properties, and Deribit's real marks."""

from __future__ import annotations

import ast
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.quant import black76
from trading.quant.black76 import (
    as_is_call,
    price,
    price_and_greeks,
    price_coin,
    year_fraction,
)
from trading.quant.datasets import load_svcj_snapshots, svcj_daily_files

# (F, K, T, sigma, is_call) -> (price_usd, delta, gamma, vega, theta, rho), computed with mpmath at
# 40 digits from the formulas in DERIBIT.md section 3.5 (theta with the cap and the 1-day scaling).
REFERENCE = [
    (
        (88728.94666666667, 82000.0, 0.045457324252129436 * 365.25 / 365, 0.4323, True),
        (
            7584.947437362384,
            0.8163335611583034,
            3.248182774845378e-05,
            50.28721389830023,
            -65.46643948829357,
            29.498114872292714,
        ),
    ),
    (
        (2978.5, 3300.0, 30 / 365, 0.65, False),
        (
            428.04817644036797,
            -0.6761221415581908,
            0.0006475261353527254,
            3.0689814104264883,
            -3.3247298612953626,
            -2.007022993209402,
        ),
    ),
    (
        (60000.0, 150000.0, 2 / 365, 1.2, True),
        (
            2.4072123798920855e-22,
            4.764356564710473e-25,
            9.266938825642287e-28,
            2.1935986699602564e-22,
            -2.4072123798920855e-22,
            1.5531735972752674e-24,
        ),
    ),
    (
        (100.0, 100.0, 1.0, 0.5, False),
        (
            19.741265136584744,
            -0.4012936743170763,
            0.007733362336056984,
            0.3866681168028492,
            -0.026484117589236248,
            -0.5987063256829237,
        ),
    ),
    (
        (50000.0, 20000.0, 0.25, 3.0, False),
        (
            6767.65638850667,
            -0.08677889107865941,
            2.107195672761032e-06,
            39.509918864269345,
            -64.94781183167564,
            -27.7665023560991,
        ),
    ),
]

GREEKS = ("price_usd", "delta", "gamma", "vega", "theta", "rho")


# --------------------------------------------------------------------------------------------
# time


def test_year_fraction_uses_a_365_day_year() -> None:
    now = datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert year_fraction(now + timedelta(days=365), now) == 1.0
    assert year_fraction(now + timedelta(hours=12), now) == pytest.approx(0.5 / 365, rel=1e-15)
    assert year_fraction(now, now + timedelta(days=1)) == pytest.approx(-1 / 365, rel=1e-15)


def test_year_fraction_accepts_other_zones_and_pandas() -> None:
    expiry = datetime(2026, 3, 27, 8, tzinfo=UTC)
    now_cet = datetime(2026, 3, 26, 9, tzinfo=timezone(timedelta(hours=1)))  # 08:00 UTC
    assert year_fraction(expiry, now_cet) == pytest.approx(1 / 365, rel=1e-15)
    assert year_fraction(pd.Timestamp(expiry), pd.Timestamp(now_cet)) == pytest.approx(1 / 365, rel=1e-15)


def test_year_fraction_vectorised_over_datetime64() -> None:
    now = np.datetime64("2026-01-01T08:00:00")
    expiries = np.array(["2026-01-02T08:00", "2026-01-31T08:00", "2027-01-01T08:00"], dtype="datetime64[ns]")
    np.testing.assert_allclose(year_fraction(expiries, now), [1 / 365, 30 / 365, 1.0], rtol=1e-15)
    series = pd.Series(pd.to_datetime(["2026-01-02T08:00Z", "2026-01-03T08:00Z"]))
    np.testing.assert_allclose(year_fraction(series, datetime(2026, 1, 1, 8, tzinfo=UTC)), [1 / 365, 2 / 365])


def test_year_fraction_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        year_fraction(datetime(2026, 1, 2, 8), datetime(2026, 1, 1, 8, tzinfo=UTC))


def test_as_is_call_reads_strings_and_rejects_unknown_types() -> None:
    np.testing.assert_array_equal(as_is_call(["call", "PUT", "C", "p"]), [True, False, True, False])
    np.testing.assert_array_equal(as_is_call(np.array([1, 0])), [True, False])
    with pytest.raises(ValueError, match="option type"):
        as_is_call(["call", "straddle"])


# --------------------------------------------------------------------------------------------
# reference values and backends


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize(("inputs", "expected"), REFERENCE)
def test_matches_high_precision_reference(
    backend: black76.Backend, inputs: tuple[float, float, float, float, bool], expected: tuple[float, ...]
) -> None:
    res = price_and_greeks(*inputs, backend=backend)
    # Far out of the money (price 4e-27 F) the time value is a difference of two nearly equal
    # tail probabilities, which costs a few digits; elsewhere the results are exact to rounding.
    rel = 1e-11 if expected[0] < 1e-15 * inputs[0] else 2e-13
    for name, want in zip(GREEKS, expected, strict=True):
        assert float(getattr(res, name)) == pytest.approx(want, rel=rel, abs=0.0), name
    assert float(res.price_coin) == pytest.approx(expected[0] / inputs[0], rel=rel)


def test_backends_agree_on_random_inputs() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    f = rng.uniform(100, 100_000, n)
    k = f * np.exp(rng.normal(0, 0.7, n))
    t = np.concatenate([rng.uniform(0, 2, n - 4), [0.0, 0.0, 1e-9, 1.0]])
    v = np.concatenate([rng.uniform(0, 3, n - 4), [0.5, 0.0, 0.8, 0.0]])
    c = rng.random(n) < 0.5
    a = price_and_greeks(f, k, t, v, c)
    b = price_and_greeks(f, k, t, v, c, backend="numba")
    # Relative agreement to 1e-12, except for values that are rounding noise on their scale
    # (e.g. far out-of-the-money prices of 1e-200 USD computed through different erfc codes).
    scale = {"price_usd": f, "theta": f, "vega": f, "rho": k, "price_coin": 1.0, "delta": 1.0, "gamma": 0.0}
    for name in a._fields:
        atol = 1e-14 * np.max(scale[name])
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=atol, err_msg=name)


def test_single_greek_functions_match_the_fused_result() -> None:
    args = (np.array([60000.0, 61000.0]), np.array([65000.0, 55000.0]), 0.1, 0.6, np.array([True, False]))
    res = price_and_greeks(*args)
    np.testing.assert_array_equal(black76.delta(*args), res.delta)
    np.testing.assert_array_equal(black76.gamma(*args[:4]), res.gamma)
    np.testing.assert_array_equal(black76.vega(*args[:4]), res.vega)
    np.testing.assert_array_equal(black76.theta(*args), res.theta)
    np.testing.assert_array_equal(black76.rho(*args), res.rho)
    np.testing.assert_allclose(price(*args), res.price_usd, rtol=1e-15)
    np.testing.assert_allclose(price_coin(*args), res.price_coin, rtol=1e-15)


def test_shapes_broadcast_and_scalars_give_0d_arrays() -> None:
    out = price(60000.0, np.array([[50000.0], [70000.0]]), np.array([0.1, 0.2, 0.3]), 0.5, "call")
    assert out.shape == (2, 3)
    scalar = price(60000.0, 60000.0, 0.1, 0.5, True)
    assert scalar.shape == ()
    assert price_and_greeks(60000.0, 60000.0, 0.1, 0.5, "put").delta.shape == ()
    with pytest.raises(ValueError, match="backend"):
        price(1.0, 1.0, 1.0, 1.0, True, backend="fortran")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# greeks against finite differences


def test_greeks_are_the_derivatives_of_the_price() -> None:
    f, k, t, v = 3000.0, np.array([2400.0, 3000.0, 3600.0]), 40 / 365, 0.7
    for call in (True, False):
        res = price_and_greeks(f, k, t, v, call)
        h = 1e-3
        d_f = (price(f + h, k, t, v, call) - price(f - h, k, t, v, call)) / (2 * h)
        np.testing.assert_allclose(res.delta, d_f, rtol=1e-7)
        d2_f = (price(f + 1, k, t, v, call) - 2 * price(f, k, t, v, call) + price(f - 1, k, t, v, call)) / 1.0
        np.testing.assert_allclose(res.gamma, d2_f, rtol=1e-5)
        d_v = (price(f, k, t, v + 1e-6, call) - price(f, k, t, v - 1e-6, call)) / 2e-6
        np.testing.assert_allclose(res.vega, d_v / 100, rtol=1e-7)
        # More than a day to expiry, theta is the one-day decay rate -dP/dT / 365.
        d_t = (price(f, k, t + 1e-7, v, call) - price(f, k, t - 1e-7, v, call)) / 2e-7
        np.testing.assert_allclose(res.theta, -d_t / 365, rtol=1e-6)


def test_net_delta_is_the_coin_exposure() -> None:
    f, k, t, v = 60000.0, np.array([50000.0, 60000.0, 75000.0]), 20 / 365, 0.6
    for call in (True, False):
        res = price_and_greeks(f, k, t, v, call)
        h = 1e-2
        d_coin = (price_coin(f + h, k, t, v, call) - price_coin(f - h, k, t, v, call)) / (2 * h)
        net = black76.net_delta(res.delta, res.price_coin)
        np.testing.assert_allclose(net, f * d_coin, rtol=1e-6, atol=1e-9)


def test_theta_scales_below_one_day_and_is_floored_at_minus_the_value() -> None:
    f, v = 45000.0, 0.78
    t = 0.5 / 365  # half a day
    res = price_and_greeks(f, 45000.0, t, v, True)
    rate = float(price_and_greeks(f, 45000.0, t, v, True, backend="numba").vega) * 100 * v / (2 * t) / 365
    assert float(res.theta) == pytest.approx(-rate * 0.5, rel=1e-12)
    # Far out of the money with hours to go, one day of decay would exceed the option's value.
    far = price_and_greeks(f, 52000.0, 3 / 24 / 365, v, True)
    assert float(far.theta) == -float(far.price_usd)


# --------------------------------------------------------------------------------------------
# limits and invalid input


def test_expiry_and_zero_vol_limits() -> None:
    k = np.array([90.0, 100.0, 110.0])
    for t, v in ((0.0, 0.5), (1.0, 0.0)):
        call = price_and_greeks(100.0, k, t, v, True)
        put = price_and_greeks(100.0, k, t, v, False)
        np.testing.assert_array_equal(call.price_usd, [10.0, 0.0, 0.0])
        np.testing.assert_array_equal(put.price_usd, [0.0, 0.0, 10.0])
        np.testing.assert_array_equal(call.delta, [1.0, 0.5, 0.0])
        np.testing.assert_array_equal(put.delta, [0.0, -0.5, -1.0])
        np.testing.assert_array_equal(call.gamma, [0.0, np.inf, 0.0])
        np.testing.assert_array_equal(call.theta, [0.0, 0.0, 0.0])
        assert not np.isnan(call.rho).any()
    # With time left and no volatility, vega at the strike is the slope F phi(0) sqrt(T) / 100.
    assert float(price_and_greeks(100.0, 100.0, 1.0, 0.0, True).vega) == pytest.approx(
        100 / np.sqrt(2 * np.pi) / 100
    )


def test_price_is_continuous_into_expiry() -> None:
    k = np.array([50000.0, 60000.0, 70000.0])
    for t in (1e-6, 1e-9, 1e-12):
        np.testing.assert_allclose(
            price(60000.0, k, t, 0.8, True), [10000.0, 0.0, 0.0], atol=60000 * np.sqrt(t)
        )


def test_deep_out_of_the_money_is_tiny_positive_or_zero_never_nan() -> None:
    k = np.geomspace(1e-3, 1e7, 500)
    for call in (True, False):
        res = price_and_greeks(1000.0, k, np.array([[1e-8], [0.01], [3.0]]), 2.5, call)
        for name in res._fields:
            assert not np.isnan(getattr(res, name)).any(), name
        assert (res.price_usd >= 0).all()
        intrinsic = np.maximum(1000.0 - k, 0) if call else np.maximum(k - 1000.0, 0)
        assert (res.price_usd >= intrinsic).all()


def test_invalid_inputs_give_nan_without_warnings() -> None:
    f = np.array([-1.0, 100.0, 100.0, 100.0, 100.0, np.nan, np.inf, 100.0, 0.0])
    k = np.array([100.0, -5.0, 100.0, 100.0, 100.0, 100.0, 100.0, 0.0, 100.0])
    t = np.array([1.0, 1.0, -0.1, 1.0, np.nan, 1.0, 1.0, 1.0, 1.0])
    v = np.array([0.5, 0.5, 0.5, -0.2, 0.5, 0.5, 0.5, 0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for backend in ("numpy", "numba"):
            res = price_and_greeks(f, k, t, v, True, backend=backend)  # type: ignore[arg-type]
            for name in res._fields:
                assert np.isnan(getattr(res, name)).all(), (backend, name)
        valid_and_not = price(np.array([100.0, -100.0]), 100.0, 1.0, 0.5, True)
    assert np.isfinite(valid_and_not[0]) and np.isnan(valid_and_not[1])


# --------------------------------------------------------------------------------------------
# properties

forwards = st.floats(1.0, 1e6)
log_moneyness = st.floats(-4.0, 4.0)
years = st.floats(0.0, 3.0)
vols = st.floats(0.0, 5.0)


@settings(max_examples=300, deadline=None)
@given(f=forwards, m=log_moneyness, t=years, v=vols)
def test_put_call_parity(f: float, m: float, t: float, v: float) -> None:
    k = f * np.exp(m)
    c = float(price(f, k, t, v, True))
    p = float(price(f, k, t, v, False))
    assert c - p == pytest.approx(f - k, abs=4e-16 * max(f, k) * 4)
    res_c = price_and_greeks(f, k, t, v, True)
    res_p = price_and_greeks(f, k, t, v, False)
    assert float(res_c.delta - res_p.delta) == pytest.approx(1.0, abs=1e-15)


@settings(max_examples=300, deadline=None)
@given(f=forwards, m=log_moneyness, t=years, v=vols, call=st.booleans())
def test_no_arbitrage_bounds_and_monotonicity(f: float, m: float, t: float, v: float, call: bool) -> None:
    k = f * np.exp(m)
    p = float(price(f, k, t, v, call))
    intrinsic = max(f - k, 0.0) if call else max(k - f, 0.0)
    upper = f if call else k
    assert intrinsic <= p <= upper * (1 + 1e-15)
    # Increasing in sigma and in T, up to the absolute rounding of the price (a few ulps of F, K).
    noise = 4 * np.finfo(np.float64).eps * max(f, k)
    assert float(price(f, k, t, v * 1.01 + 1e-6, call)) >= p - noise
    assert float(price(f, k, t * 1.01 + 1e-9, v, call)) >= p - noise


# --------------------------------------------------------------------------------------------
# Deribit's real marks


@pytest.fixture(scope="module")
def svcj(real_data_dir: Path) -> pd.DataFrame:
    df = load_svcj_snapshots(svcj_daily_files(real_data_dir))
    return df[df["mark_price"] > 0].reset_index(drop=True)


@pytest.mark.real_data
def test_reprices_every_svcj_mark_from_mark_iv(svcj: pd.DataFrame) -> None:
    assert len(svcj) > 370_000
    assert svcj["timestamp"].nunique() == 236
    res = price_and_greeks(svcj["forward"], svcj["strike"], svcj["t_years"], svcj["mark_iv"], svcj["is_call"])
    rel = np.abs(res.price_coin - svcj["mark_price"].to_numpy()) / svcj["mark_price"].to_numpy()
    # mark_iv is rounded to 0.01 vol points and the snapshot time is the collector's start.
    assert np.median(rel) <= 2e-4
    for currency in ("BTC", "ETH"):
        assert np.median(rel[(svcj["currency"] == currency).to_numpy()]) <= 2e-4, currency
    # Deribit's greeks were fetched up to minutes after the prices (with a later forward and
    # time to expiry), hence looser bounds than for the 2020/2021 tickers below: the median
    # delta error is 1.1e-4 here (per snapshot from 1e-5 to 1e-3), the vega error 0.1 %.
    assert np.median(np.abs(res.delta - svcj["delta"].to_numpy())) <= 2e-4
    vega = svcj["vega"].to_numpy()
    big = vega > 0.01
    assert np.median(np.abs(res.vega[big] - vega[big]) / vega[big]) <= 2e-3


def _tickers_2020(data_dir: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((data_dir / "schepal_btc_tickers_2020").glob("btc_options_tickers_*.csv.gz")):
        raw = pd.read_csv(path)
        greeks = pd.DataFrame([ast.literal_eval(g) for g in raw["greeks"]])
        frames.append(pd.concat([raw.drop(columns=["greeks"]), greeks], axis=1))
    df = pd.concat(frames, ignore_index=True)
    df["expiry_ms"] = df["expiration_timestamp"]
    return df


def _tickers_2021(data_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted((data_dir / "bottama_tickers_2021").glob("*.csv.gz"))]
    df = pd.concat(frames, ignore_index=True).rename(columns=lambda c: c.removeprefix("greeks."))
    expiry = pd.to_datetime(df["instrument_name"].str.split("-").str[1], format="%d%b%y", utc=True)
    df["expiry_ms"] = (expiry + pd.Timedelta(hours=8)).dt.as_unit("ms").astype("int64")
    return df


def _check_ticker_greeks(df: pd.DataFrame) -> None:
    t = (df["expiry_ms"] - df["timestamp"]).to_numpy() / 1000 / black76.SECONDS_PER_YEAR
    is_call = df["instrument_name"].str.endswith("-C").to_numpy()
    k = df["instrument_name"].str.split("-").str[2].astype(float).to_numpy()
    f = df["underlying_price"].to_numpy()
    res = price_and_greeks(f, k, t, df["mark_iv"].to_numpy() / 100, is_call)
    mark = df["mark_price"].to_numpy()
    positive = mark > 0
    assert np.median(np.abs(res.price_coin[positive] / mark[positive] - 1)) <= 2e-4
    assert np.median(np.abs(res.delta - df["delta"].to_numpy())) <= 1e-5
    assert np.median(np.abs(res.gamma - df["gamma"].to_numpy())) <= 5e-6  # reported to 5 decimals
    for name in ("vega", "rho"):
        ref = df[name].to_numpy()
        assert np.median(np.abs(getattr(res, name) - ref) / np.maximum(np.abs(ref), 1e-4)) <= 1e-4, name
    theta = df["theta"].to_numpy()
    rel_theta = np.abs(res.theta - theta) / np.maximum(np.abs(theta), 1e-3)
    assert np.median(rel_theta) <= 1e-4
    # Within a day of expiry the rate is scaled by the days left (and floored at -value): without
    # the scaling these would be off by a factor 1/T_days, 1.5 to 10 here.
    short = t * 365 < 1
    assert short.sum() > 50
    assert np.percentile(rel_theta[short], 90) <= 2e-2


@pytest.mark.real_data
def test_reprices_2020_tickers_with_greeks(real_data_dir: Path) -> None:
    df = _tickers_2020(real_data_dir)
    assert len(df) == 636
    _check_ticker_greeks(df)


@pytest.mark.real_data
def test_reprices_2021_tickers_with_greeks(real_data_dir: Path) -> None:
    df = _tickers_2021(real_data_dir)
    assert len(df) == 3034
    for currency in ("BTC", "ETH"):
        _check_ticker_greeks(df[df["instrument_name"].str.startswith(currency)])


@pytest.mark.real_data
def test_reprices_the_tardis_preview_rows(real_data_dir: Path) -> None:
    df = pd.read_csv(
        real_data_dir / "tardis_docs_preview" / "deribit_options_chain_2020-06-08_docs_preview.csv"
    )
    t = (df["expiration"] - df["timestamp"]).to_numpy() / 1e6 / black76.SECONDS_PER_YEAR
    res = price_and_greeks(df["underlying_price"], df["strike_price"], t, df["mark_iv"] / 100, df["type"])
    np.testing.assert_allclose(res.price_coin, df["mark_price"], rtol=5e-4)
    np.testing.assert_allclose(res.delta, df["delta"], atol=2e-5)
    np.testing.assert_allclose(res.vega, df["vega"], rtol=2e-4)
    np.testing.assert_allclose(res.theta, df["theta"], rtol=2e-4)
