"""The state file: an SQLite database (stdlib ``sqlite3``) in WAL mode, one row per account,
position, order, trade and instrument, each with a JSON body, and a ``meta`` table.

Why SQLite: a save writes only the rows that changed, in one transaction, so its cost does not
grow with the order and trade history, and a transaction is all-or-nothing: a crash at any
point leaves the last committed state (SQLite's journal, the equivalent of writing a temp file
and renaming it). A new file is written whole to a temp file, fsynced and linked into place.

While the emulator runs, recent saves may sit in ``PATH-wal`` next to the file (folded into it
when the emulator stops): copy both, or copy after stopping.

Durability: by default (``synchronous=NORMAL``) a committed save survives any crash of the
emulator process; a power cut may lose the last few saves but never corrupts the file. With
``fsync=True`` (``synchronous=FULL``) every save is on disk before it returns; saves then run
in a worker thread and concurrent requests share one fsync (group commit).

The file is locked (``locking_mode=EXCLUSIVE``) while open: a second emulator is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "VERSION", "Batch", "StateFileError", "StateStore"]

FORMAT = "optionsbot.deribit-emulator.state"
VERSION = 1

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE accounts (account_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE positions (
    account_id TEXT NOT NULL, instrument_name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (account_id, instrument_name)
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, instrument_name TEXT NOT NULL,
    label TEXT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE trades (
    seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL, currency TEXT NOT NULL,
    trade_id TEXT NOT NULL, order_id TEXT NOT NULL, label TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE instruments (
    name TEXT PRIMARY KEY, body TEXT NOT NULL, consumed TEXT NOT NULL, market TEXT
);
CREATE TABLE delivery_prices (
    index_name TEXT NOT NULL, day TEXT NOT NULL, price REAL NOT NULL, PRIMARY KEY (index_name, day)
);
"""

TABLES = ("meta", "accounts", "positions", "orders", "trades", "instruments", "delivery_prices")

UPSERT_META = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
# accounts are read back in rowid order, which an upsert (unlike a replace) keeps: the order they
# were first created in, as the engine lists them (an account lists its positions in order)
UPSERT_ACCOUNT = (
    "INSERT INTO accounts (account_id, body) VALUES (?, ?)"
    " ON CONFLICT (account_id) DO UPDATE SET body = excluded.body"
)
UPSERT_POSITION = (
    "INSERT INTO positions (account_id, instrument_name, body) VALUES (?, ?, ?)"
    " ON CONFLICT (account_id, instrument_name) DO UPDATE SET body = excluded.body"
)
DELETE_POSITION = "DELETE FROM positions WHERE account_id = ? AND instrument_name = ?"
UPSERT_ORDER = (
    "INSERT OR REPLACE INTO orders (order_id, account_id, instrument_name, label, state, body)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_TRADE = (
    "INSERT INTO trades (seq, account_id, currency, trade_id, order_id, label, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_INSTRUMENT = "INSERT OR REPLACE INTO instruments (name, body, consumed, market) VALUES (?, ?, ?, ?)"
UPSERT_DELIVERY = "INSERT OR REPLACE INTO delivery_prices (index_name, day, price) VALUES (?, ?, ?)"


_BUSY = "stop the other emulator, or give this one another file"


class StateFileError(Exception):
    """The state file cannot be used: unreadable, damaged, foreign, newer, or in use."""

    def __init__(
        self,
        path: Path | str,
        reason: str,
        hint: str = "move the file away to start afresh, or restore a good copy",
    ) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"emulator state file {self.path}: {reason}. Refusing to start; {hint}.")


