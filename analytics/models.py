"""Analytics records. Raw events are append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SearchEvent(models.Model):
    """One search a user ran: what they asked, what they filtered by, how many results came
    back and how long the engine took. "Searches that found nothing" read these."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    query = models.CharField(max_length=500, blank=True)
    normalized_query = models.CharField(max_length=500, blank=True, db_index=True)
    filters = models.JSONField(default=dict, blank=True)
    result_count = models.PositiveIntegerField()
    latency_ms = models.FloatField()
    source = models.CharField(max_length=20, default="web")  # web | api
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]


class SearchClick(models.Model):
    """A result the user opened from a search, with its position in the result list."""

    search = models.ForeignKey(SearchEvent, on_delete=models.CASCADE, related_name="clicks")
    asset = models.ForeignKey(
        "cms.AssetPage", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
