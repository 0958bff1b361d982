"""Wire models (strictness, real payloads), the error hierarchy, and credential redaction."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.trading.exchange.conftest import CLIENT_ID, CLIENT_SECRET, TRANSPORTS, ClientFactory
from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig, Credentials, redact
from trading.exchange.emulator import AccountConfig, DeribitEmulator
from trading.exchange.errors import (
    DeribitError,
    InternalServerError,
    InvalidCredentialsError,
    InvalidParamsError,
    NotEnoughFundsError,
    OrderNotFoundError,
    PriceWrongTickError,
    RateLimitError,
    SettlementInProgressError,
    UnauthorizedError,
    error_for_code,
)
from trading.exchange.models import AuthResult, Instrument, Order, Position, Ticker, UserTrade


@pytest.fixture(scope="module")
def recorded(real_data_dir: Path) -> dict[str, Any]:
    return json.loads((real_data_dir / "api" / "recorded_real_responses.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.real_data
def test_models_parse_real_payloads_and_reject_stringified_numbers(recorded: dict[str, Any]) -> None:
    instrument = Instrument.model_validate(
        recorded["public/get_instrument BTC option (mainnet 2025-07-14)"]["response"]["result"]
    )
    assert instrument.tick_for_price(0.0049) == 0.0001 and instrument.tick_for_price(0.005) == 0.0005
    ticker = Ticker.model_validate(recorded["public/ticker result, BTC put (mainnet 2025-09-09)"]["result"])
    assert ticker.greeks is not None and ticker.greeks.theta == -15.99927
    items = recorded["private/get_positions items, options (real accounts)"]["items"]
    assert Position.model_validate(items[0]).size == 0.1
    with pytest.raises(ValidationError):
        Position.model_validate(items[2])  # ccxt stringified the numbers: strict models refuse
    incomplete = dict(recorded["public/ticker result, BTC put (mainnet 2025-09-09)"]["result"])
    del incomplete["mark_price"]
    with pytest.raises(ValidationError):
        Ticker.model_validate(incomplete)
    extra = {**incomplete, "mark_price": 0.1, "a_new_field": 1}
    assert Ticker.model_validate(extra).model_extra == {"a_new_field": 1}


@pytest.mark.real_data
def test_spec_examples_of_orders_and_trades_parse(real_data_dir: Path) -> None:
    examples = json.loads((real_data_dir / "api" / "method_examples.json").read_text())["methods"]
    order = examples["private/get_open_orders_by_currency"]["response_examples"][0]["result"][0]
    assert Order.model_validate(order).label == "fooBar"
    trade = examples["private/get_user_trades_by_currency"]["response_examples"][0]["result"]["trades"][0]
    assert UserTrade.model_validate(trade).iv == 38.51
    with pytest.raises(ValidationError):
        Order.model_validate({**order, "order_state": "weird"})


@pytest.mark.real_data
def test_every_documented_error_code_maps_to_a_typed_exception(real_data_dir: Path) -> None:
    table = json.loads((real_data_dir / "api" / "error_codes.json").read_text())["errors"]
    for row in table:
        error = error_for_code(row["code"], row["message"], {"param": "x"})
        assert (
            isinstance(error, DeribitError) and error.code == row["code"] and error.message == row["message"]
        )
        clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
        assert type(clone) is type(error) and clone.code == error.code
    expected = {
        10028: RateLimitError,
        13009: UnauthorizedError,
        10000: UnauthorizedError,
        13004: InvalidCredentialsError,
        10009: NotEnoughFundsError,
        -32602: InvalidParamsError,
        10004: OrderNotFoundError,
        10043: PriceWrongTickError,
        10041: SettlementInProgressError,
        11094: InternalServerError,
    }
    for code, cls in expected.items():
        assert type(error_for_code(code)) is cls
    assert error_for_code(10028).retryable and not error_for_code(10009).retryable


def test_credentials_never_show_in_reprs() -> None:
    creds = Credentials.of(CLIENT_ID, CLIENT_SECRET)
    config = ClientConfig(credentials=creds)
    client = DeribitClient(config)
    token = AuthResult.model_validate(
        {
            "access_token": "tok-AAA",
            "refresh_token": "ref-BBB",
            "expires_in": 900,
            "scope": "connection",
            "token_type": "bearer",
        }
    )
    account = AccountConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    for text in (
        repr(creds),
        str(creds),
        repr(config),
        str(config),
        repr(client),
        repr(token),
        str(token),
        repr(account),
    ):
        assert CLIENT_SECRET not in text and "tok-AAA" not in text and "ref-BBB" not in text
    assert redact({"params": {"client_secret": CLIENT_SECRET, "refresh_token": "r", "amount": 1}}) == {
        "params": {"client_secret": "***", "refresh_token": "***", "amount": 1}
    }


def test_default_config_is_testnet_and_mainnet_is_explicit() -> None:
    assert ClientConfig().http_url == "https://test.deribit.com/api/v2"
    assert ClientConfig().ws_url == "wss://test.deribit.com/ws/api/v2"
    assert ClientConfig(environment="mainnet").ws_url == "wss://www.deribit.com/ws/api/v2"
    assert ClientConfig(base_url="http://127.0.0.1:9").ws_url == "ws://127.0.0.1:9/ws/api/v2"
    with pytest.raises(ValueError, match="environment"):
        ClientConfig(environment="prod")  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_secrets_stay_out_of_logs_and_errors(
    transport: str, emulator: DeribitEmulator, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await make_client(transport)
    assert client._token is not None
    access = client._token.access_token.get_secret_value()
    refresh = client._token.refresh_token.get_secret_value()
    emulator.faults.error(13009, methods="private/get_positions")  # forces a re-auth path too
    await client.get_positions(currency="BTC")
    with pytest.raises(InvalidCredentialsError) as failed:
        await make_client(transport, credentials=Credentials.of(CLIENT_ID, "wrong-" + CLIENT_SECRET))
    texts = [caplog.text, str(failed.value), repr(failed.value)]
    for text in texts:
        for secret in (CLIENT_SECRET, access, refresh):
            assert secret not in text
    assert "public/auth" in caplog.text or transport == "ws"  # the auth call was logged, redacted
