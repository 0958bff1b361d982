"""Deribit option names: parse and format one name, or a whole column at once.

Names are ``{UNDERLYING}-{D}{MON}{YY}-{STRIKE}-{C|P}`` for the coin-settled (inverse) options,
e.g. ``BTC-27DEC24-100000-C`` and ``ETH-5JAN26-3500-P``, and
``{UNDERLYING}_{SETTLEMENT}-...`` for the linear ones, e.g. ``BTC_USDC-27DEC24-100000-C`` or
``XRP_USDC-30JUN23-0d625-C``. The day has no leading zero, the month is the upper-case English
abbreviation, the strike is in USD with ``d`` as the decimal point, and every option expires at
08:00 UTC on its date. Parsing is strict, so that ``parse_instrument(n).name == n``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trading.quant.black76 import FloatArray

OptionType = Literal["call", "put"]
_T = TypeVar("_T")

EXPIRY_TIME_UTC = time(8, 0, tzinfo=UTC)
"""Deribit options expire (and settle) at 08:00 UTC."""

MONTHS: tuple[str, ...] = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUMBER = {m: i + 1 for i, m in enumerate(MONTHS)}

_UNDERLYING_RE = re.compile(r"([A-Z][A-Z0-9]*)(?:_([A-Z][A-Z0-9]*))?")
_EXPIRY_RE = re.compile(r"([1-9][0-9]?)([A-Z]{3})([0-9]{2})")
_STRIKE_RE = re.compile(r"(0|[1-9][0-9]*)(?:d([0-9]*[1-9]))?")


class InstrumentNameError(ValueError):
    """An option name that does not follow Deribit's naming rules; says which name and why."""

    def __init__(self, name: object, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"invalid Deribit option name {name!r}: {reason}")


# --------------------------------------------------------------------------------------------
# names


def format_expiry_code(expiry: datetime | date) -> str:
    """``27DEC24`` style code of a date (day without leading zero)."""
    return f"{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"


def parse_expiry_code(code: str) -> datetime:
    """Expiry of a ``5JAN26`` style code: that date at 08:00 UTC. Raises ``ValueError``."""
    m = _EXPIRY_RE.fullmatch(code)
    if m is None:
        if re.fullmatch(r"0[0-9][A-Z]{3}[0-9]{2}", code):
            raise ValueError(f"expiry code {code!r} has a leading zero in the day")
        raise ValueError(f"expiry code {code!r} is not D[D]MONYY (e.g. 5JAN26, 27DEC24)")
    day, mon, yy = m.groups()
    if mon not in _MONTH_NUMBER:
        raise ValueError(f"expiry code {code!r} has an unknown month {mon!r}")
    try:
        d = date(2000 + int(yy), _MONTH_NUMBER[mon], int(day))
    except ValueError:
        raise ValueError(f"expiry code {code!r} is not a calendar date") from None
    return datetime.combine(d, EXPIRY_TIME_UTC)


def format_strike(strike: float) -> str:
    """Strike as it appears in names: ``100000``, ``0d625`` (``d`` is the decimal point)."""
    if not (math.isfinite(strike) and strike > 0):
        raise ValueError(f"strike must be a positive finite number, got {strike!r}")
    text = np.format_float_positional(float(strike), trim="-")
    return text.replace(".", "d")


def _parse_strike(text: str) -> float:
    if _STRIKE_RE.fullmatch(text) is None:
        raise ValueError(
            f"strike {text!r} is not digits with an optional 'd' decimal point (e.g. 3500, 0d625)"
        )
    value = float(text.replace("d", "."))
    if not value > 0:
        raise ValueError(f"strike {text!r} is not positive")
    return value


