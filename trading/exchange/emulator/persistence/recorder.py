"""Keeping the state file in step with the engine: :class:`StateRecorder` turns what changed
(:class:`~trading.exchange.emulator.engine.journal.Changes`, new trades) into one
:class:`~.store.Batch` per save; :func:`open_state` reads a file back into a :class:`SavedState`.

What is saved: accounts (balances, fees paid, session P&L), positions (size, average prices,
realised P&L), every order (label, amounts, filled amount, state), every trade (ids, order id,
label), the listed and expired instruments (ids, settlement and delivery prices, trade stats,
last quote, liquidity taken in the current market), delivery prices, the next order, trade,
instrument and change ids, the engine's time and market, and the clock (meta).
"""

from __future__ import annotations

import json
import time
from typing import Any

from trading.exchange.emulator.accounting import PositionState
from trading.exchange.emulator.clock import Clock
from trading.exchange.emulator.engine import Changes, EngineImage, ExchangeEngine
from trading.exchange.emulator.persistence import codec
from trading.exchange.emulator.persistence.setup import SavedState, clock_speed
from trading.exchange.emulator.persistence.store import (
    DELETE_POSITION,
    FORMAT,
    INSERT_TRADE,
    UPSERT_ACCOUNT,
    UPSERT_DELIVERY,
    UPSERT_INSTRUMENT,
    UPSERT_META,
    UPSERT_ORDER,
    UPSERT_POSITION,
    VERSION,
    Batch,
    StateFileError,
    StateStore,
)

__all__ = ["StateRecorder", "open_state"]


class StateRecorder:
    """Saves ``engine`` to ``store``: call :meth:`save` after anything that may have changed it
    and before telling anyone (a response, a notification)."""

    def __init__(
        self,
        store: StateStore,
        engine: ExchangeEngine,
        clock: Clock,
        market: dict[str, Any],
        *,
        saved_trades: int = 0,
    ) -> None:
        """``saved_trades``: how many of ``engine.trades`` the file already holds (a resumed
        engine may have traded since, matching resting orders against the market it found)."""
        self.store = store
        self.engine = engine
        self.clock = clock
        self.market = market
        self._trades_saved = saved_trades

    def start(self, *, new: bool) -> None:
        """Write a new file whole, or save what changed while resuming an existing one."""
        if new:
            engine = self.engine
            everything = Changes.everything(engine.accounts.values(), engine.orders, engine.instruments)
            engine.changes.take()
            self._trades_saved = 0
            batch = self._batch(everything, clock=True, static=True)
            self.store.create(batch)
        else:
            self.store.commit_now(self.collect(clock=True))

    def collect(self, *, clock: bool = False) -> Batch | None:
        """A batch of what changed since the last one (None if nothing did); with ``clock`` also
        the clock's reading, always. A running clock keeps its pace, so the reading taken when it
        starts and when it stops is all a restart needs."""
        engine = self.engine
        if not engine.changes and len(engine.trades) == self._trades_saved and not clock:
            return None
        return self._batch(engine.changes.take(), clock=clock)

    async def save(self) -> None:
        await self.store.commit(self.collect())

    def save_now(self) -> None:
        self.store.commit_now(self.collect())

    async def close(self) -> None:
        """The final save (with the clock's time), then release the file."""
        await self.store.aclose(self.collect(clock=True))

    def _batch(self, changes: Changes, *, clock: bool = False, static: bool = False) -> Batch:
        engine = self.engine
        market = engine.market_token()
        batch = Batch()
        batch.add(
            UPSERT_ACCOUNT,
            [codec.account_row(engine.accounts[a]) for a in sorted(changes.accounts) if a in engine.accounts],
        )
        upserts: list[tuple[Any, ...]] = []
        deletes: list[tuple[Any, ...]] = []
        for account_id, name in sorted(changes.positions):
            account = engine.accounts.get(account_id)
            pos = account.positions.get(name) if account is not None else None
            if pos is None:
                deletes.append((account_id, name))
            else:
                upserts.append(codec.position_row(account_id, pos))
        batch.add(DELETE_POSITION, deletes)
        batch.add(UPSERT_POSITION, upserts)
        batch.add(UPSERT_ORDER, [codec.order_row(engine.orders[o]) for o in sorted(changes.orders, key=int)])
        batch.add(
            UPSERT_INSTRUMENT,
            [codec.instrument_row(engine.instruments[n], market) for n in sorted(changes.instruments)],
        )
        trades = engine.trades
        batch.add(
            INSERT_TRADE,
            [codec.trade_row(i, trades[i]) for i in range(self._trades_saved, len(trades))],
        )
        self._trades_saved = len(trades)
        if changes.delivery_prices:
            batch.add(
                UPSERT_DELIVERY,
                [(ix, day, p) for ix, days in engine.delivery_prices.items() for day, p in days.items()],
            )
        meta: dict[str, Any] = {
            "engine": {
                "now_ms": engine.now_ms,
                "market_token": market,
                "market_ms": engine.market_ms,
                **engine.id_counters(),
            }
        }
        if clock:
            meta["clock"] = {
                "clock_ms": self.clock.now_ms(),
                "wall_ms": int(time.time() * 1000),
                "speed": clock_speed(self.clock),
            }
        if static:
            meta.update(
                format=FORMAT, version=VERSION, market=self.market, created_ms=int(time.time() * 1000)
            )
        batch.add(UPSERT_META, [(key, codec.dumps(value)) for key, value in meta.items()])
        return batch


