"""Properties of the selling logics on a full synthetic chain, whatever the parameters and holdings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.trading.strategies.support import account, config, context, market_from_chain, synthetic_chain
from trading.strategies.base import Action, StrategyConfig
from trading.strategies.market import MarketSnapshot
from trading.strategies.params import ParameterError, preset
from trading.strategies.registry import logic_for
from trading.strategies.runner import output_problems

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
_MARKET = MarketSnapshot({"BTC": market_from_chain(synthetic_chain("BTC"), "BTC", observed_at=NOW)})


@st.composite
def parameter_sets(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["covered_call", "cash_secured_put"]))
    base = preset(kind, draw(st.sampled_from(["conservative", "moderate", "aggressive"])))
    dte_min = draw(st.integers(0, 10))
    delta_min = draw(st.floats(0.0, 0.25))
    base.update(
        dte_min=dte_min,
        dte_max=draw(st.integers(max(dte_min, 1), 60)),
        delta_min=delta_min,
        delta_max=draw(st.floats(max(delta_min, 0.2), 0.6)),
        min_premium_usd=draw(st.floats(0.0, 100.0)),
        min_annualized_yield_pct=draw(st.floats(0.0, 30.0)),
        min_ivrv=draw(st.floats(0.0, 1.2)),
        max_spread_pct=draw(st.floats(5.0, 100.0)),
        min_open_interest=draw(st.floats(0.0, 50.0)),
        max_contracts_per_trade=draw(st.floats(0.1, 20.0)),
        roll_delta=0.0,
    )
    return kind, base


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chosen=parameter_sets(), coins=st.floats(0.0, 50.0), enabled=st.sampled_from([True, True, True, False])
)
def test_every_offer_passes_the_filters_and_fits_the_capacity(
    chosen: tuple[str, dict[str, Any]], coins: float, enabled: bool
) -> None:
    kind, values = chosen
    try:
        cfg: StrategyConfig = config("s", kind, underlyings=["BTC"], params=values, enabled=enabled)
    except ParameterError:
        return
    ctx = context(cfg, _MARKET, account(NOW, BTC=coins))
    out = logic_for(kind).propose(ctx)
    assert output_problems(out, ctx) == []
    p = cfg.params
    a = _MARKET.markets["BTC"].candidates.set_index("instrument_name")
    index = _MARKET.markets["BTC"].index_price_usd
    event(f"offers: {bool(out.offers)}")
    for offer_set in out.offers:
        assert enabled
        for o in offer_set.offers:
            row = a.loc[o.leg.instrument_name]
            assert p.dte_min <= row["dte_days"] <= p.dte_max
            assert p.delta_min <= abs(row["delta"]) <= p.delta_max
            assert row["premium_usd"] >= p.min_premium_usd and row["open_interest"] >= p.min_open_interest
            assert 100 * row["spread_rel"] <= p.max_spread_pct + 1e-9
            assert o.leg.size_contracts <= p.max_contracts_per_trade + 1e-9
            if kind == "covered_call":
                assert o.leg.size_contracts <= p.coverage_pct / 100 * coins + 1e-9  # type: ignore[attr-defined]
            else:
                secured = o.leg.size_contracts * o.leg.strike_usd
                assert secured <= p.collateral_pct / 100 * coins * index + 1e-6  # type: ignore[attr-defined]
    if not out.offers:
        assert all(x.action is Action.HOLD for x in out.proposals) and out.proposals
    assert np.all(np.isfinite([o.score for s in out.offers for o in s.offers]))
