"""Synthetic index paths and option chains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from trading.quant import svi
from trading.quant.candidates import CHAIN_COLUMNS, candidate_table
from trading.quant.instruments import listed_expiries, strike_grid
from trading.quant.synthetic import (
    SyntheticChain,
    SyntheticChainConfig,
    UnderlyingConfig,
    iter_synthetic_chains,
    round_to_tick,
    simulate_underlying,
    synthetic_chains,
    tick_size,
)
from trading.quant.synthetic.surface import ssvi_raw_params, term_structure_atm_vol

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def path() -> pd.DataFrame:
    # 40 days of hourly bars: 30 days of realised-vol warm-up, then chains
    return simulate_underlying(start=START, n_bars=24 * 40, seed=11)


@pytest.fixture(scope="module")
def chain(path: pd.DataFrame) -> SyntheticChain:
    tail = path.iloc[-24 * 3 :]  # 3 days: a listing day boundary at 08:00 inside
    return synthetic_chains(tail.index, tail["close"].to_numpy(), seed=5)


def test_underlying_is_deterministic_and_consistent(path: pd.DataFrame) -> None:
    again = simulate_underlying(start=START, n_bars=24 * 40, seed=11)
    pd.testing.assert_frame_equal(path, again)
    other = simulate_underlying(start=START, n_bars=24 * 40, seed=12)
    assert not np.allclose(path["close"], other["close"])
    assert (path["low"] <= path[["open", "close"]].min(axis=1)).all()
    assert (path["high"] >= path[["open", "close"]].max(axis=1)).all()
    np.testing.assert_array_equal(path["open"].to_numpy()[1:], path["close"].to_numpy()[:-1])
    assert pd.DatetimeIndex(path.index).tz is not None
    assert (np.diff(path.index) == pd.Timedelta(hours=1)).all()
    with pytest.raises(ValueError, match="timezone"):
        simulate_underlying(start=datetime(2026, 1, 1), n_bars=10)


def test_underlying_vol_matches_its_parameters() -> None:
    # No jumps, no vol-of-vol: a plain GBM at 60 %; a year of hourly closes pins it to ~1 %.
    cfg = UnderlyingConfig(vol_long=0.6, vol_of_vol=0.0, jump_intensity=0.0, substeps=1)
    bars = simulate_underlying(start=START, n_bars=8760, config=cfg, seed=1)
    r = np.diff(np.log(bars["close"].to_numpy()))
    assert np.sqrt(np.mean(r * r) * 8760) == pytest.approx(0.6, rel=0.04)  # 4 s.e.
    assert np.allclose(bars["vol"], 0.6)


def test_config_is_frozen_and_validated() -> None:
    cfg = SyntheticChainConfig()
    with pytest.raises(ValidationError):
        cfg.vrp_factor = 2.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        SyntheticChainConfig(vrp_factor=-1.0)
    with pytest.raises(ValidationError):
        SyntheticChainConfig(iv_min=0.5, iv_max=0.4)
    with pytest.raises(ValidationError):
        SyntheticChainConfig(no_such_field=1)  # type: ignore[call-arg]
    assert SyntheticChainConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_chains_are_deterministic(path: pd.DataFrame, chain: SyntheticChain) -> None:
    tail = path.iloc[-24 * 3 :]
    again = synthetic_chains(tail.index, tail["close"].to_numpy(), seed=5)
    for field in ("mark_iv", "bid_price_coin", "ask_price_coin", "forward", "open_interest"):
        np.testing.assert_array_equal(getattr(chain, field), getattr(again, field))
    other = synthetic_chains(tail.index, tail["close"].to_numpy(), seed=6)
    assert not np.array_equal(chain.forward, other.forward)


def test_iterator_and_one_shot_agree(path: pd.DataFrame, chain: SyntheticChain) -> None:
    tail = path.iloc[-24 * 3 :]
    batches = list(iter_synthetic_chains(tail.index, tail["close"].to_numpy(), seed=5))
    assert len(batches) == 4  # 3 days of hourly steps from 00:00 cross 08:00 three times
    assert sum(len(b) for b in batches) == len(chain)
    np.testing.assert_array_equal(np.concatenate([b.mark_price_coin for b in batches]), chain.mark_price_coin)
    names = np.concatenate([b.names[b.instrument] for b in batches])
    np.testing.assert_array_equal(names, chain.names[chain.instrument])


def test_a_dte_cap_keeps_the_same_options_at_the_same_prices(
    path: pd.DataFrame, chain: SyntheticChain
) -> None:
    """Listing only expiries within 30 days leaves out the far ones and changes nothing else."""
    tail = path.iloc[-24 * 3 :]
    near = synthetic_chains(tail.index, tail["close"].to_numpy(), seed=5, max_dte_days=30)
    assert 0 < len(near) < len(chain)
    full = chain.to_frame().set_index(["timestamp", "instrument_name"])
    cut = near.to_frame().set_index(["timestamp", "instrument_name"])
    listing_days = cut.index.get_level_values(0).floor("D")
    assert ((cut["expiry"] - listing_days).dt.days <= 31).all()
    pd.testing.assert_frame_equal(cut, full.loc[cut.index], check_categorical=False)
    assert near.step_arrays(5).row_of is None  # several listing days: no shared row map
    day = list(iter_synthetic_chains(tail.index, tail["close"].to_numpy(), seed=5, max_dte_days=30))[1]
    i = int(np.flatnonzero(np.diff(day.step_offsets))[3])
    step = day.step_arrays(i)
    assert step.row_of is not None
    assert all(step.row_of[str(n)] == row for row, n in enumerate(step.instrument_name))


def test_a_dte_cap_lists_the_same_strikes_when_an_expiry_comes_near() -> None:
    """Over months the far expiries' strike grids move with the index; with the cap they are laid
    out the same way, so an expiry entering the capped listing has exactly the full listing's strikes."""
    daily = simulate_underlying(start=START, n_bars=240, bar=timedelta(days=1), seed=3)
    full = synthetic_chains(daily.index, daily["close"].to_numpy(), seed=2, quote_ivs=False)
    near = synthetic_chains(daily.index, daily["close"].to_numpy(), seed=2, quote_ivs=False, max_dte_days=30)
    frames = []
    for chains in (near, full):
        frame = chains.to_frame()
        frame["instrument_name"] = frame["instrument_name"].astype(str)
        frames.append(frame.set_index(["timestamp", "instrument_name"]).sort_index())
    cut, whole = frames
    within = whole[(whole["expiry"] - whole.index.get_level_values(0)) <= pd.Timedelta(days=30)]
    assert len(cut) > 0 and cut.index.equals(within.index)
    pd.testing.assert_frame_equal(cut, within)


