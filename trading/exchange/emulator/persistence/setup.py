"""What a restarted emulator needs besides the exchange's books: the market it served (to build
the same source again, so prices continue on the same path) and where its clock stood.

A market is described as JSON: ``{"kind": "synthetic", "config": {...}}`` (the whole
:class:`SyntheticConfig`, seed and start included), ``{"kind": "quant", "config": {...}}``,
``{"kind": "replay", "paths": [...], "max_size_lots": n}``, or ``{"kind": "custom", "class":
"module.Name"}`` for any other :class:`MarketSource`, which the caller must pass again.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from trading.exchange.emulator.clock import Clock
from trading.exchange.emulator.engine.journal import EngineImage
from trading.exchange.emulator.market import MarketSource
from trading.exchange.emulator.sources.replay import ReplaySource
from trading.exchange.emulator.sources.synthetic import SyntheticConfig, SyntheticSource

__all__ = ["SavedState", "build_source", "clock_speed", "describe_source", "market_summary", "source_for"]

_QUANT_MODULE = "trading.exchange.emulator.sources.quant"


def _plain(config: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = dict(value) if isinstance(value, Mapping) else value
    return out


def _config(cls: type[Any], config: dict[str, Any]) -> Any:
    """``cls`` from its saved fields, types checked (a ValueError names what is wrong)."""
    return TypeAdapter(cls).validate_json(json.dumps(config), strict=True)


def describe_source(source: MarketSource) -> dict[str, Any]:
    """The JSON description :func:`build_source` rebuilds ``source`` from."""
    if isinstance(source, SyntheticSource):
        return {"kind": "synthetic", "config": _plain(source.config)}
    if isinstance(source, ReplaySource):
        return {"kind": "replay", "paths": list(source.paths), "max_size_lots": source.max_size_lots}
    quant = sys.modules.get(_QUANT_MODULE)
    if quant is not None and isinstance(source, quant.QuantSyntheticSource):
        return {"kind": "quant", "config": _plain(source.config)}
    kind = type(source)
    return {"kind": "custom", "class": f"{kind.__module__}.{kind.__qualname__}"}


def build_source(spec: dict[str, Any]) -> MarketSource:
    """The source ``spec`` describes; ValueError if it cannot be rebuilt (custom, or bad)."""
    kind = spec.get("kind")
    if kind == "synthetic":
        return SyntheticSource(_config(SyntheticConfig, spec["config"]))
    if kind == "quant":
        from trading.exchange.emulator.sources.quant import QuantSourceConfig, QuantSyntheticSource

        return QuantSyntheticSource(_config(QuantSourceConfig, spec["config"]))
    if kind == "replay":
        return ReplaySource(spec["paths"], max_size_lots=int(spec["max_size_lots"]))
    if kind == "custom":
        raise ValueError(f"its market came from a custom source ({spec.get('class')}); pass that source")
    raise ValueError(f"unknown market kind {kind!r}")


def _with_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the config fields added since it was saved at their defaults (a file saved
    before a field existed describes the same market as a source built now with its default)."""
    kinds: dict[str, type[Any]] = {"synthetic": SyntheticConfig}
    if spec.get("kind") == "quant":
        from trading.exchange.emulator.sources.quant import QuantSourceConfig

        kinds["quant"] = QuantSourceConfig
    cls = kinds.get(str(spec.get("kind")))
    if cls is None:
        return spec
    try:
        return {**spec, "config": _plain(_config(cls, spec["config"]))}
    except (ValueError, TypeError, KeyError):
        return spec


def market_summary(spec: dict[str, Any]) -> str:
    """One line for people: ``synthetic seed=20260105 start=2026-01-05T08:00:00Z``."""
    kind = spec.get("kind")
    if kind in ("synthetic", "quant"):
        config = spec.get("config", {})
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(config.get("start_ms", 0)) / 1000))
        extra = f" days={config.get('days')}" if kind == "quant" else ""
        return f"{kind} seed={config.get('seed')} start={start}{extra}"
    if kind == "replay":
        return f"replay {', '.join(spec.get('paths', []))}"
    return f"custom {spec.get('class')}"


def clock_speed(clock: Clock) -> float | None:
    """Exchange ms per wall ms of a running clock; None for a clock that moves only when told."""
    speed = getattr(clock, "speed", None)
    return float(speed) if isinstance(speed, int | float) else None


@dataclass
class SavedState:
    """A state file's content: the market, the clock, the exchange (``image``)."""

    market: dict[str, Any]
    clock_ms: int  # the emulator clock ...
    wall_ms: int  # ... at this wall-clock time (ms since the epoch)
    speed: float | None  # None: the clock only moved when told (tests)
    image: EngineImage

    def resume_ms(self, wall_ms: int | None = None) -> int:
        """Exchange time to resume at: a running clock ran on while the emulator was down, as a
        real exchange's would (at its speed); a manual one resumes where the exchange stopped."""
        if self.speed is None:
            return self.image.now_ms
        now = int(time.time() * 1000) if wall_ms is None else wall_ms
        ran_on = int(max(0, now - self.wall_ms) * self.speed)
        return max(self.image.now_ms, self.clock_ms + ran_on)


def source_for(saved: SavedState, source: MarketSource | None) -> MarketSource:
    """The market source to resume ``saved`` on: the one it describes, rebuilt, or ``source``
    if given and the same. ValueError says why neither works."""
    if source is None:
        try:
            return build_source(saved.market)
        except (TypeError, KeyError, OSError) as exc:
            raise ValueError(f"cannot rebuild its market ({type(exc).__name__}: {exc})") from None
    given = describe_source(source)
    if given != _with_defaults(saved.market):
        raise ValueError(
            f"it holds a {market_summary(saved.market)} market, but the emulator was given "
            f"{market_summary(given)}"
        )
    return source
