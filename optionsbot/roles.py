"""Who may do what: viewers read, operators change.

A user is an operator when they are a superuser or in the ``operators`` group, and a viewer
when they are an operator or in the ``viewers`` group. Everyone else sees nothing.
"""

from __future__ import annotations

from typing import Any

VIEWERS_GROUP = "viewers"
OPERATORS_GROUP = "operators"


def _group_names(user: Any) -> set[str]:
    cached = getattr(user, "_optionsbot_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._optionsbot_groups = cached
    return cached


def is_operator(user: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or OPERATORS_GROUP in _group_names(user)


def is_viewer(user: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return is_operator(user) or VIEWERS_GROUP in _group_names(user)
