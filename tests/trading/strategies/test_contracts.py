"""Deribit option contract rules: ticks, amount steps, fees (DERIBIT.md §3.2, §3.3)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.strategies.contracts import (
    UnknownCurrencyError,
    amount_step,
    floor_to_step,
    is_on_tick,
    is_step_multiple,
    option_fee_coin,
    round_price,
    tick_at,
)


def test_amount_steps_are_deribits_minimums() -> None:
    assert amount_step("BTC") == 0.1
    assert amount_step("ETH") == 1.0
    with pytest.raises(UnknownCurrencyError):
        amount_step("DOGE")


@pytest.mark.parametrize(
    ("price", "down", "up"),
    [
        (0.00012, 0.0001, 0.0002),
        (0.0049, 0.0049, 0.0049),
        (0.00495, 0.0049, 0.005),
        (0.0052, 0.005, 0.0055),
        (0.0123, 0.012, 0.0125),
        (0.0125, 0.0125, 0.0125),
    ],
)
def test_prices_round_to_the_tick_that_applies(price: float, down: float, up: float) -> None:
    assert round_price(price, "down") == down
    assert round_price(price, "up") == up


def test_tick_changes_at_0_005() -> None:
    assert tick_at(0.0049) == 0.0001
    assert tick_at(0.005) == 0.0005
    assert is_on_tick(0.0049) and is_on_tick(0.0055) and is_on_tick(0.005)
    assert not is_on_tick(0.0051) and not is_on_tick(0.0) and not is_on_tick(math.nan)


@given(st.floats(min_value=1e-4, max_value=5.0))
def test_rounded_prices_are_on_the_grid_and_on_the_right_side(price: float) -> None:
    down, up = round_price(price, "down"), round_price(price, "up")
    assert is_on_tick(down) and is_on_tick(up)
    assert down <= price + 1e-12 <= up + 2e-12
    assert up - down <= tick_at(price) + 1e-12


def test_steps() -> None:
    assert floor_to_step(0.37, 0.1) == 0.3
    assert floor_to_step(0.3, 0.1) == 0.3  # not 0.2 from float error
    assert floor_to_step(0.09, 0.1) == 0.0
    assert floor_to_step(math.nan, 1.0) == 0.0
    assert is_step_multiple(0.3, 0.1) and is_step_multiple(3.0, 1.0)
    assert (
        not is_step_multiple(0.35, 0.1) and not is_step_multiple(0.0, 0.1) and not is_step_multiple(1.5, 1.0)
    )


def test_fee_is_0_0003_per_contract_capped_at_an_eighth_of_the_price() -> None:
    # Deribit's example: an option traded at 0.0001 pays 12.5 % of the price
    assert option_fee_coin(0.0001, 1.0) == pytest.approx(0.0000125)
    assert option_fee_coin(0.05, 2.0) == pytest.approx(0.0006)
