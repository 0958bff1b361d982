"""Deribit option instruments: names, expiry listing schedule and strike grids.

* :mod:`~trading.quant.instruments.names`: ``parse_instrument`` / ``OptionInstrument.name`` for
  one name and ``parse_instrument_names`` for a column of them;
* :mod:`~trading.quant.instruments.schedule`: ``listed_expiries(now)``, the expiries Deribit has
  listed at a moment (dailies, Friday weeklies, monthlies, quarterlies, all at 08:00 UTC);
* :mod:`~trading.quant.instruments.strikes`: ``strike_grid``, Deribit-like strikes per expiry.
"""

from __future__ import annotations

from trading.quant.instruments.names import (
    EXPIRY_TIME_UTC,
    MONTHS,
    InstrumentColumns,
    InstrumentNameError,
    OptionInstrument,
    OptionType,
    format_expiry_code,
    format_strike,
    parse_expiry_code,
    parse_instrument,
    parse_instrument_names,
)
from trading.quant.instruments.schedule import ExpiryKind, expiry_kind, listed_expiries
from trading.quant.instruments.strikes import atm_strike_step, nice_step, strike_grid

__all__ = [
    "EXPIRY_TIME_UTC",
    "MONTHS",
    "ExpiryKind",
    "InstrumentColumns",
    "InstrumentNameError",
    "OptionInstrument",
    "OptionType",
    "atm_strike_step",
    "expiry_kind",
    "format_expiry_code",
    "format_strike",
    "listed_expiries",
    "nice_step",
    "parse_expiry_code",
    "parse_instrument",
    "parse_instrument_names",
    "strike_grid",
]
