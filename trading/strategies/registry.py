"""The stable map from logic kind to strategy class (the ``logic_kind`` column of ``Strategy``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from trading.strategies.base import StrategyLogic
from trading.strategies.cash_secured_put import CashSecuredPut
from trading.strategies.covered_call import CoveredCall
from trading.strategies.params import PARAMS_SCHEMAS, LogicKind

STRATEGY_LOGIC: Mapping[LogicKind, type[StrategyLogic]] = MappingProxyType(
    {
        LogicKind.COVERED_CALL: CoveredCall,
        LogicKind.CASH_SECURED_PUT: CashSecuredPut,
    }
)


class UnknownLogicError(LookupError):
    pass


def logic_for(kind: LogicKind | str) -> StrategyLogic:
    """A (stateless) instance of the logic of ``kind``; raises :class:`UnknownLogicError`."""
    try:
        cls = STRATEGY_LOGIC[LogicKind(kind)]
    except (ValueError, KeyError):
        raise UnknownLogicError(f"no strategy logic for kind {kind!r}") from None
    return cls()


def _check_registry() -> None:
    for kind, cls in STRATEGY_LOGIC.items():
        if cls.kind is not kind or PARAMS_SCHEMAS[kind] is not cls.params_schema:
            raise RuntimeError(f"strategy registry is inconsistent for {kind}")


_check_registry()
