"""The emulated exchange's rules: matching, settlement, expiry, auth scopes, sources, pricing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trading.exchange.conftest import CLIENT_ID, CLIENT_SECRET, START_MS, ClientFactory, pick_option
from trading.exchange.config import Credentials
from trading.exchange.emulator import (
    AccountConfig,
    DeribitEmulator,
    ExchangeEngine,
    ManualClock,
    ReplaySource,
    SyntheticSource,
)
from trading.exchange.emulator.accounting import RpcError, option_payoff_coin
from trading.exchange.emulator.market import (
    CurrencyMarket,
    MarketSnapshot,
    OptionQuote,
    ceil_to_tick,
    floor_to_tick,
    instrument_name,
)
from trading.exchange.emulator.pricing import MS_PER_YEAR, greeks, implied_vol_coin, price_coin
from trading.exchange.emulator.sources.synthetic import listing_expiries
from trading.exchange.errors import AuthError, SettlementInProgressError, TimedOutError

DAY_MS = 86_400_000


def _engine(start_ms: int = START_MS, balances: dict[str, float] | None = None) -> ExchangeEngine:
    account = AccountConfig(
        client_id="a", client_secret="b", balances=balances or {"BTC": 10.0, "ETH": 100.0}
    )
    return ExchangeEngine(SyntheticSource(), [account], start_ms=start_ms)


def test_tick_rules_and_names() -> None:
    assert floor_to_tick(0.00449) == 0.0044 and ceil_to_tick(0.00449) == 0.0045
    assert floor_to_tick(0.0873) == 0.087 and ceil_to_tick(0.0873) == 0.0875
    assert floor_to_tick(0.0051) == 0.005
    assert instrument_name("BTC", 1754035200000, 110000, "call") == "BTC-1AUG25-110000-C"
    assert instrument_name("ETH", 1751788800000, 1500, "put") == "ETH-6JUL25-1500-P"


def test_listing_schedule_has_dailies_weeklies_monthlies_quarterlies_at_0800() -> None:
    expiries = listing_expiries(START_MS)  # Monday 2026-01-05 09:00 UTC
    assert all(e % DAY_MS == 8 * 3_600_000 for e in expiries)
    periods = list(expiries.values())
    assert periods.count("day") >= 3 and periods.count("week") >= 3 and periods.count("month") >= 5
    assert min(expiries) == START_MS - 3_600_000 + DAY_MS  # today's 08:00 has passed: first is tomorrow


class ScriptedSource:
    """A one-option market whose quotes the test sets (any MarketSource can drive the emulator)."""

    NAME = "BTC-27MAR26-100000-C"
    EXPIRY = 1774598400000  # 2026-03-27 08:00 UTC

    def __init__(self) -> None:
        self.version = 0
        self.bid, self.ask, self.mark, self.index = 0.02, 0.021, 0.0205, 90_000.0

    @property
    def currencies(self) -> tuple[str, ...]:
        return ("BTC",)

    def start_ms(self) -> int | None:
        return START_MS

    def move(self, *, bid: float, ask: float) -> None:
        self.bid, self.ask, self.mark = bid, ask, round((bid + ask) / 2, 8)
        self.version += 1

    def snapshot(self, at_ms: int) -> MarketSnapshot:
        quote = OptionQuote(
            instrument_name=self.NAME,
            currency="BTC",
            strike=100_000.0,
            expiration_ms=self.EXPIRY,
            option_type="call",
            mark_price=self.mark,
            mark_iv=45.0,
            underlying_price=self.index,
            underlying_index="BTC-27MAR26",
            best_bid_price=self.bid,
            best_bid_amount=2.0,
            best_ask_price=self.ask,
            best_ask_amount=2.0,
        )
        market = CurrencyMarket(currency="BTC", index_price=self.index, dvol=45.0, options={self.NAME: quote})
        return MarketSnapshot(key=self.version, timestamp_ms=at_ms, currencies={"BTC": market})

    def index_price(self, currency: str, at_ms: int) -> float:
        return self.index

    def dvol(self, currency: str, at_ms: int) -> float:
        return 45.0

    def mark_price(self, instrument_name: str, at_ms: int) -> float | None:
        return self.mark if instrument_name == self.NAME else None


def test_resting_order_fills_as_maker_when_the_market_trades_through() -> None:
    source = ScriptedSource()
    engine = ExchangeEngine(source, [AccountConfig(client_id="a", client_secret="b")], start_ms=START_MS)
    account = engine.accounts["a"]
    placed = engine.place_order(
        account, "buy", {"instrument_name": source.NAME, "amount": 0.5, "price": 0.0195, "label": "rest"}
    )
    order = engine.orders[placed["order"]["order_id"]]
    assert order.state == "open" and placed["trades"] == []
    engine.sync(START_MS + 1_000)
    assert order.state == "open"  # nothing moved: nothing fills
    source.move(bid=0.019, ask=0.0195)  # the ask comes down to our bid
    engine.sync(START_MS + 2_000)
    assert order.state == "filled" and order.average_price == 0.0195
    (trade,) = [t for _, _, t in engine.trades if t["order_id"] == order.order_id]
    assert trade["liquidity"] == "M" and trade["price"] == 0.0195
    assert trade["fee"] == pytest.approx(min(0.0003 * 0.5, 0.125 * 0.0195 * 0.5))
    assert account.balances["BTC"] == pytest.approx(10.0 - 0.5 * 0.0195 - trade["fee"])
    # liquidity taken is gone until the market changes again
    assert engine.instruments[source.NAME].market_levels("asks")[0] == (0.0195, 1.5)


def test_post_only_reprices_inside_the_spread_and_partial_fill_cap() -> None:
    source = ScriptedSource()
    engine = ExchangeEngine(source, [AccountConfig(client_id="a", client_secret="b")], start_ms=START_MS)
    account = engine.accounts["a"]
    po = engine.place_order(
        account,
        "buy",
        {"instrument_name": source.NAME, "amount": 0.1, "price": 0.025, "label": "po", "post_only": True},
    )
    assert po["order"]["price"] == 0.0205 and po["order"]["order_state"] == "open"  # one tick below the ask
    engine.partial_fill_fraction = 0.5
    taker = engine.place_order(
        account, "buy", {"instrument_name": source.NAME, "amount": 1.0, "price": 0.021, "label": "t"}
    )
    assert taker["order"]["filled_amount"] == 0.5 and taker["order"]["order_state"] == "open"


def test_expiry_delivers_at_the_twap_and_charges_the_delivery_fee() -> None:
    engine = _engine(balances={"BTC": 5.0})
    account = engine.accounts["a"]
    expiry = min(r.expiration_ms for r in engine.instruments.values())
    rec = next(
        r
        for _, r in sorted(engine.instruments.items())
        if r.expiration_ms == expiry
        and r.option_type == "call"
        and r.currency == "BTC"
        and r.strike < engine.index["BTC"] - 2000
        and r.quote.best_ask_price
    )
    ask = rec.quote.best_ask_price
    assert ask is not None
    engine.place_order(
        account, "buy", {"instrument_name": rec.name, "amount": 0.5, "price": ask, "label": "itm"}
    )
    balance_after_buy = account.balances["BTC"]
    engine.sync(expiry + 60_000)
    assert rec.expired and rec.delivery_price is not None
    twap = round(
        sum(engine.source.index_price("BTC", expiry - 1_800_000 + k * 60_000) for k in range(31)) / 31, 2
    )
    assert rec.delivery_price == twap
    payoff = option_payoff_coin("call", rec.strike, twap)
    fee = min(0.00015 * 0.5, 0.125 * payoff * 0.5)
    assert account.balances["BTC"] == pytest.approx(balance_after_buy + 0.5 * payoff - fee, abs=1e-12)
    assert rec.name not in account.positions  # removed at the daily settlement after delivery
    day = engine.delivery_price_page("btc_usd", 0, 10)
    assert day["records_total"] == 1 and day["data"][0]["delivery_price"] == twap
    assert any(r.name == rec.name for r in engine.instruments.values() if r.expired)


def test_daily_settlement_sets_settlement_price_and_pauses_trading() -> None:
    engine = _engine()
    account = engine.accounts["a"]
    next_0800 = START_MS - 3_600_000 + DAY_MS
    engine.sync(next_0800 + 500)
    name = pick_name(engine)
    assert engine.instruments[name].settlement_price == engine.instruments[name].quote.mark_price
    with pytest.raises(RpcError) as paused:
        engine.place_order(
            account, "buy", {"instrument_name": name, "amount": 0.1, "price": 0.0005, "label": "x"}
        )
    assert paused.value.code == 10041
    engine.sync(next_0800 + 5_000)
    engine.place_order(
        account, "buy", {"instrument_name": name, "amount": 0.1, "price": 0.0005, "label": "x"}
    )


def pick_name(engine: ExchangeEngine) -> str:
    return next(
        n
        for n, r in sorted(engine.instruments.items())
        if not r.expired and r.currency == "BTC" and r.expiration_ms - engine.now_ms > 3 * DAY_MS
    )


def test_fill_or_kill_and_immediate_or_cancel() -> None:
    engine = _engine()
    account = engine.accounts["a"]
    name = next(
        n
        for n, r in sorted(engine.instruments.items())
        if r.currency == "BTC" and (r.quote.best_bid_price or 0) > 0.01
    )
    rec = engine.instruments[name]
    bid, size = rec.quote.best_bid_price, rec.quote.best_bid_amount
    assert bid is not None
    too_big = round(size + 1.0, 1)
    fok = engine.place_order(
        account,
        "sell",
        {
            "instrument_name": name,
            "amount": too_big,
            "price": bid,
            "label": "fok",
            "time_in_force": "fill_or_kill",
        },
    )
    assert fok["order"]["order_state"] == "cancelled" and fok["trades"] == []
    ioc = engine.place_order(
        account,
        "sell",
        {
            "instrument_name": name,
            "amount": too_big,
            "price": bid,
            "label": "ioc",
            "time_in_force": "immediate_or_cancel",
        },
    )
    assert ioc["order"]["order_state"] == "cancelled" and ioc["order"]["filled_amount"] == size


async def test_valid_until_settlement_pause_and_scopes(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    client = await make_client("http")
    name = pick_option(emulator)
    with pytest.raises(TimedOutError):
        await client.buy(
            instrument_name=name,
            amount=0.1,
            price=0.0005,
            label="late",
            valid_until=emulator.clock.now_ms() - 1,
        )
    assert isinstance(emulator.clock, ManualClock)
    emulator.clock.set(START_MS - 3_600_000 + DAY_MS)  # 08:00 UTC: settlement in progress
    with pytest.raises(SettlementInProgressError):
        await client.call(
            "private/buy", {"instrument_name": name, "amount": 0.1, "price": 0.0005, "label": "s"}
        )
    reader = await make_client("http", scope="trade:read account:read")
    assert reader.is_authenticated
    await reader.get_open_orders_by_currency(currency="BTC")
    emulator.clock.advance(10)
    with pytest.raises(AuthError) as forbidden:
        await reader.buy(instrument_name=name, amount=0.1, price=0.0005, label="ro")
    assert forbidden.value.code == 13021


async def test_connection_scoped_token_is_refused_on_another_connection(
    emulator: DeribitEmulator, make_client: ClientFactory
) -> None:
    import httpx

    ws_client = await make_client("ws")
    assert ws_client._token is not None
    token = ws_client._token.access_token.get_secret_value()
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{emulator.http_url}/private/get_positions",
            params={"currency": "BTC"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 400 and response.json()["error"]["code"] == 13009


async def test_two_funded_accounts_are_isolated(make_client: ClientFactory) -> None:
    other = AccountConfig(client_id="second", client_secret="pw-2", balances={"BTC": 1.0})
    async with DeribitEmulator(
        clock=ManualClock(START_MS),
        accounts=[AccountConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET), other],
    ) as emu:
        from trading.exchange.client import DeribitClient
        from trading.exchange.config import ClientConfig

        async with DeribitClient(
            ClientConfig(
                transport="http", base_url=emu.base_url, credentials=Credentials.of("second", "pw-2")
            )
        ) as c2:
            summary = await c2.get_account_summary(currency="BTC")
            assert summary.balance == 1.0 and (await c2.get_account_summary(currency="ETH")).balance == 0.0


# --------------------------------------------------------------------------- pricing and sources


@pytest.mark.real_data
def test_black76_reproduces_real_tickers(real_data_dir: Path) -> None:
    recorded = json.loads((real_data_dir / "api" / "recorded_real_responses.json").read_text())
    book = recorded["public/get_order_book result, BTC call (mainnet 2020-12-31)"]["result"]
    t = (1610697600000 - book["timestamp"]) / MS_PER_YEAR  # 15JAN21 08:00 UTC
    f, k, sigma = book["underlying_price"], 28000.0, book["mark_iv"] / 100
    assert float(price_coin(f, k, t, sigma, True)) == pytest.approx(book["mark_price"], rel=1e-3)
    g = greeks(f, k, t, sigma, True)
    for key in ("delta", "vega", "rho"):
        assert float(g[key]) == pytest.approx(book["greeks"][key], rel=1e-4)
    ivs = implied_vol_coin([book["best_bid_price"], book["best_ask_price"]], f, k, t, True)
    assert [round(float(v) * 100, 2) for v in ivs] == [book["bid_iv"], book["ask_iv"]]
    ticker = recorded["public/ticker result, BTC put (mainnet 2025-09-09)"]["result"]
    t2 = (1757491200000 - ticker["timestamp"]) / MS_PER_YEAR
    g2 = greeks(ticker["underlying_price"], 106000.0, t2, ticker["mark_iv"] / 100, False)
    assert float(g2["delta"]) == pytest.approx(ticker["greeks"]["delta"], abs=2e-4)
    assert float(g2["theta"]) == pytest.approx(
        ticker["greeks"]["theta"], rel=2e-3
    )  # the lifetime-theta floor


@pytest.mark.real_data
async def test_replay_source_serves_real_snapshots(real_data_dir: Path) -> None:
    folder = real_data_dir / "svcj_deribit_snapshots_2025_2026" / "stress_week_2026-02-02_to_08"
    source = ReplaySource(folder)
    times = source.snapshot_times_ms
    assert len(times) >= 20 and list(times) == sorted(times)
    start = source.start_ms()
    assert start == times[0]
    snap = source.snapshot(start)
    btc = snap.currencies["BTC"]
    quote = next(q for q in btc.options.values() if q.best_bid_price is not None)
    fwd_ok = [q for q in list(btc.options.values())[:200] if q.mark_price > 0.001]
    t_years = [(q.expiration_ms - start) / MS_PER_YEAR for q in fwd_ok]
    marks = price_coin(
        [q.underlying_price for q in fwd_ok],
        [q.strike for q in fwd_ok],
        t_years,
        [q.mark_iv / 100 for q in fwd_ok],
        [q.option_type == "call" for q in fwd_ok],
    )
    errors = sorted(abs(m / q.mark_price - 1) for m, q in zip(marks, fwd_ok, strict=True))
    assert errors[len(errors) // 2] < 1e-3  # real marks follow Black-76 on the forward
    assert 30 < btc.dvol < 120 and quote.best_bid_amount > 0
    # the 2026-02-06 08:00 expiry drops out of the chain after it passes
    friday = 1770364800000
    assert any(
        q.expiration_ms == friday for q in source.snapshot(friday - 1).currencies["BTC"].options.values()
    )
    assert not any(
        q.expiration_ms == friday for q in source.snapshot(friday + 1).currencies["BTC"].options.values()
    )

    async with DeribitEmulator(source=source, clock=ManualClock(start)) as emu:
        from trading.exchange.client import DeribitClient
        from trading.exchange.config import ClientConfig

        config = ClientConfig(
            transport="http",
            base_url=emu.base_url,
            credentials=Credentials.of("emulator-client", "emulator-secret"),
        )
        async with DeribitClient(config) as client:
            summaries = await client.get_book_summary_by_currency(currency="BTC", kind="option")
            assert len(summaries) == len(btc.options)
            row = next(s for s in summaries if s.instrument_name == quote.instrument_name)
            assert row.mark_price == quote.mark_price and row.bid_price == quote.best_bid_price
            ticker = await client.get_ticker(instrument_name=quote.instrument_name)
            assert ticker.underlying_index == quote.underlying_index and ticker.mark_iv == quote.mark_iv
            placed = await client.buy(
                instrument_name=quote.instrument_name,
                amount=0.1,
                price=ceil_to_tick(quote.best_ask_price or 0.0001),
                label="replay",
            )
            assert placed.order.order_state == "filled"
            await emu.advance((friday + 60_000 - start) / 1000)
            assert (await client.get_delivery_prices(index_name="btc_usd")).records_total >= 1


async def test_quant_synthetic_source_drives_the_emulator() -> None:
    """The project's ``trading.quant.synthetic`` chains behind the same wire protocol."""
    from trading.exchange.client import DeribitClient
    from trading.exchange.config import ClientConfig
    from trading.exchange.emulator.sources.quant import QuantSourceConfig, QuantSyntheticSource

    source = QuantSyntheticSource(QuantSourceConfig(days=2))
    start = source.start_ms()
    assert start is not None
    async with DeribitEmulator(source=source, clock=ManualClock(start + 3_600_000)) as emu:
        config = ClientConfig(
            transport="http",
            base_url=emu.base_url,
            credentials=Credentials.of("emulator-client", "emulator-secret"),
        )
        async with DeribitClient(config) as client:
            rows = await client.get_book_summary_by_currency(currency="BTC", kind="option")
            assert len(rows) > 100
            quoted = next(r for r in rows if r.bid_price and r.bid_price > 0.01 and r.ask_price)
            ticker = await client.get_ticker(instrument_name=quoted.instrument_name)
            assert ticker.best_bid_price == quoted.bid_price and 5 < (ticker.mark_iv or 0) < 300
            assert ticker.underlying_index is not None and ticker.underlying_index.endswith(
                quoted.instrument_name.split("-")[1]
            )
            placed = await client.sell(
                instrument_name=quoted.instrument_name, amount=0.1, price=quoted.bid_price, label="q"
            )
            assert placed.order.order_state == "filled"
            assert (await client.get_index_price(index_name="eth_usd")).index_price != ticker.index_price
