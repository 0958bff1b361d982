"""Option names, the expiry listing schedule and strike grids, checked against real Deribit chains."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.quant.datasets import load_svcj_snapshots, svcj_daily_files
from trading.quant.instruments import (
    InstrumentNameError,
    OptionInstrument,
    atm_strike_step,
    expiry_kind,
    format_expiry_code,
    listed_expiries,
    nice_step,
    parse_expiry_code,
    parse_instrument,
    parse_instrument_names,
    strike_grid,
)

# --------------------------------------------------------------------------------------------
# names


@pytest.mark.parametrize(
    ("name", "underlying", "settlement", "expiry", "strike", "option_type"),
    [
        ("BTC-27DEC24-100000-C", "BTC", "BTC", datetime(2024, 12, 27, 8, tzinfo=UTC), 100000.0, "call"),
        ("ETH-5JAN26-3500-P", "ETH", "ETH", datetime(2026, 1, 5, 8, tzinfo=UTC), 3500.0, "put"),
        ("BTC_USDC-27DEC24-100000-C", "BTC", "USDC", datetime(2024, 12, 27, 8, tzinfo=UTC), 100000.0, "call"),
        ("XRP_USDC-30JUN23-0d625-C", "XRP", "USDC", datetime(2023, 6, 30, 8, tzinfo=UTC), 0.625, "call"),
        ("SOL_USDC-1FEB25-212d5-P", "SOL", "USDC", datetime(2025, 2, 1, 8, tzinfo=UTC), 212.5, "put"),
    ],
)
def test_parse_and_format(
    name: str, underlying: str, settlement: str, expiry: datetime, strike: float, option_type: str
) -> None:
    inst = parse_instrument(name)
    assert inst == OptionInstrument(underlying, settlement, expiry, strike, option_type)  # type: ignore[arg-type]
    assert inst.name == str(inst) == name
    assert inst.linear == (settlement == "USDC")
    assert inst.is_call == (option_type == "call")
    assert inst.expiry.tzinfo is UTC


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("BTC-05AUG23-580-P", "leading zero"),
        ("BTC-31FEB24-1000-C", "not a calendar date"),
        ("BTC-1Jan24-1000-C", "not D"),
        ("BTC-1XYZ24-1000-C", "unknown month"),
        ("BTC-1JAN24-0100-C", "strike '0100'"),
        ("BTC-1JAN24-1d50-C", "strike '1d50'"),
        ("BTC-1JAN24-1.5-C", "strike '1.5'"),
        ("BTC-1JAN24-1000-X", "option type 'X'"),
        ("BTC-1JAN24-1000", "4 parts"),
        ("btc-1JAN24-1000-C", "underlying 'btc'"),
        ("BTC_BTC-1JAN24-1000-C", "repeats the underlying"),
        ("BTC-PERPETUAL", "4 parts"),
    ],
)
def test_bad_names_say_what_is_wrong(name: str, reason: str) -> None:
    with pytest.raises(InstrumentNameError, match=reason) as info:
        parse_instrument(name)
    assert name in str(info.value)
    assert info.value.name == name


def test_non_strings_are_rejected() -> None:
    with pytest.raises(InstrumentNameError, match="expected a string"):
        parse_instrument(123)  # type: ignore[arg-type]


def test_instrument_validation_and_zone_normalisation() -> None:
    expiry = datetime(2026, 3, 27, 8, tzinfo=timezone(timedelta(0)))
    inst = OptionInstrument("BTC", "BTC", expiry, 90000, "call")
    assert inst.expiry.tzinfo is UTC and isinstance(inst.strike, float)
    with pytest.raises(ValueError, match="aware UTC"):
        OptionInstrument("BTC", "BTC", datetime(2026, 3, 27, 8), 90000.0, "call")
    with pytest.raises(ValueError, match="aware UTC"):
        OptionInstrument(
            "BTC", "BTC", datetime(2026, 3, 27, 9, tzinfo=timezone(timedelta(hours=1))), 1.0, "call"
        )
    with pytest.raises(ValueError, match="strike"):
        OptionInstrument("BTC", "BTC", expiry, -1.0, "call")
    with pytest.raises(ValueError, match="option_type"):
        OptionInstrument("BTC", "BTC", expiry, 1.0, "C")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="underlying"):
        OptionInstrument("BTC_USDC", "USDC", expiry, 1.0, "call")


def test_expiry_codes() -> None:
    assert format_expiry_code(date(2026, 1, 5)) == "5JAN26"
    assert parse_expiry_code("27DEC24") == datetime(2024, 12, 27, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="leading zero"):
        parse_expiry_code("05JAN26")


@settings(max_examples=300, deadline=None)
@given(
    underlying=st.sampled_from(["BTC", "ETH", "XRP", "SOL"]),
    linear=st.booleans(),
    day=st.dates(date(2019, 1, 1), date(2099, 12, 31)),
    strike=st.one_of(
        st.integers(1, 10**7).map(float),
        st.decimals("0.001", "100000", places=3).map(float),
    ),
    call=st.booleans(),
)
def test_names_round_trip(underlying: str, linear: bool, day: date, strike: float, call: bool) -> None:
    inst = OptionInstrument(
        underlying,
        "USDC" if linear else underlying,
        datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=8),
        strike,
        "call" if call else "put",
    )
    assert parse_instrument(inst.name) == inst


# --------------------------------------------------------------------------------------------
# vectorised parsing


def test_column_parser_matches_the_scalar_parser() -> None:
    names = ["BTC-27DEC24-100000-C", "ETH-5JAN26-3500-P", "XRP_USDC-30JUN23-0d625-C", "BTC-27DEC24-100000-C"]
    cols = parse_instrument_names(pd.Series(names))
    for i, name in enumerate(names):
        inst = parse_instrument(name)
        assert cols.underlying[i] == inst.underlying
        assert cols.settlement_currency[i] == inst.settlement_currency
        assert pd.Timestamp(cols.expiry[i], tz="UTC") == inst.expiry
        assert cols.strike[i] == inst.strike
        assert cols.is_call[i] == inst.is_call
    assert cols.valid.all()
    assert cols.expiry.dtype == np.dtype("datetime64[ns]")


def test_column_parser_raises_on_the_first_bad_name_or_coerces() -> None:
    names = ["BTC-27DEC24-100000-C", "BTC-05AUG23-580-P", None, "junk"]
    with pytest.raises(InstrumentNameError, match=r"BTC-05AUG23-580-P.*leading zero"):
        parse_instrument_names(names)
    cols = parse_instrument_names(names, errors="coerce")
    np.testing.assert_array_equal(cols.valid, [True, False, False, False])
    assert np.isnan(cols.strike[1:]).all() and np.isnat(cols.expiry[1:]).all()
    assert list(cols.underlying) == ["BTC", "", "", ""]
    with pytest.raises(InstrumentNameError, match="missing name"):
        parse_instrument_names(["BTC-27DEC24-100000-C", None])
    empty = parse_instrument_names([])
    assert empty.strike.shape == (0,)


@pytest.fixture(scope="module")
def snapshots(real_data_dir: Path) -> pd.DataFrame:
    return load_svcj_snapshots(svcj_daily_files(real_data_dir))


@pytest.mark.real_data
def test_column_parser_on_every_real_name(snapshots: pd.DataFrame) -> None:
    start = time.perf_counter()
    cols = parse_instrument_names(snapshots["instrument_name"])
    elapsed = time.perf_counter() - start
    assert len(snapshots) > 370_000
    assert cols.valid.all()
    np.testing.assert_array_equal(
        cols.expiry, snapshots["expiry"].dt.tz_localize(None).to_numpy("datetime64[ns]")
    )
    np.testing.assert_array_equal(cols.strike, snapshots["strike"].to_numpy())
    np.testing.assert_array_equal(cols.is_call, snapshots["is_call"].to_numpy())
    np.testing.assert_array_equal(cols.underlying, snapshots["currency"].to_numpy(dtype=object))
    # A per-row Python parse takes about a second here; the column parser a tenth of that.
    assert elapsed < 3.0
    unique = snapshots["instrument_name"].unique()
    assert all(parse_instrument(n).name == n for n in unique)


# --------------------------------------------------------------------------------------------
# listing schedule


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_schedule_on_a_thursday_and_a_friday() -> None:
    thursday = listed_expiries(_dt("2026-04-09T10:00"))
    assert [format_expiry_code(e) for e in thursday] == [
        "10APR26", "11APR26", "12APR26", "13APR26",  # dailies
        "17APR26", "24APR26", "1MAY26",  # weeklies (four Fridays from Thursday 08:00)
        "29MAY26", "26JUN26",  # monthlies (APR is the 24th)
        "25SEP26", "25DEC26", "26MAR27",  # quarterlies
    ]  # fmt: skip
    friday = listed_expiries(_dt("2026-04-10T10:00"))
    assert "10APR26" not in map(format_expiry_code, friday)
    assert "14APR26" in map(format_expiry_code, friday)
    assert all(e.hour == 8 and e.minute == 0 and e.tzinfo is UTC for e in friday)


def test_new_series_are_listed_the_day_before_an_expiry() -> None:
    # 2026-03-27 is a quarterly expiry: 26MAR27 appears at 08:00 on the 26th, not before.
    before = listed_expiries(_dt("2026-03-26T07:59"))
    after = listed_expiries(_dt("2026-03-26T08:00"))
    assert datetime(2027, 3, 26, 8, tzinfo=UTC) not in before
    assert datetime(2027, 3, 26, 8, tzinfo=UTC) in after
    with pytest.raises(ValueError, match="naive"):
        listed_expiries(datetime(2026, 1, 1))


def test_expiry_kinds() -> None:
    assert expiry_kind(date(2026, 3, 27)) == "quarterly"
    assert expiry_kind(date(2026, 4, 24)) == "monthly"
    assert expiry_kind(date(2026, 4, 17)) == "weekly"
    assert expiry_kind(datetime(2026, 4, 18, 8, tzinfo=UTC)) == "daily"


@pytest.mark.real_data
def test_schedule_matches_every_real_chain(snapshots: pd.DataFrame) -> None:
    chains = snapshots.groupby(["currency", "timestamp"])["expiry"].unique()
    assert len(chains) == 472
    mismatched = []
    for (currency, stamp), expiries in chains.items():
        listed = {e.to_pydatetime() for e in pd.DatetimeIndex(expiries)}
        if listed != set(listed_expiries(stamp.to_pydatetime())):
            mismatched.append((currency, stamp))
    # The one exception: the ETH chain stamped 07:59:31 was fetched after the 08:00 expiry.
    assert mismatched == [("ETH", pd.Timestamp("2026-06-12 07:59:31.882175", tz="UTC"))]
    fetched_later = snapshots[(snapshots["currency"] == "ETH") & (snapshots["timestamp"] == mismatched[0][1])]
    assert set(pd.DatetimeIndex(fetched_later["expiry"].unique()).to_pydatetime()) == set(
        listed_expiries(_dt("2026-06-12T08:01"))
    )


# --------------------------------------------------------------------------------------------
# strike grids


def test_nice_steps() -> None:
    assert [nice_step(x) for x in (0.9, 1.4, 1.6, 2.3, 3.4, 4.0, 7.5, 8.0, 620.0)] == [
        1.0, 1.0, 2.0, 2.5, 2.5, 5.0, 10.0, 10.0, 500.0,
    ]  # fmt: skip
    assert atm_strike_step("BTC", 77000.0, 1 / 365) == 500.0
    assert atm_strike_step("BTC", 77000.0, 10 / 365) == 1000.0
    assert atm_strike_step("ETH", 2400.0, 10 / 365) == 50.0


@settings(max_examples=200, deadline=None)
@given(
    underlying=st.sampled_from(["BTC", "ETH", "SOL"]),
    forward=st.floats(0.5, 500_000.0),
    days=st.floats(0.0, 400.0),
    max_strikes=st.integers(5, 120),
)
def test_grid_properties(underlying: str, forward: float, days: float, max_strikes: int) -> None:
    grid = strike_grid(underlying, forward, days / 365, max_strikes=max_strikes)
    assert 1 <= grid.size <= max_strikes
    assert (np.diff(grid) > 0).all() and (grid > 0).all()
    step = atm_strike_step(underlying, forward, days / 365)
    assert np.allclose(grid / step, np.round(grid / step), rtol=0, atol=1e-6)
    assert np.min(np.abs(grid - forward)) <= max(step, forward)  # a strike near the money
    assert grid.min() <= forward * 1.01 or grid.size == max_strikes or grid.min() == step


@pytest.mark.real_data
def test_grids_resemble_the_real_chains(snapshots: pd.DataFrame) -> None:
    df = snapshots.drop_duplicates(["currency", "timestamp", "expiry", "strike"])
    df = df.sort_values(["currency", "timestamp", "expiry", "strike"])
    chain_id = df.groupby(["currency", "timestamp", "expiry"], sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.diff(chain_id, prepend=-1))
    forward = df.groupby(chain_id)["forward"].median().to_numpy()
    strikes_all = df["strike"].to_numpy()
    currency = df["currency"].to_numpy()[starts]
    expiry = pd.DatetimeIndex(df["expiry"].iloc[starts])
    t_years = (expiry - pd.DatetimeIndex(df["timestamp"].iloc[starts])).total_seconds() / (365 * 86400)
    kinds = [expiry_kind(e) for e in expiry.to_pydatetime()]
    rows = []
    for j, (lo, hi) in enumerate(zip(starts, [*starts[1:], len(df)], strict=True)):
        strikes, f, t = strikes_all[lo:hi], float(forward[j]), float(t_years[j])
        grid = strike_grid(str(currency[j]), f, t, kind=kinds[j])
        i = int(np.searchsorted(strikes, f))
        real_step = float(np.median(np.diff(strikes)[max(i - 3, 0) : i + 2]))
        ends = (strikes[0], strikes[-1], grid[0], grid[-1])
        step_ratio = atm_strike_step(str(currency[j]), f, t) / real_step
        rows.append((kinds[j], step_ratio, grid.size / strikes.size, *(np.log(e / f) for e in ends)))
    r = pd.DataFrame(rows, columns=["kind", "step_ratio", "count_ratio", "lo", "hi", "glo", "ghi"])
    assert len(r) == 5610  # 236 days x 2 currencies x about 12 expiries
    # ATM spacing: equal to Deribit's in most chains, within a factor 2 in nearly all.
    assert r["step_ratio"].between(0.5, 2.0).mean() > 0.95
    assert (r["step_ratio"] == 1.0).mean() > 0.6
    assert r["count_ratio"].between(0.5, 2.0).mean() > 0.9
    # Range of moneyness per series, in log-moneyness, against the real medians.
    by_kind = r.groupby("kind")[["lo", "hi", "glo", "ghi"]].median()
    assert (np.abs(by_kind["glo"] - by_kind["lo"]) < 0.1).all()
    assert (np.abs(by_kind["ghi"] - by_kind["hi"]) < 0.3).all()
