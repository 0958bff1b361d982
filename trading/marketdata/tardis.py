"""Tardis.dev ``options_chain`` files (Deribit) reduced to snapshot frames.

A day file holds every ticker update of every option (millions of rows): µs timestamps, IVs in
percent, empty cells where Deribit sent nothing or zero (DERIBIT.md §4.1). Files are read in chunks;
for each mark time ``t`` on a grid of ``every`` (aligned to midnight UTC) a snapshot holds, per
instrument, the last quote with an exchange ``timestamp`` at or before ``t``, if it is at most
``max_age`` old and the option has not expired. Consecutive day files of one currency form one
stream, so midnight snapshots see the previous day's quotes.

Mapping: ``symbol`` → ``instrument_name``, ``underlying_price`` → ``underlying`` (the forward),
``underlying_index`` as is, ``mark_iv``/``bid_iv``/``ask_iv`` ÷ 100, prices as given (coin). The
file has no spot index: ``index_price`` is the forward of rows marked on ``index_price`` when there
are any, else the forward of the nearest expiry (a daily, within a few dollars of the spot).
Linear (``_USDC``) options are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from trading.marketdata.frame import (
    Fail,
    SnapshotFrameError,
    _failer,
    _first,
    _floats,
    validate_snapshot_frame,
)
from trading.quant.instruments import InstrumentNameError, parse_instrument, parse_instrument_names

__all__ = ["TARDIS_COLUMNS", "tardis_snapshots"]

TARDIS_COLUMNS = [
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "type",
    "strike_price",
    "expiration",
    "open_interest",
    "last_price",
    "bid_price",
    "bid_amount",
    "bid_iv",
    "ask_price",
    "ask_amount",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_index",
    "underlying_price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
]
"""The 24 columns of a Tardis ``options_chain`` CSV, in order."""

_TIMES = ("timestamp", "local_timestamp", "expiration")
_NUMBERS = (
    "strike_price",
    "open_interest",
    "bid_price",
    "bid_iv",
    "ask_price",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_price",
    "delta",
    "vega",
)
_NEEDED = ("symbol", "type", "underlying_index", *_TIMES, *_NUMBERS)
_US_LO, _US_HI = 1_451_606_400_000_000, 4_102_444_800_000_000  # 2016-01-01 .. 2100-01-01 in µs
_GRACE_US = 300_000_000  # quotes arriving up to 5 min late still count for their mark time
_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _file_order(path: Path) -> tuple[str, str]:
    m = _DAY.search(path.name)
    return (m.group(1) if m else "", path.name)


def _header(path: Path) -> None:
    try:
        columns = list(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError, EOFError) as exc:
        raise SnapshotFrameError(str(path), f"cannot read as a CSV file ({exc})") from None
    missing = [c for c in _NEEDED if c not in columns]
    if missing:
        raise SnapshotFrameError(
            str(path),
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} in the header; "
            f"a Tardis options_chain file has {', '.join(TARDIS_COLUMNS)}",
            row=None,
            column=missing[0],
        )


def _epoch_us(values: pd.Series, column: str, fail: Fail) -> np.ndarray:
    out = _floats(values, column, fail)
    if (pos := _first(np.isnan(out))) is not None:
        fail(pos, column, "missing time")
    bad = (out < _US_LO) | (out >= _US_HI)
    if (pos := _first(bad)) is not None:
        v = out[pos]
        unit = (
            "milliseconds"
            if _US_LO / 1e3 <= v < _US_HI / 1e3
            else "seconds"
            if _US_LO / 1e6 <= v < _US_HI / 1e6
            else ""
        )
        hint = (
            f"; it looks like {unit} but Tardis times are µs since the epoch"
            if unit
            else " µs since the epoch"
        )
        fail(pos, column, f"{v:.0f} is not a plausible time{hint}")
    return out.astype(np.int64)


def _checked(
    chunk: pd.DataFrame, *, source: str, first_row: int, currency: str | None
) -> tuple[pd.DataFrame, int]:
    """Type and check one chunk; returns the coin-settled rows (of ``currency``) and how many linear
    rows were skipped. Row numbers count data rows of the file from 1."""
    rows = np.arange(first_row + 1, first_row + len(chunk) + 1, dtype=np.int64)
    fail = _failer(source, rows, 1)
    chunk = chunk.reset_index(drop=True)
    out: dict[str, object] = {"_row": rows}
    for c in _TIMES:
        out[c] = _epoch_us(chunk[c], c, fail)
    for c in _NUMBERS:
        out[c] = _floats(chunk[c], c, fail)
    symbol = chunk["symbol"].astype(str).where(chunk["symbol"].notna(), "")
    kind = chunk["type"].astype(str).str.lower().where(chunk["type"].notna(), "")
    if (pos := _first(~kind.isin(["call", "put"]).to_numpy())) is not None:
        fail(pos, "type", f"{chunk['type'].iloc[pos]!r} is not 'call' or 'put'")
    parsed = parse_instrument_names(symbol, errors="coerce")
    if (pos := _first(~parsed.valid)) is not None:
        try:
            parse_instrument(symbol.iloc[pos])
            reason = f"cannot parse {symbol.iloc[pos]!r} as a Deribit option name"
        except InstrumentNameError as exc:
            reason = str(exc)
        fail(pos, "symbol", reason)
    mark_iv = np.asarray(out["mark_iv"])
    if (pos := _first(mark_iv < 1.0)) is not None:
        fail(
            pos,
            "mark_iv",
            f"{mark_iv[pos]:g} looks like a decimal; Tardis gives IVs in percent (62.9 = 62.9 %)",
        )
    for c in ("mark_iv", "bid_iv", "ask_iv"):
        v = np.asarray(out[c])
        if (pos := _first((v < 0) | (v > 1000))) is not None:
            fail(pos, c, f"{v[pos]:g} is not an implied volatility in percent")
    strike = np.asarray(out["strike_price"])
    if (pos := _first(np.abs(strike - parsed.strike) > 1e-9 * np.maximum(parsed.strike, 1.0))) is not None:
        fail(
            pos,
            "strike_price",
            f"{strike[pos]:g}, but the symbol {symbol.iloc[pos]} says {parsed.strike[pos]:g}",
        )
    expiry_us = parsed.expiry.astype("datetime64[us]").astype(np.int64)
    expiration = np.asarray(out["expiration"])
    if (pos := _first(expiration != expiry_us)) is not None:
        fail(pos, "expiration", f"{expiration[pos]} µs is not the 08:00 UTC expiry of {symbol.iloc[pos]}")
    if (pos := _first((kind == "call").to_numpy() != parsed.is_call)) is not None:
        fail(pos, "type", f"{kind.iloc[pos]!r}, but the symbol {symbol.iloc[pos]} says otherwise")
    fwd = np.asarray(out["underlying_price"])
    with np.errstate(invalid="ignore", divide="ignore"):
        cap = np.maximum(1.0, strike / fwd) * 1.05 + 0.01
    for c in ("mark_price", "bid_price", "ask_price"):
        v = np.asarray(out[c])
        too_high = v > cap if c != "ask_price" else np.zeros(len(v), dtype=bool)  # real asks can be absurd
        if (pos := _first((v < 0) | too_high)) is not None:
            fail(
                pos,
                c,
                f"{v[pos]:g} is not a coin price (at most {cap[pos]:.4g} coin for strike "
                f"{strike[pos]:g} USD, forward {fwd[pos]:g} USD); were prices given in USD?",
            )
    frame = pd.DataFrame(out)
    frame["symbol"] = symbol.to_numpy()
    frame["type"] = kind.to_numpy()
    frame["underlying_index"] = (
        chunk["underlying_index"].astype(str).where(chunk["underlying_index"].notna(), "")
    )
    frame["currency"] = parsed.underlying
    keep = parsed.settlement_currency == parsed.underlying
    linear = int((~keep).sum())
    if currency is not None:
        keep &= parsed.underlying == currency
    return frame.loc[keep].reset_index(drop=True), linear


class _Stream:
    """One currency's quotes in time order, cut into snapshots on the ``every`` grid."""

    def __init__(self, currency: str, every_us: int, max_age_us: int) -> None:
        self.currency, self.every, self.max_age = currency, every_us, max_age_us
        self.state: pd.DataFrame | None = None
        self.pending: list[pd.DataFrame] = []
        self.next_bucket: int | None = None
        self.max_ts = self.max_local = -1
        self.held: tuple[int, pd.DataFrame] | None = None
        self.emitted = 0
        self.notes: list[str] = []

    def feed(self, rows: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
        rows = rows.assign(bucket=-(-rows["timestamp"] // self.every))
        # only the last quote of each instrument within a grid step can matter
        self.pending.append(rows.drop_duplicates(["symbol", "bucket"], keep="last"))
        self.max_ts = max(self.max_ts, int(rows["timestamp"].max()))
        self.max_local = max(self.max_local, int(rows["local_timestamp"].max()))
        if self.next_bucket is None:
            self.next_bucket = int(rows["bucket"].min())
        ready = min((self.max_local - _GRACE_US) // self.every, self.max_ts // self.every)
        return self._emit(ready)

    def finish(self) -> list[tuple[int, pd.DataFrame]]:
        out = self._emit(self.max_ts // self.every) if self.next_bucket is not None else []
        if self.held is not None:
            out.append(self.held)
            self.held = None
        return out

    def _emit(self, upto: int) -> list[tuple[int, pd.DataFrame]]:
        assert self.next_bucket is not None
        if upto < self.next_bucket or not self.pending:
            return []
        pending = pd.concat(self.pending, ignore_index=True)
        now = pending[pending["bucket"] <= upto]
        self.pending = [pending[pending["bucket"] > upto]]
        late = now[now["bucket"] < self.next_bucket]  # arrived after their mark time was cut
        if len(late):
            self._merge(late)
        by_bucket = {int(cast(int, b)): g for b, g in now.groupby("bucket", sort=True)}
        with_rows = sorted(x for x in by_bucket if x >= self.next_bucket)
        out: list[tuple[int, pd.DataFrame]] = []
        b = self.next_bucket
        while b <= upto:
            if b in by_bucket:
                self._merge(by_bucket[b])
            t = b * self.every
            assert self.state is not None
            live = self.state[(self.state["timestamp"] > t - self.max_age) & (self.state["expiration"] > t)]
            if len(live):
                out.extend(self._release(t, live))
            newest = int(self.state["timestamp"].max())
            later = [x for x in with_rows if x > b]
            if (b + 1) * self.every - self.max_age >= newest:  # nothing fresh until the next quotes
                b = later[0] if later else upto + 1
            else:
                b += 1
        self.next_bucket = upto + 1
        return out

    def _merge(self, rows: pd.DataFrame) -> None:
        parts = [rows] if self.state is None else [self.state, rows]
        merged = pd.concat(parts, ignore_index=True).sort_values("timestamp", kind="stable")
        self.state = merged.drop_duplicates("symbol", keep="last")

    def _release(self, t: int, live: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
        # The first snapshot of a stream may have seen only the last seconds before it; keep it
        # only if it is not much thinner than the next one.
        self.emitted += 1
        if self.emitted == 1:
            self.held = (t, live)
            return []
        if self.held is not None:
            first_t, first = self.held
            self.held = None
            if len(first) < 0.5 * len(live):
                self.notes.append(
                    f"{self.currency}: skipped the first snapshot, at "
                    f"{pd.Timestamp(first_t, unit='us', tz='UTC')} "
                    f"({len(first)} options against {len(live)} next): the data starts just before it"
                )
                return [(t, live)]
            return [(first_t, first), (t, live)]
        return [(t, live)]


def _snapshot_frame(t_us: int, rows: pd.DataFrame, currency: str) -> pd.DataFrame:
    fwd = rows["underlying_price"].to_numpy()
    on_index = (rows["underlying_index"] == "index_price").to_numpy() & np.isfinite(fwd)
    if on_index.any():
        index = float(np.median(fwd[on_index]))
    else:
        nearest = rows["expiration"].to_numpy() == rows["expiration"].min()
        values = fwd[nearest & np.isfinite(fwd)]
        index = float(np.median(values)) if len(values) else np.nan
    raw = pd.DataFrame(
        {
            "timestamp": pd.Timestamp(t_us, unit="us", tz="UTC"),
            "instrument_name": rows["symbol"].to_numpy(),
            "currency": currency,
            "expiry_datetime": pd.to_datetime(rows["expiration"].to_numpy(), unit="us", utc=True),
            "strike": rows["strike_price"].to_numpy(),
            "option_type": rows["type"].to_numpy(),
            "underlying": fwd,
            "underlying_index": rows["underlying_index"].to_numpy(),
            "index_price": index,
            "implied_volatility": rows["mark_iv"].to_numpy() / 100.0,
            "mark_price": rows["mark_price"].to_numpy(),
            "bid_price": rows["bid_price"].to_numpy(),
            "ask_price": rows["ask_price"].to_numpy(),
            "mid_price": np.nan,
            "open_interest": rows["open_interest"].to_numpy(),
            "volume": np.nan,
            "bid_iv": rows["bid_iv"].to_numpy() / 100.0,
            "ask_iv": rows["ask_iv"].to_numpy() / 100.0,
            "delta": rows["delta"].to_numpy(),
            "vega": rows["vega"].to_numpy(),
        }
    )
    return validate_snapshot_frame(
        raw,
        source_name=f"Tardis options_chain {currency} at {raw['timestamp'].iloc[0]}",
        row_numbers=rows["_row"].to_numpy(),
        line_offset=1,
    )


def tardis_snapshots(
    paths: Iterable[Path | str],
    *,
    every: pd.Timedelta,
    currency: str | None = None,
    max_age: pd.Timedelta | None = None,
    chunk_rows: int = 1_000_000,
    notes: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Snapshot frames from Tardis ``options_chain`` CSV(.gz) files, oldest first per currency.

    ``every`` is the grid step (e.g. ``pd.Timedelta("1h")``); ``max_age`` (default the larger of
    ``every`` and 10 minutes) drops instruments not quoted for that long. Raises
    :class:`SnapshotFrameError` naming the file, row and column on the first bad value.
    Human-readable remarks (skipped rows, skipped partial snapshots) are appended to ``notes``.
    """
    every_us = int(every / pd.Timedelta(microseconds=1))
    if every_us < 1_000_000:
        raise ValueError("every must be at least one second")
    age = max_age if max_age is not None else max(every, pd.Timedelta(minutes=10))
    age_us = int(age / pd.Timedelta(microseconds=1))
    wanted = currency.upper() if currency else None
    streams: dict[str, _Stream] = {}
    linear = 0
    for path in sorted((Path(p) for p in paths), key=_file_order):
        _header(path)
        reader = pd.read_csv(
            path, usecols=list(_NEEDED), chunksize=chunk_rows, dtype={"symbol": str, "type": str}
        )
        offset = 0
        for chunk in reader:
            rows, skipped = _checked(chunk, source=str(path), first_row=offset, currency=wanted)
            offset += len(chunk)
            linear += skipped
            for cur, part in rows.groupby("currency", sort=True):
                stream = streams.setdefault(str(cur), _Stream(str(cur), every_us, age_us))
                for t, live in stream.feed(part.sort_values("timestamp", kind="stable")):
                    yield _snapshot_frame(t, live, str(cur))
    for cur, stream in streams.items():
        for t, live in stream.finish():
            yield _snapshot_frame(t, live, cur)
        if notes is not None:
            notes.extend(stream.notes)
    if notes is not None and linear:
        notes.append(f"skipped {linear} rows of linear (USDC-settled) options")