def test_chain_follows_the_listing_schedule(chain: SyntheticChain) -> None:
    for i in range(len(chain.timestamps)):
        frame = chain.at(i)
        now = pd.Timestamp(chain.timestamps[i], tz="UTC").to_pydatetime()
        assert sorted(frame["expiry"].unique()) == [pd.Timestamp(e) for e in listed_expiries(now)]
        assert (frame["t_years"] > 0).all()
        counts = frame.groupby(["expiry", "strike"])["option_type"].agg(sorted)
        assert counts.map(lambda v: v == ["call", "put"]).all()  # a call and a put per strike
    # the first step lays out exactly the strike grid of each expiry around its forward
    first = chain.at(0)
    for expiry, g in first.groupby("expiry"):
        t = float(g["t_years"].iloc[0])
        grid = strike_grid("BTC", float(g["forward"].iloc[0]), t)
        np.testing.assert_array_equal(np.unique(g["strike"]), grid, err_msg=str(expiry))
    name = first["instrument_name"].astype(str).iloc[0]
    assert name.startswith("BTC-") and name[-2:] in ("-C", "-P")


def test_frames_have_the_chain_columns(chain: SyntheticChain) -> None:
    frame = chain.at(5)
    assert list(frame.columns) == list(CHAIN_COLUMNS)
    assert len(chain.to_frame()) == len(chain)
    table = candidate_table(frame, rv=float(chain.realized_vol[5]))
    assert len(table) == len(frame)


