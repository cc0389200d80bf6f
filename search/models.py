"""Search's own records: index updates not yet applied to the engine.

API tokens are Wagtail's own (``wagtail.models.APIToken``); see search/api.py."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PendingIndexUpdate(models.Model):
    """An asset whose index entry may be out of date: an update was requested (in the same
    transaction as the change that needs it) and has not yet been applied, or it failed.

    While a row exists the asset is left out of every search result, count and suggestion
    (fail closed: a permission change can never be outrun by a stale index entry). A
    successful index write deletes the rows requested before it started; a failed one keeps
    them, with the error, for the next write or ``search_reindex`` to replay."""

    asset_id = models.PositiveBigIntegerField(unique=True)
    error = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["requested_at"]

    def __str__(self) -> str:
        return f"asset {self.asset_id} waiting to be indexed"
