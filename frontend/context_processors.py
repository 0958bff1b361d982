from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def product(request: HttpRequest) -> dict[str, Any]:
    return {
        "trading_mode": settings.TRADING_MODE,
        "deribit_env": settings.DERIBIT_ENV,
        "optionsbot_env": settings.OPTIONSBOT_ENV,
    }