@dataclass
class Batch:
    """One save: statements with their rows, applied in order in one transaction."""

    ops: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)

    def add(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.ops.append((sql, rows))


class StateStore:
    """The state file at ``path``. :meth:`read` an existing one (or get None), :meth:`create`
    a new one, then :meth:`commit` saves; :meth:`close` at the end."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path).absolute()
        self.fsync = fsync
        self._conn: sqlite3.Connection | None = None
        self._pending: list[Batch] = []
        self._queued = 0  # batches ever handed to commit()
        self._written = 0  # of those, the ones committed to the file
        self._flushing: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ open

    def _open(self) -> sqlite3.Connection:
        """A connection that has not written anything yet (so a refused file is left as it is)."""
        try:
            conn = sqlite3.connect(
                self.path.as_uri() + "?mode=rw",
                uri=True,
                timeout=0,
                isolation_level=None,
                check_same_thread=False,  # one user at a time: the event loop, or the writer thread
            )
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        except sqlite3.Error as exc:
            raise StateFileError(self.path, f"cannot open it ({exc})") from None
        return conn

    def _connect(self, conn: sqlite3.Connection | None = None) -> sqlite3.Connection:
        """Switch to WAL with the chosen durability and take the lock for as long as it is open."""
        conn = conn or self._open()
        try:
            if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                raise StateFileError(self.path, "cannot switch it to WAL mode")
            conn.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
            conn.execute("BEGIN EXCLUSIVE")  # takes the lock now, for as long as it stays open
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StateFileError(self.path, "it is in use by another emulator", _BUSY) from None
            raise StateFileError(self.path, f"not a usable SQLite file ({exc})") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StateFileError(self.path, f"not a usable SQLite file ({exc})") from None
        return conn

    def read(self) -> dict[str, list[tuple[Any, ...]]] | None:
        """Open and lock an existing file and return its rows by table (None if there is no file
        yet). Raises :class:`StateFileError` if it is damaged or not an emulator state file."""
        if not self.path.exists():
            return None
        if not self.path.is_file():
            raise StateFileError(self.path, "not a file")
        conn = self._open()
        try:
            check = conn.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise StateFileError(self.path, f"damaged ({'; '.join(str(r[0]) for r in check[:3])})")
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in names:
                raise StateFileError(self.path, "not an emulator state file (no meta table)")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != json.dumps(FORMAT):
                raise StateFileError(self.path, "not an emulator state file")
            version = json.loads(meta.get("version", "0"))
            if version != VERSION:
                raise StateFileError(self.path, f"written by format version {version}, this is {VERSION}")
            missing = [t for t in TABLES if t not in names]
            if missing:
                raise StateFileError(self.path, f"tables missing: {', '.join(missing)}")
            order = {
                "trades": " ORDER BY seq",
                "orders": " ORDER BY order_id",
                "accounts": " ORDER BY rowid",
            }
            rows = {t: conn.execute(f"SELECT * FROM {t}{order.get(t, '')}").fetchall() for t in TABLES}  # noqa: S608
        except StateFileError:
            conn.close()
            raise
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StateFileError(self.path, "it is in use by another emulator", _BUSY) from None
            raise StateFileError(self.path, f"damaged ({exc})") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            if "not a database" in str(exc):
                raise StateFileError(self.path, f"not a usable SQLite file ({exc})") from None
            raise StateFileError(self.path, f"damaged ({exc})") from None
        except ValueError as exc:
            conn.close()
            raise StateFileError(self.path, f"damaged ({exc})") from None
        self._conn = self._connect(conn)
        return rows

    def create(self, batch: Batch) -> None:
        """Write a new file whole: a temp file next to it, fsynced, then linked into place (so the
        path never names a half-written file); fails if a file appeared there meanwhile."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.executescript(SCHEMA)
                self._apply(conn, [batch])
            finally:
                conn.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            try:
                os.link(tmp, self.path)  # unlike a rename, never replaces a file created meanwhile
            except FileExistsError:
                raise StateFileError(self.path, "another process created it meanwhile", _BUSY) from None
            except OSError:  # a filesystem without hard links
                os.replace(tmp, self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StateFileError(self.path, f"cannot create it ({exc})", "check the folder") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        _fsync_dir(self.path.parent)
        self._conn = self._connect()

    def reopen(self) -> None:
        """Take the file again after :meth:`close` (the engine in memory is the truth)."""
        if self._conn is None:
            self._conn = self._connect()

    # ------------------------------------------------------------------ save

    @staticmethod
    def _apply(conn: sqlite3.Connection, batches: list[Batch]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for batch in batches:
                for sql, rows in batch.ops:
                    conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _write(self, batches: list[Batch]) -> None:
        if self._conn is None:
            raise RuntimeError(f"state file {self.path} is closed")
        self._apply(self._conn, batches)

    def _flush_inline(self) -> None:
        batches, self._pending = self._pending, []
        upto = self._queued
        try:
            self._write(batches)
        except BaseException:
            self._pending[:0] = batches  # kept for the next save: nothing is dropped
            raise
        self._written = upto

    async def _flush_in_thread(self) -> None:
        try:
            batches, self._pending = self._pending, []
            upto = self._queued
            try:
                await asyncio.to_thread(self._write, batches)
            except BaseException:
                self._pending[:0] = batches
                raise
            self._written = upto
        finally:
            self._flushing = None

    def commit_now(self, batch: Batch | None) -> None:
        """Save synchronously (start-up and shutdown, with no request waiting)."""
        if batch is not None:
            self._pending.append(batch)
            self._queued += 1
        if self._pending:
            self._flush_inline()

    async def commit(self, batch: Batch | None) -> None:
        """Save ``batch`` and return once it, and every batch handed over before it, is in the
        file. Raises if the write failed (the batches stay queued for the next save)."""
        if batch is not None:
            self._pending.append(batch)
            self._queued += 1
        if not self.fsync:
            if self._pending:
                self._flush_inline()
            return
        target = self._queued
        while self._written < target:
            if self._flushing is None:
                self._flushing = asyncio.ensure_future(self._flush_in_thread())
            await asyncio.shield(self._flushing)

    async def aclose(self, final: Batch | None = None) -> None:
        """Wait for a save in progress, write ``final`` and the rest, release the file."""
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flushing)
        try:
            self.commit_now(final)
        finally:
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # checkpoints the WAL into the file and removes it
            self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
