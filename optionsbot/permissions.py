from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from optionsbot.roles import is_operator, is_viewer


class ViewerReadOperatorWrite(BasePermission):
    """Viewers may read; only operators may change anything."""

    message = "You need the viewer role to read and the operator role to make changes."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return is_viewer(request.user)
        return is_operator(request.user)