def open_state(store: StateStore) -> SavedState | None:
    """Read ``store``'s file (None if there is none yet); :class:`StateFileError` if unusable."""
    rows = store.read()
    if rows is None:
        return None
    try:
        return _decode(rows)
    except (codec.CorruptRow, KeyError, TypeError, ValueError) as exc:
        store.close()
        raise StateFileError(store.path, f"damaged ({type(exc).__name__}: {exc})") from None


def _decode(rows: dict[str, list[tuple[Any, ...]]]) -> SavedState:
    meta = {key: json.loads(value) for key, value in rows["meta"]}
    engine_meta, clock = meta["engine"], meta["clock"]
    token = engine_meta["market_token"]
    held: dict[str, dict[str, PositionState]] = {aid: {} for aid, _ in rows["accounts"]}
    for account_id, name, body in rows["positions"]:
        if account_id not in held:
            raise codec.CorruptRow(f"position {account_id}/{name} of an unknown account")
        held[account_id][name] = codec.decode_position(account_id, name, body)
    accounts = {aid: codec.decode_account(aid, body, held[aid]) for aid, body in rows["accounts"]}
    orders = [codec.decode_order(oid, body) for oid, _, _, _, _, body in rows["orders"]]
    trades = [codec.decode_trade(seq, aid, cur, body) for seq, aid, cur, _, _, _, body in rows["trades"]]
    if [seq for seq, *_ in rows["trades"]] != list(range(len(trades))):
        raise codec.CorruptRow("trade history has gaps")
    instruments = [
        codec.decode_instrument(name, body, consumed, market, token)
        for name, body, consumed, market in rows["instruments"]
    ]
    delivery: dict[str, dict[str, float]] = {}
    for index_name, day, price in rows["delivery_prices"]:
        delivery.setdefault(index_name, {})[day] = codec.decode_delivery_price(index_name, day, price)
    unknown = ({o.account_id for o in orders} | {aid for aid, _, _ in trades}) - set(accounts)
    if unknown:
        raise codec.CorruptRow(f"orders or trades of unknown accounts {sorted(unknown)}")
    image = EngineImage(
        now_ms=_int(engine_meta["now_ms"]),
        accounts=list(accounts.values()),
        instruments=instruments,
        orders=orders,
        trades=trades,
        delivery_prices=delivery,
        next_order_id=_int(engine_meta["next_order_id"]),
        next_trade_id=_int(engine_meta["next_trade_id"]),
        next_instrument_id=_int(engine_meta["next_instrument_id"]),
        next_change_id=_int(engine_meta["next_change_id"]),
        market_token=token if isinstance(token, str) else None,
        market_ms=_int(engine_meta["market_ms"]),
    )
    speed = clock["speed"]
    if speed is not None and (not isinstance(speed, int | float) or speed <= 0):
        raise codec.CorruptRow(f"clock speed {speed!r}")
    market = meta["market"]
    if not isinstance(market, dict):
        raise codec.CorruptRow("market is not described")
    return SavedState(
        market=market,
        clock_ms=_int(clock["clock_ms"]),
        wall_ms=_int(clock["wall_ms"]),
        speed=None if speed is None else float(speed),
        image=image,
    )


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise codec.CorruptRow(f"expected an integer, found {value!r}")
    return value
