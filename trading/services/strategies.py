"""Writes to the strategy registry. Admin and API both go through :func:`strategy_clean`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from trading.models import Strategy
from trading.strategies.params import (
    LOGIC_OPTION_TYPES,
    LogicKind,
    OptionType,
    ParameterError,
    Underlying,
    validate_params,
    validate_risk_limits,
)

EDITABLE_FIELDS = (
    "description",
    "logic_kind",
    "risk_profile",
    "underlyings",
    "option_types",
    "decision_mode",
    "priority",
    "parameters",
    "risk_limits",
    "enabled",
    "approved_for_live",
)


def _clean_choice_list(value: Any, *, allowed: set[str], what: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"Give a non-empty list of {what}, e.g. {sorted(allowed)!r}.")
    unknown = [item for item in value if not isinstance(item, str) or item not in allowed]
    if unknown:
        raise ValueError(f"Unknown {what}: {unknown!r}; allowed are {sorted(allowed)!r}.")
    if len(set(value)) != len(value):
        raise ValueError(f"Each of the {what} may be listed once.")
    return sorted(value)


def strategy_clean(
    *,
    logic_kind: Any,
    underlyings: Any,
    option_types: Any,
    parameters: Any,
    risk_limits: Any,
) -> dict[str, Any]:
    """Validate the parts of a strategy that depend on each other; return the normalised values.

    Raises ``ValidationError`` with a message list per field (nested parameter errors are named
    ``field: message``), so admin shows them next to the field and the API returns them as JSON.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    try:
        kind = LogicKind(logic_kind)
    except ValueError:
        errors["logic_kind"] = [
            f"Unknown logic kind {logic_kind!r}; choose one of {[k.value for k in LogicKind]}."
        ]
        raise ValidationError(errors) from None
    cleaned["logic_kind"] = kind.value

    try:
        cleaned["underlyings"] = _clean_choice_list(
            underlyings, allowed={u.value for u in Underlying}, what="underlyings"
        )
    except ValueError as exc:
        errors["underlyings"] = [str(exc)]
    try:
        allowed_types = {t.value for t in LOGIC_OPTION_TYPES[kind]}
        cleaned["option_types"] = _clean_choice_list(
            option_types, allowed={t.value for t in OptionType}, what="option types"
        )
        wrong = set(cleaned["option_types"]) - allowed_types
        if wrong:
            raise ValueError(
                f"A {kind.value} strategy trades only {sorted(allowed_types)}, not {sorted(wrong)}."
            )
    except ValueError as exc:
        errors["option_types"] = [str(exc)]
    try:
        cleaned["parameters"] = validate_params(kind, parameters).model_dump()
    except ParameterError as exc:
        errors["parameters"] = _flatten(exc)
    try:
        cleaned["risk_limits"] = validate_risk_limits(risk_limits).model_dump()
    except ParameterError as exc:
        errors["risk_limits"] = _flatten(exc)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _flatten(exc: ParameterError) -> list[str]:
    return [
        msg if field == "__all__" else f"{field}: {msg}" for field, msgs in exc.errors.items() for msg in msgs
    ]


def _apply(strategy: Strategy, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"name"}
    if unknown:
        raise ValidationError({"__all__": [f"Fields that cannot be set: {sorted(unknown)}"]})
    for field, value in fields.items():
        setattr(strategy, field, value)
    cleaned = strategy_clean(
        logic_kind=strategy.logic_kind,
        underlyings=strategy.underlyings,
        option_types=strategy.option_types,
        parameters=strategy.parameters,
        risk_limits=strategy.risk_limits,
    )
    for field, value in cleaned.items():
        setattr(strategy, field, value)
    strategy.full_clean()


@transaction.atomic
def strategy_create(*, name: str, logic_kind: str, **fields: Any) -> Strategy:
    """Create a strategy after validating every field; nothing is saved when anything is wrong."""
    strategy = Strategy(name=name, logic_kind=logic_kind)
    fields.setdefault("risk_limits", {})
    _apply(strategy, fields)
    strategy.save()
    return strategy


@transaction.atomic
def strategy_update(*, strategy: Strategy, **fields: Any) -> Strategy:
    """Change a strategy's fields; validated as a whole, so nothing is saved when anything is wrong."""
    locked = Strategy.objects.select_for_update().get(pk=strategy.pk)
    _apply(locked, fields)
    locked.save()
    return locked


def strategy_set_enabled(*, strategy: Strategy, enabled: bool) -> Strategy:
    """Enable or disable a strategy (a single-column update: no read-modify-write of other fields)."""
    Strategy.objects.filter(pk=strategy.pk).update(enabled=enabled, updated_at=timezone.now())
    strategy.refresh_from_db()
    return strategy
