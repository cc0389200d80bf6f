"""Search's own records: index updates waiting for the engine.

API tokens are Wagtail's own (``wagtail.models.APIToken``); see search/api.py."""

from __future__ import annotations

from django.db import models


class PendingIndexUpdate(models.Model):
    """An asset whose index update failed because the engine was down. The next successful
    index write (or ``search_reindex``) replays it and deletes the row."""

    asset_id = models.PositiveBigIntegerField(unique=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"asset {self.asset_id} waiting to be indexed"
