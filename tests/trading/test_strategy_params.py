"""The typed parameter schemas that every strategy's JSON is validated against."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.strategies.params import (
    LogicKind,
    ParameterError,
    RiskProfile,
    preset,
    validate_params,
    validate_risk_limits,
)


@pytest.mark.parametrize("kind", list(LogicKind))
@pytest.mark.parametrize("profile", list(RiskProfile))
def test_every_preset_is_valid_for_its_kind(kind: LogicKind, profile: RiskProfile) -> None:
    params = preset(kind, profile)
    assert validate_params(kind, params).model_dump() == params


def test_presets_get_bolder_from_conservative_to_aggressive() -> None:
    cons, mod, aggr = (preset("covered_call", p) for p in ("conservative", "moderate", "aggressive"))
    assert cons["delta_max"] < mod["delta_max"] < aggr["delta_max"]
    assert cons["coverage_pct"] < mod["coverage_pct"] <= aggr["coverage_pct"]


def test_unknown_field_is_named() -> None:
    params = {**preset("covered_call", "moderate"), "delta_maxx": 0.3}
    with pytest.raises(ParameterError) as err:
        validate_params("covered_call", params)
    assert "Unknown field" in err.value.errors["delta_maxx"][0]


def test_out_of_range_value_is_named_with_the_bound() -> None:
    params = {**preset("covered_call", "moderate"), "delta_max": 1.5}
    with pytest.raises(ParameterError) as err:
        validate_params("covered_call", params)
    assert "less than or equal to 1" in err.value.errors["delta_max"][0]


def test_strings_are_not_silently_turned_into_numbers() -> None:
    params = {**preset("covered_call", "moderate"), "dte_min": "7"}
    with pytest.raises(ParameterError) as err:
        validate_params("covered_call", params)
    assert "dte_min" in err.value.errors


def test_missing_parameter_is_reported() -> None:
    params = preset("covered_call", "moderate")
    del params["take_profit_pct"]
    with pytest.raises(ParameterError) as err:
        validate_params("covered_call", params)
    assert err.value.errors == {"take_profit_pct": ["This parameter is required."]}


def test_kind_specific_fields_do_not_cross_kinds() -> None:
    params = preset("covered_call", "moderate")
    with pytest.raises(ParameterError) as err:
        validate_params("cash_secured_put", params)
    assert "coverage_pct" in err.value.errors and "collateral_pct" in err.value.errors


def test_inverted_ranges_are_refused() -> None:
    params = {**preset("covered_call", "moderate"), "dte_min": 40, "dte_max": 10}
    with pytest.raises(ParameterError) as err:
        validate_params("covered_call", params)
    assert "dte_min (40) must not exceed dte_max (10)" in str(err.value)


def test_roll_delta_must_be_above_the_selling_band() -> None:
    params = {**preset("covered_call", "moderate"), "roll_delta": 0.2}
    with pytest.raises(ParameterError, match="roll_delta"):
        validate_params("covered_call", params)


def test_parameters_must_be_an_object() -> None:
    with pytest.raises(ParameterError, match="JSON object"):
        validate_params("covered_call", [1, 2])


def test_unknown_kind() -> None:
    with pytest.raises(ParameterError) as err:
        validate_params("iron_condor_9000", {})
    assert "logic_kind" in err.value.errors


def test_risk_limits_fill_defaults_and_refuse_nonsense() -> None:
    assert validate_risk_limits({}).max_open_positions == 5
    with pytest.raises(ParameterError) as err:
        validate_risk_limits({"max_contracts": -1})
    assert "max_contracts" in err.value.errors


@given(delta=st.floats(allow_nan=True, allow_infinity=True))
def test_any_delta_max_is_either_accepted_within_bounds_or_refused(delta: float) -> None:
    params = {**preset("covered_call", "moderate"), "delta_max": delta, "roll_delta": 0.0}
    try:
        parsed = validate_params("covered_call", params)
    except ParameterError:
        return
    assert params["delta_min"] <= parsed.delta_max <= 1.0
