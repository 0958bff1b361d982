"""The Celery application: broker and queues come from the Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optionsbot.settings")

app = Celery("optionsbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
