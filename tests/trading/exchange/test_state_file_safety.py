"""The state file is never half-written and never silently replaced: a damaged, foreign or busy
file is refused with its name; a crash (SIGKILL) loses no acknowledged order; SIGTERM saves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.trading.exchange.conftest import CLIENT_ID, CLIENT_SECRET, START_MS, pick_option, wait_for
from tests.trading.exchange.test_emulator_engine import ScriptedSource
from trading.exchange.client import DeribitClient
from trading.exchange.config import ClientConfig, Credentials, RetryPolicy
from trading.exchange.emulator import AccountConfig, DeribitEmulator, ManualClock, SyntheticSource
from trading.exchange.emulator.engine.journal import EngineImage
from trading.exchange.emulator.persistence import SavedState, StateFileError, StateStore, open_state
from trading.exchange.emulator.sources.synthetic import SyntheticConfig

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = AccountConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def _emulator(path: Path, **kwargs: object) -> DeribitEmulator:
    options: dict[str, object] = {"source": SyntheticSource(), "clock": ManualClock(START_MS)}
    options.update(kwargs)
    return DeribitEmulator(accounts=[ACCOUNT], state_path=path, **options)  # type: ignore[arg-type]


async def _saved_with_orders(path: Path, n: int = 3) -> list[str]:
    async with _emulator(path) as emu:
        engine = emu.engine
        name = pick_option(emu)
        ids = [
            engine.place_order(
                engine.accounts[CLIENT_ID], "buy", {"instrument_name": name, "amount": 0.1, "price": 0.0005}
            )["order"]["order_id"]
            for _ in range(n)
        ]
    return ids


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign(path: Path) -> None:
    path.unlink()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.commit()


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute(statement)
            conn.commit()

    return damage


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_garbage, "not a usable SQLite file"),
        (_empty, "not an emulator state file"),
        (_truncated, "damaged"),
        (_foreign, "not an emulator state file"),
        (_sql('UPDATE orders SET body = \'{"order_id": "1"}\''), "order"),
        (_sql("UPDATE orders SET body = 'not json'"), "order"),
        (_sql("UPDATE accounts SET body = '{}'"), "account"),
        (_sql("DELETE FROM positions"), "position rows differ"),
        (_sql("UPDATE trades SET seq = seq + 1"), "gaps"),
        (_sql("UPDATE meta SET value = '99' WHERE key = 'version'"), "version 99"),
        (_sql("DROP TABLE positions"), "positions"),
    ],
)
async def test_a_damaged_file_is_refused_by_name_and_left_alone(
    tmp_path: Path, damage: Callable[[Path], None], reason: str
) -> None:
    path = tmp_path / "exchange.db"
    async with _emulator(path) as emu:  # a file with an order and a trade
        engine = emu.engine
        rec = engine.instruments[pick_option(emu)]
        params = {"instrument_name": rec.name, "amount": 0.1, "price": rec.quote.best_ask_price}
        assert engine.place_order(engine.accounts[CLIENT_ID], "buy", params)["trades"]
    damage(path)
    before = path.read_bytes()
    with pytest.raises(StateFileError) as refused:
        _emulator(path)
    message = str(refused.value)
    assert str(path) in message and reason in message and "Refusing to start" in message
    assert path.read_bytes() == before  # never replaced by an empty exchange


async def test_a_file_in_use_by_another_emulator_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    async with _emulator(path):
        with pytest.raises(StateFileError, match="in use by another emulator"):
            _emulator(path)
    async with _emulator(path):  # released on stop
        pass


async def test_the_market_must_be_the_saved_one(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    async with _emulator(path):
        pass
    other = SyntheticSource(SyntheticConfig(seed=7))
    with pytest.raises(StateFileError, match="holds a synthetic seed=20260105"):
        _emulator(path, source=other)
    async with _emulator(path, source=None, clock=ManualClock(START_MS)) as rebuilt:  # from the file
        assert isinstance(rebuilt.source, SyntheticSource) and rebuilt.source.config == SyntheticConfig()

    scripted = tmp_path / "scripted.db"
    async with _emulator(scripted, source=ScriptedSource()):
        pass
    with pytest.raises(StateFileError, match="custom source"):
        _emulator(scripted, source=None)
    async with _emulator(scripted, source=ScriptedSource()) as again:
        assert ScriptedSource.NAME in again.engine.instruments


def test_a_running_clock_runs_on_while_stopped() -> None:
    image = EngineImage(0, [], [], [], [], {}, 1, 1, 1, 1, None, 0)
    image.now_ms = 1_000_000
    saved = SavedState(market={}, clock_ms=1_000_500, wall_ms=5_000, speed=60.0, image=image)
    assert saved.resume_ms(wall_ms=6_000) == 1_000_500 + 60_000  # 1 s of wall time at 60x
    assert saved.resume_ms(wall_ms=4_000) == 1_000_500  # a wall clock set back: never backwards
    saved.speed = None  # a manual clock resumes where the exchange stopped
    assert saved.resume_ms(wall_ms=9_999_999) == 1_000_000


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from tests.trading.exchange.conftest import CLIENT_ID, START_MS, pick_option
    from trading.exchange.emulator import AccountConfig, DeribitEmulator, ManualClock, SyntheticSource
    from trading.exchange.emulator.persistence import store

    path, mode = sys.argv[1], sys.argv[2]
    if mode == "create":  # die after the new file is written, before it is linked into place
        os.link = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
    emu = DeribitEmulator(source=SyntheticSource(), clock=ManualClock(START_MS),
                          accounts=[AccountConfig(client_id=CLIENT_ID)], state_path=path)
    emu.state.store._conn.execute("PRAGMA cache_size=1")  # uncommitted pages spill to the WAL

    def dying(conn, batches):
        conn.execute("BEGIN IMMEDIATE")
        for batch in batches:
            for sql, rows in batch.ops:
                conn.executemany(sql, rows)
        print(os.path.getsize(path + "-wal"), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # rows written, COMMIT never reached

    store.StateStore._apply = staticmethod(dying)
    engine = emu.engine
    name = pick_option(emu)
    for _ in range(800):
        engine.place_order(engine.accounts[CLIENT_ID], "buy",
                           {"instrument_name": name, "amount": 0.1, "price": 0.0005, "label": "lost"})
    emu.state.save_now()
    """
)


