from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery


@pytest.fixture
def eager_celery() -> Iterator[Celery]:
    """Tasks run in this process when sent (after commit), errors raised to the test."""
    from optionsbot.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def outbox(settings: Any) -> None:
    """Live events go to the database outbox, where the tests read them."""
    settings.LIVE_EVENTS_VIA_OUTBOX = True
