from __future__ import annotations

from django.db import models


class LiveEvent(models.Model):
    """An update for the dashboard, written in the same transaction as the change it reports.

    Used when the channel layer cannot cross processes (the embedded default without Redis): the
    web process relays new rows to its WebSocket clients. Rows are pruned after a few minutes.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
