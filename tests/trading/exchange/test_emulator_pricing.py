"""Implied vols of the emulator's quotes: the fast solver gives the bisection's answers, and a
ticker reads vols solved once per market step instead of solving them per call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.trading.exchange.conftest import START_MS
from trading.exchange.emulator import AccountConfig, ExchangeEngine, SyntheticSource
from trading.exchange.emulator import book as book_module
from trading.exchange.emulator.pricing import _bisect_iv, implied_vol_coin, price_coin


def _bisection(price: Any, f: Any, k: Any, t: Any, is_call: Any) -> np.ndarray:
    """The emulator's former solver: bisection on [0.01%, 1000%], NaN outside."""
    p, f_, k_, t_ = (np.asarray(x, dtype=np.float64) for x in (price, f, k, t))
    call = np.asarray(is_call, dtype=bool)
    lower = price_coin(f_, k_, t_, np.full(p.shape, 1e-4), call)
    upper = price_coin(f_, k_, t_, np.full(p.shape, 10.0), call)
    bad = (p <= lower + 1e-12) | (p >= upper - 1e-12) | (t_ <= 0) | ~np.isfinite(p)
    return np.where(bad, np.nan, _bisect_iv(p, f_, k_, t_, call))


def test_the_fast_solver_gives_the_bisections_answers() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    f = rng.uniform(2_000, 150_000, n)
    k = f * np.exp(rng.normal(0.0, 0.4, n))
    t = rng.uniform(0.0, 1.5, n) ** 2
    call = rng.random(n) < 0.5
    price = np.round(price_coin(f, k, t, rng.uniform(0.05, 3.0, n), call) * rng.normal(1.0, 0.05, n), 4)
    price[rng.random(n) < 0.05] = 0.0001  # the minimum tick: often below any vol in range
    price[rng.random(n) < 0.01] = np.nan
    fast, slow = implied_vol_coin(price, f, k, t, call), _bisection(price, f, k, t, call)
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    both = ~np.isnan(fast)
    assert both.sum() > n // 2
    assert np.max(np.abs(fast[both] - slow[both])) < 1e-9
    assert np.array_equal(np.round(fast[both] * 100, 2), np.round(slow[both] * 100, 2))


def test_tickers_read_the_vols_solved_when_the_market_stepped(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ExchangeEngine(
        SyntheticSource(), [AccountConfig(client_id="a", client_secret="b")], start_ms=START_MS
    )
    rec = min(  # an at-the-money option a week or more out: both sides have a vol
        (
            r
            for r in engine.instruments.values()
            if r.currency == "BTC" and r.expiration_ms > START_MS + 6 * 86_400_000
        ),
        key=lambda r: (abs(r.strike - r.quote.underlying_price), r.name),
    )
    calls: list[Any] = []

    def counting(*args: Any) -> np.ndarray:
        calls.append(args)
        return implied_vol_coin(*args)

    monkeypatch.setattr(book_module, "implied_vol_coin", counting)
    q = rec.quote

    def ticker() -> dict[str, Any]:
        bids, asks = engine.own_levels(rec.name)
        return rec.ticker(now_ms=engine.now_ms, index_price=engine.index["BTC"], own_bids=bids, own_asks=asks)

    first = ticker()
    assert [ticker() for _ in range(5)] == [first] * 5 and calls == []  # nothing solved per call
    t = rec.t_years(rec.quote_ms)
    is_call = rec.option_type == "call"
    expected = implied_vol_coin(
        [q.best_bid_price, q.best_ask_price], q.underlying_price, rec.strike, t, is_call
    )
    assert [first["bid_iv"], first["ask_iv"]] == [round(float(v) * 100, 2) for v in expected]

    # our own bid inside the spread becomes the best bid: solved once, then remembered
    inside = round(q.best_bid_price + 0.0005, 4) if q.best_bid_price else 0.0
    placed = engine.place_order(
        engine.accounts["a"], "buy", {"instrument_name": rec.name, "amount": 0.1, "price": inside}
    )
    own = ticker()
    assert own["best_bid_price"] == inside and len(calls) == 1
    assert ticker() == own and len(calls) == 1
    solo = implied_vol_coin(inside, q.underlying_price, rec.strike, t, is_call)[0]
    assert own["bid_iv"] == round(float(solo) * 100, 2)

    engine.cancel(engine.accounts["a"], placed["order"]["order_id"])
    engine.sync(START_MS + 60_000)  # a new market step: its quotes' vols are solved together
    assert rec.quote_ms == START_MS + 60_000 and rec.quote is not q
    calls.clear()
    stepped = ticker()
    assert calls == [] and stepped["bid_iv"] > 0 and stepped["ask_iv"] > 0
