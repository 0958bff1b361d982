from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from optionsbot.live import OUTBOX_KEEP, live_event_publish
from optionsbot.models import LiveEvent

pytestmark = pytest.mark.django_db


def test_the_outbox_stays_small_when_nobody_relays_it(settings: Any) -> None:
    settings.LIVE_EVENTS_VIA_OUTBOX = True
    old = LiveEvent.objects.create(topic="agent.tick", payload={"n": 0})
    LiveEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - OUTBOX_KEEP - timedelta(minutes=1))
    live_event_publish(topic="agent.tick", payload={"n": 1})
    assert list(LiveEvent.objects.values_list("payload", flat=True)) == [{"n": 1}]
