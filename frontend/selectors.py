"""Reads the dashboard pages need beyond what the REST API serves.

The Backtesting Lab renders a strategy's parameters as form fields. The fields come from the same
pydantic schema the registry and the backtest API validate with (``trading.strategies.params``),
so a bound, a type or a help text is stated once; the page only shows them, and every value is
still checked by the API, whose error is then shown next to the field. A sweep's values are
checked against the same fields before they are sent.
"""

from __future__ import annotations

from typing import Any

from backtests.sources.spec import SourceSpec
from backtests.sweeps import MAX_RUNS
from trading.strategies.params import PARAMS_SCHEMAS, LogicKind, RiskProfile, preset

# Words a person reads instead of the parameter name's abbreviations.
_WORDS = {"dte": "days to expiry", "ivrv": "IV/RV", "otm": "OTM", "pct": "", "usd": "", "coin": ""}
_UNITS = (("_pct", "%"), ("_usd", "USD"), ("_coin", "coin"))


def _unit(name: str) -> str:
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    if "dte" in name.split("_"):
        return "days"
    if "contracts" in name or "open_interest" in name:
        return "contracts"
    return ""


def _label(name: str) -> str:
    parts = name.split("_")
    if parts[-1] in ("min", "max"):  # dte_min reads "Min days to expiry"
        parts = [parts[-1], *parts[:-1]]
    words = [_WORDS.get(part, part) for part in parts]
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:]


def _bounds(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        key: spec[key]
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        if key in spec
    }


def _field(name: str, spec: dict[str, Any], required: bool) -> dict[str, Any]:
    variants = spec.get("anyOf", [spec])
    typed = [v for v in variants if v.get("type") != "null"]
    base = typed[0] if typed else {}
    help_text = str(spec.get("description", ""))
    nullable = len(typed) < len(variants)
    if nullable:
        # In the form, "no value" is an empty field, not the JSON word.
        help_text = help_text.replace("null = ", "empty = ")
    return {
        "name": name,
        "label": _label(name),
        "unit": _unit(name),
        "type": {"integer": "integer", "number": "number", "boolean": "boolean"}.get(
            str(base.get("type")), "text"
        ),
        "nullable": nullable,
        "required": required,
        "help": help_text,
        **_bounds(base),
    }


def lab_parameter_fields() -> dict[str, list[dict[str, Any]]]:
    """Per logic kind, its parameters in schema order: name, label, unit, type, bounds, help."""
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, schema in PARAMS_SCHEMAS.items():
        json_schema = schema.model_json_schema()
        required = set(json_schema.get("required", ()))
        out[kind.value] = [
            _field(name, spec, name in required) for name, spec in json_schema["properties"].items()
        ]
    return out


def lab_presets() -> dict[str, dict[str, dict[str, Any]]]:
    """Per logic kind and risk profile, the full valid parameter set (a starting point for ad-hoc runs)."""
    return {kind.value: {p.value: preset(kind, p) for p in RiskProfile} for kind in LogicKind}


# Besides the strategy's parameters, a sweep may vary the synthetic market's seed (grid key
# "source.seed"); its bounds come from the source schema the API validates with.
_SWEEP_SOURCE_FIELDS = {"seed": "The synthetic market's seed: each seed is another random market."}


def lab_sweep_config() -> dict[str, Any]:
    """What a sweep in the Lab may vary beyond the parameters (grid key to field), and its size limit."""
    properties = SourceSpec.model_json_schema()["properties"]
    fields = {}
    for name, help_text in _SWEEP_SOURCE_FIELDS.items():
        field = _field(name, properties[name], required=False)
        fields[f"source.{name}"] = {**field, "name": f"source.{name}", "help": help_text}
    return {"fields": fields, "max_runs": MAX_RUNS}