def _run_killer(path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", _KILLER, str(path), mode],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
async def test_a_save_killed_halfway_leaves_the_last_saved_state(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    saved_ids = await _saved_with_orders(path)
    killed = _run_killer(path, "save")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert int(killed.stdout.split()[-1]) > 100_000  # thousands of rows had reached the disk
    async with _emulator(path) as emu:
        assert sorted(emu.engine.orders) == sorted(saved_ids)  # exactly the last saved state

    fresh = tmp_path / "new.db"
    killed = _run_killer(fresh, "create")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not fresh.exists()  # the half-made file never took the name
    async with _emulator(fresh) as emu:
        assert emu.engine.orders == {}


# ---------------------------------------------------------------------------- the CLI


def _spawn(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the CLI; return the process and its ready line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trading.exchange.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"emulator did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, line


def _client(line: str) -> DeribitClient:
    base_url = line.split()[3]  # "Deribit emulator on http://127.0.0.1:PORT (...)"
    return DeribitClient(
        ClientConfig(
            transport="http",
            base_url=base_url,
            credentials=Credentials.of(CLIENT_ID, CLIENT_SECRET),
            request_timeout_s=2.0,
            retry=RetryPolicy(max_attempts=1),
            submit_lookup_grace_s=0.0,
        )
    )


@pytest.mark.slow
async def test_the_cli_loses_no_acknowledged_order_to_a_kill_and_saves_on_sigterm(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    args = ("--state", str(path), "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET)
    proc, line = _spawn(*args, "--start", "2026-01-05T09:00:00+00:00")
    assert line.startswith("Deribit emulator on http://127.0.0.1:") and f"state {path}" in line
    acked: list[str] = []
    async with _client(line) as client:
        names = await client.get_book_summary_by_currency(currency="BTC", kind="option")
        name = next(r.instrument_name for r in names if (r.bid_price or 0) > 0.01)

        async def flood() -> None:
            for i in range(40):
                placed = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label=f"k{i}")
                acked.append(placed.order.order_id)

        task = asyncio.create_task(flood())
        await wait_for(lambda: len(acked) >= 8, timeout=30)
        proc.kill()  # SIGKILL: no chance to save anything more
        with contextlib.suppress(Exception):
            await task
    proc.wait(timeout=30)

    proc, line = _spawn(*args, "--seed", "7")  # the market comes from the file, not from --seed
    try:
        async with _client(line) as client:
            open_now = await client.get_open_orders_by_currency(currency="BTC")
            assert set(acked) <= {o.order_id for o in open_now}
            assert {o.label for o in open_now if o.order_id in acked} == {f"k{i}" for i in range(len(acked))}
            after = await client.buy(instrument_name=name, amount=0.1, price=0.0005, label="after")
            assert int(after.order.order_id) > max(int(o.order_id) for o in open_now if o.label != "after")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None and "state saved" in proc.stderr.read()
    store = StateStore(path)
    saved = open_state(store)
    store.close()
    assert saved is not None and after.order.order_id in {o.order_id for o in saved.image.orders}
    assert json.loads(json.dumps(saved.market))["config"]["seed"] == SyntheticConfig().seed


def test_the_cli_refuses_a_damaged_state_file(tmp_path: Path) -> None:
    path = tmp_path / "exchange.db"
    path.write_bytes(b"definitely not a database" * 100)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "trading.exchange.emulator", "--port", "0", "--state", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert f"error: emulator state file {path}" in done.stderr and "Traceback" not in done.stderr