@dataclass(frozen=True, slots=True)
class OptionInstrument:
    """One Deribit option. ``expiry`` is an aware UTC datetime (08:00 for listed options)."""

    underlying: str
    """Base currency: ``BTC``, ``ETH``, ``XRP``..."""
    settlement_currency: str
    """``BTC``/``ETH`` for the coin-settled (inverse) options, ``USDC`` for linear ones."""
    expiry: datetime
    strike: float
    """USD."""
    option_type: OptionType

    def __post_init__(self) -> None:
        if _UNDERLYING_RE.fullmatch(self.underlying) is None or "_" in self.underlying:
            raise ValueError(f"underlying must be an upper-case code like 'BTC', got {self.underlying!r}")
        if _UNDERLYING_RE.fullmatch(self.settlement_currency) is None or "_" in self.settlement_currency:
            raise ValueError(
                f"settlement currency must be an upper-case code, got {self.settlement_currency!r}"
            )
        if self.expiry.tzinfo is None or self.expiry.utcoffset() != timedelta(0):
            raise ValueError(f"expiry must be an aware UTC datetime, got {self.expiry!r}")
        if self.expiry.tzinfo is not UTC:
            object.__setattr__(self, "expiry", self.expiry.astimezone(UTC))
        if not (math.isfinite(self.strike) and self.strike > 0):
            raise ValueError(f"strike must be a positive finite number, got {self.strike!r}")
        object.__setattr__(self, "strike", float(self.strike))
        if self.option_type not in ("call", "put"):
            raise ValueError(f"option_type must be 'call' or 'put', got {self.option_type!r}")

    @property
    def linear(self) -> bool:
        """True for options settled in a stablecoin (``BTC_USDC-...``), False for inverse ones."""
        return self.settlement_currency != self.underlying

    @property
    def is_call(self) -> bool:
        return self.option_type == "call"

    @property
    def name(self) -> str:
        """Deribit instrument name."""
        prefix = f"{self.underlying}_{self.settlement_currency}" if self.linear else self.underlying
        kind = "C" if self.option_type == "call" else "P"
        return f"{prefix}-{format_expiry_code(self.expiry)}-{format_strike(self.strike)}-{kind}"

    def __str__(self) -> str:
        return self.name


def parse_instrument(name: str) -> OptionInstrument:
    """Parse a Deribit option name; raises :class:`InstrumentNameError` saying what is wrong."""
    if not isinstance(name, str):
        raise InstrumentNameError(name, f"expected a string, got {type(name).__name__}")
    parts = name.split("-")
    if len(parts) != 4:
        raise InstrumentNameError(
            name, f"expected 4 parts UNDERLYING-EXPIRY-STRIKE-C|P separated by '-', got {len(parts)}"
        )
    und, code, strike_text, kind = parts
    m = _UNDERLYING_RE.fullmatch(und)
    if m is None:
        raise InstrumentNameError(name, f"underlying {und!r} is not like 'BTC' or 'BTC_USDC'")
    base, settle = m.group(1), m.group(2)
    if settle is not None and settle == base:
        raise InstrumentNameError(name, f"settlement currency {settle!r} repeats the underlying")
    if kind not in ("C", "P"):
        raise InstrumentNameError(name, f"option type {kind!r} is not 'C' or 'P'")
    try:
        expiry = parse_expiry_code(code)
        strike = _parse_strike(strike_text)
    except ValueError as exc:
        raise InstrumentNameError(name, str(exc)) from None
    return OptionInstrument(
        underlying=base,
        settlement_currency=settle or base,
        expiry=expiry,
        strike=strike,
        option_type="call" if kind == "C" else "put",
    )


# --------------------------------------------------------------------------------------------
# vectorised parsing


class InstrumentColumns(NamedTuple):
    """Parsed columns, one entry per input name (invalid names: NaT/NaN/'' when coerced)."""

    underlying: npt.NDArray[np.object_]
    settlement_currency: npt.NDArray[np.object_]
    expiry: npt.NDArray[np.datetime64]
    """datetime64[ns], UTC (numpy datetimes carry no zone)."""
    strike: FloatArray
    is_call: npt.NDArray[np.bool_]
    valid: npt.NDArray[np.bool_]


def _parse_underlying(text: str) -> tuple[str, str]:
    """(underlying, settlement currency) of ``BTC`` or ``BTC_USDC``; raises ``ValueError``."""
    m = _UNDERLYING_RE.fullmatch(text)
    if m is None or m.group(2) == m.group(1):
        raise ValueError(f"bad underlying {text!r}")
    return m.group(1), m.group(2) or m.group(1)


def _token_table(
    tokens: pa.DictionaryArray, parse: Callable[[str], _T]
) -> tuple[list[_T | None], npt.NDArray[np.intp]]:
    """Parse each distinct token once; returns the parsed values (None if invalid) and indices."""
    parsed: list[_T | None] = []
    for token in tokens.dictionary.to_pylist():
        try:
            parsed.append(parse(token))
        except ValueError:
            parsed.append(None)
    return parsed, tokens.indices.to_numpy(zero_copy_only=False).astype(np.intp)


