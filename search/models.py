"""Search's own records: index updates waiting for the engine, and the ranking signals other
apps hand over.

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


class RankingSignal(models.Model):
    """What search knows about an asset's track record, handed over by analytics through
    ``search.services.ranking_signals_replace`` (search never reads analytics itself).

    ``effective``: the asset's estimated lift in win rate when analytics judged that it helps
    (after its correction for testing many assets at once), else 0; ``popularity`` in [0, 1];
    ``won_deals``: it was used in at least one won deal. An asset without a row is neutral."""

    asset_id = models.PositiveBigIntegerField(unique=True)
    effective = models.FloatField(default=0.0)
    popularity = models.FloatField(default=0.0)
    won_deals = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"signals of asset {self.asset_id}"