def test_marks_are_free_of_static_arbitrage(chain: SyntheticChain) -> None:
    frame = chain.to_frame()
    frame["usd"] = frame["mark_price_coin"] * frame["forward"]
    calls = frame[frame["option_type"] == "call"].sort_values(["timestamp", "expiry", "strike"])
    puts = frame[frame["option_type"] == "put"].sort_values(["timestamp", "expiry", "strike"])
    key = ["timestamp", "expiry"]
    # call prices fall with the strike and are convex in it (butterflies >= 0), per slice
    dk = calls.groupby(key)["strike"].diff()
    slope = calls.groupby(key)["usd"].diff() / dk
    assert (slope.dropna() <= 1e-9).all()
    assert (slope.dropna() >= -1.0 - 1e-9).all()
    convex = slope.groupby([calls[k] for k in key]).diff().dropna()
    assert (convex >= -1e-6).all(), convex.min()
    # put-call parity on the forward, in coin: C - P = (F - K) / F
    parity = calls["mark_price_coin"].to_numpy() - puts["mark_price_coin"].to_numpy()
    expected = (calls["forward"].to_numpy() - calls["strike"].to_numpy()) / calls["forward"].to_numpy()
    np.testing.assert_allclose(parity, expected, atol=1e-10)


def test_quotes_are_ticked_and_around_the_mark(chain: SyntheticChain) -> None:
    bid, ask, mark = chain.bid_price_coin, chain.ask_price_coin, chain.mark_price_coin
    has_bid = np.isfinite(bid)
    assert has_bid.mean() > 0.5
    assert np.isfinite(ask).all()
    assert (bid[has_bid] <= mark[has_bid]).all()
    assert (mark <= ask).all()
    assert (bid[has_bid] >= 0.0001 - 1e-12).all()
    for px in (bid[has_bid], ask):
        ticks = px / tick_size(px)
        np.testing.assert_allclose(ticks, np.round(ticks), atol=1e-6)
    spread = ask[has_bid] - bid[has_bid]
    assert (spread >= tick_size(bid[has_bid]) - 1e-12).all()
    # quote IVs invert the quotes and bracket the mark IV
    iv_ok = np.isfinite(chain.bid_iv)
    intrinsic = (
        np.maximum(np.where(chain.is_call, 1.0, -1.0) * (chain.forward - chain.strike), 0.0) / chain.forward
    )
    no_iv = has_bid & ~iv_ok
    assert (bid[no_iv] <= intrinsic[no_iv] + 1e-9).all()  # only bids at or under intrinsic have no IV
    assert iv_ok.sum() > 0.7 * has_bid.sum()
    assert (chain.bid_iv[iv_ok] <= chain.mark_iv[iv_ok] + 1e-9).all()
    ask_ok = np.isfinite(chain.ask_iv)
    assert (chain.ask_iv[ask_ok] >= chain.mark_iv[ask_ok] - 1e-9).all()


def test_round_to_tick() -> None:
    p = np.array([0.00449, 0.0049, 0.00501, 0.0123, 0.0125, np.nan])
    np.testing.assert_allclose(
        round_to_tick(p, direction="down"), [0.0044, 0.0049, 0.005, 0.012, 0.0125, np.nan]
    )
    np.testing.assert_allclose(
        round_to_tick(p, direction="up"), [0.0045, 0.0049, 0.0055, 0.0125, 0.0125, np.nan]
    )
    with pytest.raises(ValueError, match="direction"):
        round_to_tick(p, direction="nearest")