def parse_instrument_names(
    names: pd.Series | npt.ArrayLike | Iterable[str], *, errors: Literal["raise", "coerce"] = "raise"
) -> InstrumentColumns:
    """Parse a column of option names at once (400k names in a few tens of ms).

    Distinct names are parsed once (``pd.factorize``); they are split with pyarrow string kernels,
    and each distinct underlying, expiry code and strike text is parsed once in Python. With
    ``errors="raise"`` the first invalid name raises :class:`InstrumentNameError` with the
    reason; with ``"coerce"`` invalid (or missing) names give NaT expiry, NaN strike, empty
    strings and ``valid=False``.
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', got {errors!r}")
    if isinstance(names, pd.Series | pd.Index | np.ndarray):
        values = names
    else:
        values = pd.Series(list(names), dtype=object)  # type: ignore[arg-type]
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques_list = [u if isinstance(u, str) else None for u in np.asarray(uniques, dtype=object)]
    n_u = len(uniques_list)
    ok = np.array([u is not None for u in uniques_list], dtype=bool)
    base = np.full(n_u, "", dtype=object)
    settle = np.full(n_u, "", dtype=object)
    expiry_u = np.full(n_u, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    strike_u = np.full(n_u, np.nan)
    is_call_u = np.zeros(n_u, dtype=bool)
    if n_u:
        split = pc.split_pattern(pa.array(uniques_list, type=pa.string()), "-")
        four = pc.fill_null(pc.equal(pc.list_value_length(split), 4), False)
        ok &= four.to_numpy(zero_copy_only=False)
        split = pc.if_else(four, split, pa.scalar(["", "", "", ""], type=pa.list_(pa.string())))
        tokens = [pc.dictionary_encode(pc.list_element(split, i)) for i in range(4)]

        und, idx = _token_table(tokens[0], _parse_underlying)
        und_ok = np.array([u is not None for u in und], dtype=bool)
        ok &= und_ok[idx]
        base_u = np.full(len(und), "", dtype=object)
        settle_u = np.full(len(und), "", dtype=object)
        for i, u in enumerate(und):
            if u is not None:
                base_u[i], settle_u[i] = u
        base, settle = base_u[idx], settle_u[idx]

        exp, idx = _token_table(
            tokens[1], lambda t: np.datetime64(parse_expiry_code(t).replace(tzinfo=None), "ns")
        )
        exp_arr = np.array(
            [e if e is not None else np.datetime64("NaT", "ns") for e in exp], dtype="datetime64[ns]"
        )
        expiry_u = exp_arr[idx]
        ok &= ~np.isnat(expiry_u)

        strikes, idx = _token_table(tokens[2], _parse_strike)
        strike_u = np.array([k if k is not None else np.nan for k in strikes], dtype=np.float64)[idx]
        ok &= ~np.isnan(strike_u)

        kinds = tokens[3].dictionary.to_pylist()
        kind_idx = tokens[3].indices.to_numpy(zero_copy_only=False).astype(np.intp)
        is_call_u = np.array([k == "C" for k in kinds], dtype=bool)[kind_idx]
        ok &= np.array([k in ("C", "P") for k in kinds], dtype=bool)[kind_idx]

    if errors == "raise":
        if not ok.all():
            bad = uniques_list[int(np.flatnonzero(~ok)[0])]
            parse_instrument(bad)  # type: ignore[arg-type]  # raises with the specific reason
            raise InstrumentNameError(bad, "does not follow Deribit's naming rules")
        if (codes < 0).any():
            raise InstrumentNameError(None, f"missing name at row {int(np.flatnonzero(codes < 0)[0])}")

    # Back to one entry per row; code -1 (missing name) takes the extra invalid slot at the end.
    def rows(arr: np.ndarray, fill: object) -> np.ndarray:
        return np.concatenate([arr, np.array([fill], dtype=arr.dtype)])[codes]

    return InstrumentColumns(
        underlying=rows(np.where(ok, base, "").astype(object), ""),
        settlement_currency=rows(np.where(ok, settle, "").astype(object), ""),
        expiry=rows(np.where(ok, expiry_u, np.datetime64("NaT", "ns")), np.datetime64("NaT", "ns")),
        strike=rows(np.where(ok, strike_u, np.nan), np.nan),
        is_call=rows(is_call_u & ok, False),
        valid=rows(ok, False),
    )
