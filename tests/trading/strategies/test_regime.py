"""Market regime from DVOL level, DVOL change and the index's drawdown; real stress week of 2026-02."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.trading.strategies.support import (
    CALM_DAY,
    STRESS_BEFORE,
    STRESS_DAY_BEFORE_PEAK,
    STRESS_PEAK,
    real_chain,
)
from trading.strategies.regime import (
    DEFAULT_THRESHOLDS,
    Regime,
    RegimeInputs,
    RegimeThresholds,
    assess_regime,
    dvol_proxy,
)


def _btc(
    dvol: float | None,
    before: float | None = 50.0,
    index: float | None = 70_000.0,
    high: float | None = 70_000.0,
) -> Regime:
    return assess_regime(RegimeInputs("BTC", dvol, before, index, high)).regime


@pytest.mark.parametrize(
    ("dvol", "before", "index", "high", "expected"),
    [
        (50.0, 50.0, 70_000.0, 70_000.0, Regime.NORMAL),
        (59.9, 59.9, 70_000.0, 70_000.0, Regime.NORMAL),
        (60.0, 60.0, 70_000.0, 70_000.0, Regime.ELEVATED),  # level
        (80.0, 80.0, 70_000.0, 70_000.0, Regime.CRISIS),  # level
        (55.0, 45.0, 70_000.0, 70_000.0, Regime.ELEVATED),  # +22 %
        (57.0, 40.0, 70_000.0, 70_000.0, Regime.CRISIS),  # +42.5 %
        (50.0, 50.0, 63_000.0, 70_000.0, Regime.ELEVATED),  # 10 % drawdown
        (50.0, 50.0, 56_000.0, 70_000.0, Regime.CRISIS),  # 20 % drawdown
    ],
)
def test_each_rule_at_its_documented_threshold(
    dvol: float, before: float, index: float, high: float, expected: Regime
) -> None:
    assert _btc(dvol, before, index, high) is expected


def test_eth_has_higher_dvol_thresholds() -> None:
    assert assess_regime(RegimeInputs("ETH", 75.0, 75.0, 2000.0, 2000.0)).regime is Regime.NORMAL
    assert assess_regime(RegimeInputs("ETH", 85.0, 85.0, 2000.0, 2000.0)).regime is Regime.ELEVATED
    assert DEFAULT_THRESHOLDS["ETH"].dvol_crisis > DEFAULT_THRESHOLDS["BTC"].dvol_crisis


def test_missing_inputs_fail_closed() -> None:
    assert _btc(None) is Regime.CRISIS
    assert _btc(50.0, index=None) is Regime.CRISIS
    assert _btc(float("nan")) is Regime.CRISIS
    no_history = assess_regime(RegimeInputs("BTC", 50.0, None, 70_000.0, None))
    assert no_history.regime is Regime.ELEVATED and not no_history.complete
    assert assess_regime(RegimeInputs("DOGE", 50.0, 50.0, 1.0, 1.0)).regime is Regime.CRISIS


def test_reasons_name_every_rule_that_fired() -> None:
    a = assess_regime(RegimeInputs("BTC", 85.0, 50.0, 56_000.0, 70_000.0))
    assert a.regime is Regime.CRISIS
    assert len(a.reasons) == 3 and "DVOL 85.0 >= 80" in a.describe()
    assert a.drawdown_pct == pytest.approx(20.0) and a.dvol_change_pct == pytest.approx(70.0)


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="crisis threshold"):
        RegimeThresholds(dvol_elevated=80.0, dvol_crisis=60.0)


def test_dvol_proxy_tracks_the_real_stress_week(real_data_dir: Path) -> None:
    calm = real_chain(str(real_data_dir / STRESS_BEFORE))
    peak = real_chain(str(real_data_dir / STRESS_PEAK))
    calm_btc = dvol_proxy(calm[calm["currency"] == "BTC"])
    peak_btc = dvol_proxy(peak[peak["currency"] == "BTC"])
    assert calm_btc is not None and peak_btc is not None
    # Deribit's BTC DVOL was about 46 on 2026-02-02 and closed at 82.6 on 2026-02-05
    assert 40.0 < calm_btc < 52.0
    assert 74.0 < peak_btc < 90.0


def test_real_stress_week_is_a_crisis_and_a_calm_day_is_normal(real_data_dir: Path) -> None:
    day_before = real_chain(str(real_data_dir / STRESS_DAY_BEFORE_PEAK))
    peak = real_chain(str(real_data_dir / STRESS_PEAK))
    before = real_chain(str(real_data_dir / STRESS_BEFORE))
    btc = peak[peak["currency"] == "BTC"]
    high = float(before.loc[before["currency"] == "BTC", "index_price"].max())
    a = assess_regime(
        RegimeInputs(
            "BTC",
            dvol_proxy(btc),
            dvol_proxy(day_before[day_before["currency"] == "BTC"]),
            float(btc["index_price"].median()),
            high,
        )
    )
    assert a.regime is Regime.CRISIS
    assert a.dvol_change_pct is not None and a.dvol_change_pct > 40.0
    assert a.drawdown_pct is not None and a.drawdown_pct > 15.0

    calm = real_chain(str(real_data_dir / CALM_DAY))
    btc = calm[calm["currency"] == "BTC"]
    dvol = dvol_proxy(btc)
    index = float(btc["index_price"].median())
    assert assess_regime(RegimeInputs("BTC", dvol, dvol, index, index)).regime is Regime.NORMAL


def test_dvol_proxy_of_an_empty_chain_is_none(real_data_dir: Path) -> None:
    calm = real_chain(str(real_data_dir / CALM_DAY))
    assert dvol_proxy(calm.iloc[0:0]) is None
