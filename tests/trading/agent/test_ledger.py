"""The ledger's arithmetic: average prices, realised P&L net of fees, premium collected."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import StrategyFactory
from trading.agent.ledger import TradeIn, fill_book
from trading.models import Position

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
NAME = "BTC-30JAN26-100000-C"


def trade(trade_id: str, side: str, amount: str, price: str, fee: str = "0", index: str = "90000") -> TradeIn:
    return TradeIn(
        trade_id=trade_id,
        instrument_name=NAME,
        side=side,
        amount=Decimal(amount),
        price_coin=Decimal(price),
        fee_coin=Decimal(fee),
        index_price_usd=Decimal(index),
        traded_at=T0,
    )


def test_selling_then_buying_back_books_premium_and_pnl() -> None:
    strategy = StrategyFactory(name="ledger_cc")
    fill_book(strategy=strategy, order=None, trade=trade("t1", "sell", "1", "0.0100", "0.0003"), now=T0)
    fill_book(strategy=strategy, order=None, trade=trade("t2", "sell", "1", "0.0200", "0.0003"), now=T0)
    position = Position.objects.get(strategy=strategy, instrument_name=NAME)
    assert position.size_contracts == Decimal("-2")
    assert position.average_price_coin == Decimal("0.015")
    assert position.premium_collected_coin == Decimal("0.03")
    assert position.premium_collected_usd == Decimal("2700")
    assert position.expiry == datetime(2026, 1, 30, 8, tzinfo=UTC) and position.strike_usd == 100000

    fill_book(strategy=strategy, order=None, trade=trade("t3", "buy", "1.5", "0.0050", "0.0002"), now=T0)
    position.refresh_from_db()
    assert position.size_contracts == Decimal("-0.5")
    # 1.5 closed at 0.005 against an average of 0.015: +0.015, less 0.0008 of fees in all.
    assert position.realized_pnl_coin == Decimal("0.015") - Decimal("0.0008")
    assert position.fees_coin == Decimal("0.0008")
    assert position.closed_at is None


def test_the_same_trade_is_booked_once() -> None:
    strategy = StrategyFactory(name="ledger_once")
    assert (
        fill_book(strategy=strategy, order=None, trade=trade("dup", "sell", "1", "0.01"), now=T0) is not None
    )
    assert fill_book(strategy=strategy, order=None, trade=trade("dup", "sell", "1", "0.01"), now=T0) is None
    assert Position.objects.get(strategy=strategy).size_contracts == Decimal("-1")


def test_a_position_that_goes_through_zero_restarts_its_average() -> None:
    strategy = StrategyFactory(name="ledger_flip")
    fill_book(strategy=strategy, order=None, trade=trade("a", "sell", "1", "0.02"), now=T0)
    fill_book(strategy=strategy, order=None, trade=trade("b", "buy", "3", "0.01"), now=T0)
    position = Position.objects.get(strategy=strategy)
    assert position.size_contracts == Decimal("2")
    assert position.average_price_coin == Decimal("0.01")
    assert position.realized_pnl_coin == Decimal("0.01")


def test_positions_are_kept_apart_per_strategy() -> None:
    first, second = StrategyFactory(name="ledger_a"), StrategyFactory(name="ledger_b")
    fill_book(strategy=first, order=None, trade=trade("x1", "sell", "1", "0.01"), now=T0)
    fill_book(strategy=second, order=None, trade=trade("x2", "sell", "2", "0.01"), now=T0)
    sizes = dict(Position.objects.values_list("strategy__name", "size_contracts"))
    assert sizes == {"ledger_a": Decimal("-1"), "ledger_b": Decimal("-2")}
