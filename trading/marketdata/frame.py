"""The one internal snapshot representation used by the agent, the backtester and calibration.

A *snapshot frame* is one option chain of one currency at one time: a DataFrame with one row per
option and the columns of :data:`SNAPSHOT_COLUMNS` followed by :data:`OPTIONAL_COLUMNS` (always
present in a validated frame; NaN where the source does not give them). It is exactly the input of
``trading.quant.candidates.chain_from_snapshot``, so ``chain_from_snapshot(frame)`` gives a chain.

Types: ``timestamp`` and ``expiry_datetime`` are ``datetime64[ns, UTC]``; ``instrument_name``,
``currency``, ``option_type`` and ``underlying_index`` are strings; everything else is float64.
Rows are sorted by :data:`ROW_ORDER`. A file of several snapshots is the same table with several
``timestamp`` values.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading.exchange.models import BookSummary
from trading.quant.instruments import InstrumentNameError, parse_instrument, parse_instrument_names

__all__ = [
    "ALL_COLUMNS",
    "OPTIONAL_COLUMNS",
    "PARQUET_SCHEMA",
    "ROW_ORDER",
    "SNAPSHOT_COLUMNS",
    "SnapshotFrameError",
    "empty_snapshot_frame",
    "frame_from_book_summaries",
    "frame_from_parquet_bytes",
    "frame_from_table",
    "frame_to_parquet_bytes",
    "frame_to_table",
    "validate_snapshot_frame",
]

SNAPSHOT_COLUMNS: dict[str, str] = {
    "timestamp": "snapshot time, UTC: when the exchange produced the data (one value per snapshot)",
    "instrument_name": "Deribit name, e.g. BTC-27MAR26-80000-C (coin-settled options only)",
    "currency": "underlying coin, 'BTC' or 'ETH'",
    "expiry_datetime": "expiry, UTC (08:00 of the name's date)",
    "strike": "strike, USD",
    "option_type": "'call' or 'put'",
    "underlying": "forward the option is marked on (Deribit's underlying_price), USD",
    "underlying_index": "name of that forward: 'BTC-27MAR26', 'SYN.BTC-6JAN26' or 'index_price'",
    "index_price": "spot index (btc_usd / eth_usd), USD",
    "implied_volatility": "mark implied volatility, decimal (0.45 = 45 %)",
    "mark_price": "mark price, coin per 1-coin contract",
    "bid_price": "best bid, coin (NaN: nobody bids; Deribit's null or 0)",
    "ask_price": "best ask, coin (NaN: nobody offers)",
    "mid_price": "(bid + ask) / 2, coin (NaN unless both sides quote)",
    "open_interest": "open interest, contracts (1 contract = 1 coin)",
    "volume": "traded volume over 24 h, contracts (NaN: not in the source)",
}
"""Required columns and their units."""

OPTIONAL_COLUMNS: dict[str, str] = {
    "dvol": "DVOL of the currency at the snapshot, vol points (45.2 = 45.2 %); NaN: unknown",
    "bid_iv": "implied volatility of the bid, decimal (NaN: no bid or not in the source)",
    "ask_iv": "implied volatility of the ask, decimal (NaN: no ask or not in the source)",
    "delta": "Deribit's delta on the forward, per contract (NaN: not in the source)",
    "vega": "Deribit's vega, USD per vol point (NaN: not in the source)",
}
"""Columns a source may lack; a validated frame has them all, NaN where unknown."""

ALL_COLUMNS: tuple[str, ...] = (*SNAPSHOT_COLUMNS, *OPTIONAL_COLUMNS)

ROW_ORDER = ("timestamp", "expiry_datetime", "strike", "option_type")
"""Rows are sorted by these: snapshot time, then expiry, strike, calls before puts."""

_TIME_COLUMNS = ("timestamp", "expiry_datetime")
_STRING_COLUMNS = ("instrument_name", "currency", "option_type", "underlying_index")
_FLOAT_COLUMNS = tuple(c for c in ALL_COLUMNS if c not in _TIME_COLUMNS + _STRING_COLUMNS)
_PRICE_COLUMNS = ("mark_price", "bid_price", "ask_price", "mid_price")
_BOUNDED_PRICES = ("mark_price", "bid_price")  # real asks (hence mids) can be absurdly high
_IV_COLUMNS = ("implied_volatility", "bid_iv", "ask_iv")
_QUOTE_COLUMNS = ("bid_price", "ask_price", "bid_iv", "ask_iv")  # 0 means "none" on Deribit
_MAX_IV_DECIMAL = 5.0  # 500 %: above this a "decimal" IV is really a percentage
_EARLIEST = pd.Timestamp("2016-01-01", tz="UTC")  # Deribit options started in 2016
_LATEST = pd.Timestamp("2100-01-01", tz="UTC")

PARQUET_SCHEMA = pa.schema(
    [
        pa.field(
            c,
            pa.timestamp("ns", tz="UTC")
            if c in _TIME_COLUMNS
            else pa.string()
            if c in _STRING_COLUMNS
            else pa.float64(),
        )
        for c in ALL_COLUMNS
    ]
)
"""Arrow/Parquet schema of a snapshot frame."""


class SnapshotFrameError(ValueError):
    """A table that is not a valid snapshot; the message names the source, row and column."""

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        self.source, self.problem, self.row, self.column, self.line = source, problem, row, column, line
        where = [source]
        if row is not None:
            where.append(f"row {row}" + (f" (line {line} of the file)" if line is not None else ""))
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(", ".join(where) + ": " + problem)


Fail = Callable[[int | None, str, str], NoReturn]


def _failer(source: str, rows: npt.NDArray[np.int64], line_offset: int | None) -> Fail:
    def fail(pos: int | None, column: str, problem: str) -> NoReturn:
        row = int(rows[pos]) if pos is not None and len(rows) else None
        line = row + line_offset if row is not None and line_offset is not None else None
        raise SnapshotFrameError(source, problem, row=row, column=column, line=line)

    return fail


def _first(mask: npt.NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _times(values: pd.Series, column: str, fail: Fail) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("ns").reset_index(drop=True)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        fail(0, column, "times must carry a time zone (UTC); these are naive")
    if pd.api.types.is_numeric_dtype(values.dtype) and len(values):
        fail(0, column, f"{values.iloc[0]!r} is a number, not a time; give ISO 8601 times in UTC")
    codes, uniques = pd.factorize(values.reset_index(drop=True))
    parsed_u = pd.to_datetime(pd.Index(uniques, dtype=object), utc=True, errors="coerce", format="ISO8601")
    parsed = pd.Series(parsed_u.as_unit("ns").take(codes), dtype="datetime64[ns, UTC]")
    parsed[codes < 0] = pd.NaT
    if (pos := _first(codes < 0)) is not None:
        fail(pos, column, "missing time")
    if (pos := _first(parsed.isna().to_numpy())) is not None:
        fail(pos, column, f"cannot read {values.iloc[pos]!r} as a time")
    return parsed


def _strings(values: pd.Series, column: str, fail: Fail, *, required: bool) -> pd.Series:
    values = values.reset_index(drop=True)
    missing = values.isna().to_numpy() | (values.astype(str).str.len() == 0).to_numpy()
    if required and (pos := _first(missing)) is not None:
        fail(pos, column, "missing value")
    return values.where(~missing, "").astype(str)


def _floats(values: pd.Series, column: str, fail: Fail) -> npt.NDArray[np.float64]:
    values = values.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(values.dtype):
        fail(0, column, "true/false is not a number")
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if (pos := _first(np.isnan(out) & values.notna().to_numpy())) is not None:
            fail(pos, column, f"{values.iloc[pos]!r} is not a number")
    if (pos := _first(np.isinf(out))) is not None:
        fail(pos, column, f"{out[pos]} is not a finite number")
    return out


def _check_names(frame: pd.DataFrame, fail: Fail) -> None:
    names = frame["instrument_name"]
    parsed = parse_instrument_names(names, errors="coerce")
    if (pos := _first(~parsed.valid)) is not None:
        try:
            parse_instrument(names.iloc[pos])
            reason = f"cannot parse {names.iloc[pos]!r} as a Deribit option name"
        except InstrumentNameError as exc:
            reason = str(exc)
        fail(pos, "instrument_name", reason)
    linear = parsed.settlement_currency != parsed.underlying
    if (pos := _first(linear)) is not None:
        fail(
            pos,
            "instrument_name",
            f"{names.iloc[pos]} is a linear (stablecoin-settled) option; "
            "snapshots hold the coin-settled BTC and ETH options only",
        )
    currency = frame["currency"].to_numpy(dtype=object)
    if (pos := _first(currency != parsed.underlying)) is not None:
        fail(
            pos, "currency", f"{currency[pos]!r}, but {names.iloc[pos]} is a {parsed.underlying[pos]} option"
        )
    kind = frame["option_type"].to_numpy(dtype=object)
    if (pos := _first(~np.isin(kind, ["call", "put"]))) is not None:
        fail(pos, "option_type", f"{kind[pos]!r} is not 'call' or 'put'")
    if (pos := _first((kind == "call") != parsed.is_call)) is not None:
        fail(pos, "option_type", f"{kind[pos]!r}, but the name {names.iloc[pos]} says otherwise")
    strike = frame["strike"].to_numpy()
    if (pos := _first(np.abs(strike - parsed.strike) > 1e-9 * np.maximum(parsed.strike, 1.0))) is not None:
        fail(pos, "strike", f"{strike[pos]:g}, but the name {names.iloc[pos]} says {parsed.strike[pos]:g}")
    expiry = frame["expiry_datetime"].dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    if (pos := _first(expiry != parsed.expiry)) is not None:
        fail(
            pos,
            "expiry_datetime",
            f"{expiry[pos]}, but the name {names.iloc[pos]} expires {parsed.expiry[pos]} UTC",
        )


def _check_units(frame: pd.DataFrame, fail: Fail) -> None:
    ts = frame["timestamp"]
    if (pos := _first(((ts < _EARLIEST) | (ts >= _LATEST)).to_numpy())) is not None:
        fail(
            pos,
            "timestamp",
            f"{ts.iloc[pos]} is not a plausible snapshot time (2016 to 2100); "
            "were the epoch units mixed up (s, ms, µs)?",
        )
    for column in ("strike", "underlying", "index_price"):
        v = frame[column].to_numpy()
        if (pos := _first(v <= 0)) is not None:
            fail(pos, column, f"{v[pos]:g} is not a positive USD price")
    for column in _IV_COLUMNS:
        v = frame[column].to_numpy()
        if (pos := _first(v < 0)) is not None:
            fail(pos, column, f"{v[pos]:g} is negative")
        if (pos := _first(v > _MAX_IV_DECIMAL)) is not None:
            fail(
                pos,
                column,
                f"{v[pos]:g} looks like a percentage; implied volatilities in a snapshot "
                "are decimals (0.45 = 45 %)",
            )
    strike = frame["strike"].to_numpy()
    fwd = frame["underlying"].to_numpy()
    fwd = np.where(np.isnan(fwd), frame["index_price"].to_numpy(), fwd)
    with np.errstate(invalid="ignore", divide="ignore"):
        cap = np.maximum(1.0, strike / fwd) * 1.05 + 0.01  # a call is worth < 1 coin, a put < K/F
    for column in _PRICE_COLUMNS:
        v = frame[column].to_numpy()
        if (pos := _first(v < 0)) is not None:
            fail(pos, column, f"{v[pos]:g} is negative")
        if column in _BOUNDED_PRICES and (pos := _first(v > cap)) is not None:
            fail(
                pos,
                column,
                f"{v[pos]:g} is not a coin price: a 1-coin option with strike "
                f"{strike[pos]:g} USD and forward {fwd[pos]:g} USD is worth at most {cap[pos]:.4g} coin; "
                "were prices given in USD?",
            )
    dvol = frame["dvol"].to_numpy()
    if (pos := _first((dvol < 1.0) | (dvol > 1000.0))) is not None:
        fail(pos, "dvol", f"{dvol[pos]:g} is not a DVOL in vol points (45.2 means 45.2 %)")
    for column in ("open_interest", "volume"):
        v = frame[column].to_numpy()
        if (pos := _first(v < 0)) is not None:
            fail(pos, column, f"{v[pos]:g} is negative")


def validate_snapshot_frame(
    df: pd.DataFrame,
    *,
    source_name: str,
    row_numbers: Sequence[int] | npt.NDArray[np.int64] | None = None,
    line_offset: int | None = None,
) -> pd.DataFrame:
    """Check ``df`` and return it as a canonical snapshot frame (typed, ordered, RangeIndex).

    Raises :class:`SnapshotFrameError` naming ``source_name``, the row and the column of the first
    problem: a missing column, a value that is not a number or a time, an unparseable or
    inconsistent instrument name, a linear option, or a unit that cannot be right (IV in percent,
    prices in USD, DVOL as a decimal, epoch units mixed up). Rows are counted from 1 in the order
    given, or taken from ``row_numbers`` (e.g. the data rows of a file); ``line_offset`` adds the
    file line (``1`` when the file has one header line). Bids, asks and their IVs of 0 become NaN
    (Deribit's "none"); a missing ``mid_price`` is filled from both sides when both quote.
    """
    rows = np.arange(1, len(df) + 1) if row_numbers is None else np.asarray(row_numbers, dtype=np.int64)
    fail = _failer(source_name, rows, line_offset)
    missing = [c for c in SNAPSHOT_COLUMNS if c not in df.columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise SnapshotFrameError(
            source_name,
            f"missing column{plural} {', '.join(missing)}; a snapshot needs {', '.join(SNAPSHOT_COLUMNS)}",
            column=missing[0],
        )
    out: dict[str, object] = {}
    for c in _TIME_COLUMNS:
        out[c] = _times(df[c], c, fail)
    for c in _STRING_COLUMNS:
        out[c] = _strings(df[c], c, fail, required=c != "underlying_index")
    for c in _FLOAT_COLUMNS:
        out[c] = _floats(df[c], c, fail) if c in df.columns else np.full(len(df), np.nan)
    frame = pd.DataFrame(out)
    frame["option_type"] = frame["option_type"].str.lower()
    _check_names(frame, fail)
    _check_units(frame, fail)
    for c in _QUOTE_COLUMNS:
        frame[c] = frame[c].where(frame[c] > 0)
    both = frame["bid_price"].notna() & frame["ask_price"].notna()
    frame["mid_price"] = (
        frame["mid_price"].where(both).fillna((0.5 * (frame["bid_price"] + frame["ask_price"])).where(both))
    )
    return frame.sort_values(list(ROW_ORDER), kind="stable").reset_index(drop=True).loc[:, list(ALL_COLUMNS)]


def empty_snapshot_frame() -> pd.DataFrame:
    """A snapshot frame with no rows (the canonical columns and types)."""
    return frame_from_table(PARQUET_SCHEMA.empty_table())


# --------------------------------------------------------------------------- converters


def frame_from_book_summaries(
    summaries: Sequence[BookSummary],
    *,
    currency: str,
    timestamp: datetime,
    index_price: float | None,
    dvol: float | None,
) -> pd.DataFrame:
    """A snapshot frame from ``public/get_book_summary_by_currency(kind=option)`` rows.

    ``timestamp`` is the data time (UTC), ``index_price`` the spot index in USD and ``dvol`` the
    DVOL in vol points (None: unknown, stored as NaN). ``mark_iv`` (percent) becomes the decimal
    ``implied_volatility``; linear (``_USDC``) options are left out.
    """
    rows = [s for s in summaries if "_" not in s.instrument_name.split("-", 1)[0]]
    names = pd.Series([s.instrument_name for s in rows], dtype=str)
    parsed = parse_instrument_names(names, errors="coerce")

    def col(attr: str) -> npt.NDArray[np.float64]:
        return np.array([getattr(s, attr) for s in rows], dtype=np.float64)

    n = len(rows)
    raw = pd.DataFrame(
        {
            "timestamp": pd.Series([pd.Timestamp(timestamp)] * n, dtype="datetime64[ns, UTC]"),
            "instrument_name": names,
            "currency": [s.base_currency for s in rows],
            "expiry_datetime": pd.Series(parsed.expiry, dtype="datetime64[ns]").dt.tz_localize("UTC"),
            "strike": parsed.strike,
            "option_type": np.where(parsed.is_call, "call", "put"),
            "underlying": col("underlying_price"),
            "underlying_index": [s.underlying_index or "" for s in rows],
            "index_price": np.full(n, np.nan if index_price is None else index_price),
            "implied_volatility": col("mark_iv") / 100.0,
            "mark_price": col("mark_price"),
            "bid_price": col("bid_price"),
            "ask_price": col("ask_price"),
            "mid_price": col("mid_price"),
            "open_interest": col("open_interest"),
            "volume": col("volume"),
            "dvol": np.full(n, np.nan if dvol is None else dvol),
        }
    )
    return validate_snapshot_frame(raw, source_name=f"get_book_summary_by_currency({currency})")


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """A validated snapshot frame as an Arrow table with :data:`PARQUET_SCHEMA`."""
    return pa.Table.from_pandas(frame.loc[:, list(ALL_COLUMNS)], schema=PARQUET_SCHEMA, preserve_index=False)


def frame_from_table(table: pa.Table) -> pd.DataFrame:
    """The snapshot frame of an Arrow table written with :data:`PARQUET_SCHEMA` (missing optional
    columns become NaN)."""
    df = table.to_pandas()
    for c in OPTIONAL_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    for c in _STRING_COLUMNS:
        df[c] = df[c].astype(str)
    for c in _TIME_COLUMNS:
        df[c] = df[c].dt.as_unit("ns")
    return df.loc[:, list(ALL_COLUMNS)]


def frame_to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Compact bytes of a snapshot frame: Parquet with zstd (about 60 bytes an option)."""
    sink = io.BytesIO()
    pq.write_table(frame_to_table(frame), sink, compression="zstd")
    return sink.getvalue()


def frame_from_parquet_bytes(data: bytes) -> pd.DataFrame:
    """The snapshot frame stored by :func:`frame_to_parquet_bytes`."""
    return frame_from_table(pq.read_table(io.BytesIO(data)))