def test_atm_iv_follows_realised_vol_times_vrp(path: pd.DataFrame) -> None:
    cfg = SyntheticChainConfig(vrp_factor=1.25, iv_noise=0.0, term_mean_reversion=0.0)
    tail = path.iloc[-24 * 2 :]
    warm = path.iloc[-24 * 33 :]  # 30 days of warm-up for the realised vol
    ch = synthetic_chains(warm.index, warm["close"].to_numpy(), config=cfg, seed=1)
    steps = np.arange(len(warm) - len(tail), len(warm))
    np.testing.assert_allclose(ch.atm_anchor_vol[steps], 1.25 * ch.realized_vol[steps], rtol=1e-12)
    # the mark IV at the forward (k = 0, interpolated between the two nearest strikes) is the anchor
    frame = ch.to_frame()
    frame = frame[frame["option_type"] == "call"]
    frame["k"] = np.log(frame["strike"] / frame["forward"])
    step_of: dict[object, int] = {ts: i for i, ts in enumerate(pd.to_datetime(ch.timestamps, utc=True))}
    for (ts, _expiry), g in frame[
        frame["timestamp"].isin(pd.to_datetime(ch.timestamps[steps], utc=True))
    ].groupby(["timestamp", "expiry"]):
        g = g.sort_values("k")
        atm = float(np.interp(0.0, g["k"], g["mark_iv"]))
        gap = float(np.diff(g["k"].to_numpy())[np.searchsorted(g["k"].to_numpy(), 0.0) - 1])
        skew = 0.1 / np.sqrt(float(g["t_years"].iloc[0]))  # |dsigma/dk| bound from the config
        assert atm == pytest.approx(ch.atm_anchor_vol[step_of[ts]], abs=skew * gap + 2e-3)


def test_dvol_replaces_the_realised_anchor(path: pd.DataFrame) -> None:
    tail = path.iloc[-24:]
    dvol = np.linspace(40.0, 80.0, len(tail))
    cfg = SyntheticChainConfig(iv_noise=0.0, dvol_scale=1.1)
    ch = synthetic_chains(
        tail.index, tail["close"].to_numpy(), dvol=dvol, seed=2, config=cfg, quote_ivs=False
    )
    np.testing.assert_allclose(ch.atm_anchor_vol, dvol / 100.0 * 1.1)
    assert np.isnan(ch.bid_iv).all()


def test_term_structure() -> None:
    cfg = SyntheticChainConfig(term_mean_reversion=4.0)
    t = np.array([1.0, 7.0, 30.0, 90.0, 365.0]) / 365.0
    up = term_structure_atm_vol(t, anchor_vol=0.4, long_run_vol=0.6, cfg=cfg)
    down = term_structure_atm_vol(t, anchor_vol=0.9, long_run_vol=0.6, cfg=cfg)
    assert up[2] == pytest.approx(0.4) and down[2] == pytest.approx(0.9)  # the anchor holds at 30 days
    assert (np.diff(up) > 0).all() and (np.diff(down) < 0).all()  # contango in calm, inverted in stress
    assert 0.4 < up[-1] < 0.6 and 0.6 < down[-1] < 0.9
    w_down = down**2 * t
    assert (np.diff(w_down) > 0).all()  # total variance still grows: no calendar arbitrage


def test_smiles_are_ssvi_slices_without_butterfly_arbitrage() -> None:
    cfg = SyntheticChainConfig()
    t = np.array([0.5, 2.0, 7.0, 30.0, 90.0, 365.0]) / 365.0
    for atm in (0.2, 0.5, 1.5):
        for shift in (-0.2, 0.0, 0.2):
            params = ssvi_raw_params(t, np.full(t.size, atm), shift, cfg)
            g = svi.durrleman_g(np.linspace(-3.0, 3.0, 601)[None, :], params[:, None, :])
            assert g.min() >= -1e-10, (atm, shift)
            np.testing.assert_allclose(svi.svi_implied_vol(0.0, params, t), atm, rtol=1e-10)
