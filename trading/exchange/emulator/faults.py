"""Fault injection, controlled by tests (``emulator.faults``) or the control endpoint.

Each rule matches methods (all if ``methods`` is None) and fires ``times`` times (forever if None).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["FaultInjector", "FaultKind", "FaultRule"]


class FaultKind(enum.Enum):
    LATENCY = "latency"  # delay before executing (phase "before") or before answering ("after")
    HTTP_STATUS = "http_status"  # HTTP only: answer with a bare 5xx, before or after executing
    ERROR = "error"  # answer with a Deribit error code (10028, 11094, ...) without executing
    DROP_RESPONSE = "drop_response"  # execute, then drop the connection without answering
    DROP_REQUEST = "drop_request"  # drop the connection without executing
    DUPLICATE_TRADES = "duplicate_trades"  # send each user.trades notification twice
    REORDER_TRADES = "reorder_trades"  # hold user.trades notifications and send them reversed


@dataclass
class FaultRule:
    kind: FaultKind
    methods: frozenset[str] | None = None
    times: int | None = 1
    delay_s: float = 0.0
    status: int = 503
    code: int = 11094
    after_execute: bool = False
    batch: int = 2
    fired: int = field(default=0)

    def matches(self, method: str) -> bool:
        return (self.methods is None or method in self.methods) and (
            self.times is None or self.fired < self.times
        )


def _methods(methods: Iterable[str] | str | None) -> frozenset[str] | None:
    if methods is None:
        return None
    return frozenset([methods] if isinstance(methods, str) else methods)


class FaultInjector:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        #: cap each fill pass at this fraction of the order amount (applied by the engine)
        self.partial_fill_fraction: float | None = None

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def latency(
        self,
        seconds: float,
        *,
        methods: Iterable[str] | str | None = None,
        times: int | None = 1,
        after_execute: bool = False,
    ) -> FaultRule:
        return self.add(
            FaultRule(
                FaultKind.LATENCY, _methods(methods), times, delay_s=seconds, after_execute=after_execute
            )
        )

    def http_status(
        self,
        status: int = 503,
        *,
        methods: Iterable[str] | str | None = None,
        times: int | None = 1,
        after_execute: bool = False,
    ) -> FaultRule:
        return self.add(
            FaultRule(
                FaultKind.HTTP_STATUS, _methods(methods), times, status=status, after_execute=after_execute
            )
        )

    def error(
        self, code: int, *, methods: Iterable[str] | str | None = None, times: int | None = 1
    ) -> FaultRule:
        return self.add(FaultRule(FaultKind.ERROR, _methods(methods), times, code=code))

    def rate_limit(self, *, methods: Iterable[str] | str | None = None, times: int | None = 1) -> FaultRule:
        return self.error(10028, methods=methods, times=times)

    def drop_response(
        self, *, methods: Iterable[str] | str | None = None, times: int | None = 1
    ) -> FaultRule:
        return self.add(FaultRule(FaultKind.DROP_RESPONSE, _methods(methods), times))

    def drop_request(self, *, methods: Iterable[str] | str | None = None, times: int | None = 1) -> FaultRule:
        return self.add(FaultRule(FaultKind.DROP_REQUEST, _methods(methods), times))

    def duplicate_trades(self, *, times: int | None = 1) -> FaultRule:
        return self.add(FaultRule(FaultKind.DUPLICATE_TRADES, None, times))

    def reorder_trades(self, *, batch: int = 2, times: int | None = 1) -> FaultRule:
        return self.add(FaultRule(FaultKind.REORDER_TRADES, None, times, batch=batch))

    def partial_fills(self, fraction: float | None) -> None:
        if fraction is not None and not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1]")
        self.partial_fill_fraction = fraction

    def clear(self) -> None:
        self.rules.clear()
        self.partial_fill_fraction = None

    def active(self, kind: FaultKind) -> FaultRule | None:
        """The first live rule of ``kind`` without counting it as fired."""
        return next(
            (r for r in self.rules if r.kind is kind and (r.times is None or r.fired < r.times)), None
        )

    def take(self, kind: FaultKind, method: str, *, after_execute: bool | None = None) -> FaultRule | None:
        """The first live rule of ``kind`` for ``method`` (counted as fired), or None."""
        for rule in self.rules:
            if (
                rule.kind is kind
                and rule.matches(method)
                and (after_execute is None or rule.after_execute == after_execute)
            ):
                rule.fired += 1
                return rule
        return None
