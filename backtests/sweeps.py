"""A sweep's grid: the cartesian product of values over a base spec, each combination validated.

Grid keys name what varies: a parameter (``delta_max``), a top-level field of the spec
(``strategy``, ``logic_kind``, ``underlyings``, ``risk_free_rate``) or a dotted path into it
(``source.seed``, ``fill.slippage_pct``). Errors come as ``{field: [messages]}``: ``name``,
``base.<path>`` for the base spec, ``grid`` / ``grid.<key>`` for the grid and its combinations
(the first failing combination is named in the message).
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from backtests.spec import NON_FIELD, FieldErrors, RegistryLookup, ResolvedBacktest, SpecError, spec_validate

MAX_RUNS = 200
MAX_NAME = 120
TOP_LEVEL_KEYS = frozenset({"strategy", "logic_kind", "underlyings", "risk_free_rate"})
STRUCTURED_KEYS = frozenset({"parameters", "source", "fill", "initial_balance_coin"})
"""Structured fields: a grid varies their parts by dotted path, never the whole."""


def _path(key: str) -> list[str]:
    if key in TOP_LEVEL_KEYS or key in STRUCTURED_KEYS or key == "name":
        return [key]
    if "." in key:
        return key.split(".")
    return ["parameters", key]


def _set(body: dict[str, Any], path: list[str], value: Any) -> None:
    node = body
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _describe(combo: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in combo.items())


def _grid_errors(grid: Any) -> FieldErrors:
    if not isinstance(grid, dict) or not grid:
        return {"grid": ['Give at least one field with its values, e.g. {"delta_max": [0.2, 0.3]}.']}
    errors: FieldErrors = {}
    size = 1
    for key, values in grid.items():
        where = f"grid.{key}"
        path = _path(str(key))
        if not key or any(not p for p in path) or path[0] == "name":
            errors.setdefault(where, []).append("Not a field a sweep can vary.")
        elif path[0] in STRUCTURED_KEYS and len(path) == 1:
            errors.setdefault(where, []).append("Vary its parts by dotted path, e.g. source.seed.")
        if not isinstance(values, list) or not values:
            errors.setdefault(where, []).append("Give a non-empty list of values.")
            continue
        encoded = [json.dumps(v, sort_keys=True) for v in values]
        if len(set(encoded)) != len(encoded):
            errors.setdefault(where, []).append("Each value may be listed once.")
        size *= len(values)
    if not errors and size > MAX_RUNS:
        errors["grid"] = [f"The grid makes {size} runs; at most {MAX_RUNS} are allowed."]
    return errors


def _prefixed(errors: FieldErrors, prefix: str) -> FieldErrors:
    return {(prefix if k == NON_FIELD else f"{prefix}.{k}"): v for k, v in errors.items()}


def sweep_expand(*, name: Any, base: Any, grid: Any, lookup: RegistryLookup) -> list[ResolvedBacktest]:
    """Every combination of ``grid`` applied to ``base``, validated and resolved, in grid order
    (the last key varies fastest); raises :class:`SpecError`."""
    errors: FieldErrors = {}
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        errors["name"] = [f"Give a name of 1 to {MAX_NAME} characters."]
    if not isinstance(base, dict):
        errors["base"] = ["Send the base backtest as a JSON object."]
    else:
        try:
            spec_validate(base, lookup=lookup)
        except SpecError as exc:
            errors.update(_prefixed(exc.errors, "base"))
    errors.update(_grid_errors(grid))
    if errors:
        raise SpecError(errors)
    assert isinstance(base, dict) and isinstance(grid, dict) and isinstance(name, str)
    keys = [str(k) for k in grid]
    specs: list[ResolvedBacktest] = []
    for values in itertools.product(*(grid[k] for k in keys)):
        combo = dict(zip(keys, values, strict=True))
        body = copy.deepcopy(base)
        for key, value in combo.items():
            _set(body, _path(key), value)
        body["name"] = f"{name.strip()} [{_describe(combo)}]"[:MAX_NAME]
        try:
            specs.append(spec_validate(body, lookup=lookup))
        except SpecError as exc:
            raise SpecError(_combination_errors(exc.errors, combo)) from exc
    return specs


def _combination_errors(errors: FieldErrors, combo: dict[str, Any]) -> FieldErrors:
    """A failing combination's errors under the grid key they are about (else under ``grid``)."""
    by_path = {".".join(_path(k)): k for k in combo}
    out: FieldErrors = {}
    for field, messages in errors.items():
        key = by_path.get(field)
        target = f"grid.{key}" if key is not None else "grid"
        what = field if key is None and field != NON_FIELD else None
        out.setdefault(target, []).extend(
            f"{_describe(combo)}: {what + ': ' if what else ''}{m}" for m in messages
        )
    return out
