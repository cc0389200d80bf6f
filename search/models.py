"""Search's own records: index updates not yet applied to the engine, the synonym sets
marketers keep in the admin (Settings > Search synonyms), every search reps run with the results
they opened (analytics reads these through ``search.selectors``), and the ranking signals
analytics hands over.

API tokens are Wagtail's own (``wagtail.models.APIToken``); see search/api.py."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from search.synonyms import SynonymsInvalid, parse_synonyms


class AdminIndexStale(models.Model):
    """Wagtail's admin index (marketers' page and document search on the server) missed a
    write: the server was down or refused it, and Wagtail only logs that. While this row
    exists the scheduler rebuilds that index (``search.services.admin_index_catch_up``);
    ``marked_at`` is the latest miss, so one during a rebuild is not forgotten."""

    marked_at = models.DateTimeField(default=timezone.now)


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


def validate_synonyms(text: str) -> None:
    """Refuse what ``parse_synonyms`` cannot read, naming each line at fault."""
    try:
        parse_synonyms(text)
    except SynonymsInvalid as error:
        raise ValidationError(error.problems) from None


@register_setting(icon="search")
class SearchSynonyms(BaseGenericSetting):
    """Words reps and marketers use for the same thing. A search for any term of a set also
    finds assets that use another term of it (applied at query time, on every engine); such
    results say so."""

    synonyms = models.TextField(
        blank=True,
        validators=[validate_synonyms],
        help_text=(
            "One set per line, terms separated by commas, e.g. “roi, return on investment” or "
            "“battlecard, competitive card”. A term of several words matches them as a phrase. "
            "Lines starting with # are notes."
        ),
    )

    class Meta:
        verbose_name = "search synonyms"
        verbose_name_plural = "search synonyms"

    def __str__(self) -> str:
        return "Search synonyms"


class RankingSignal(models.Model):
    """What search knows about an asset's track record, handed over by analytics through
    ``search.services.ranking_signals_replace`` (search never reads analytics itself).

    ``effective``: the asset's estimated lift in win rate when analytics judged that it helps
    (after its correction for testing many assets at once), else 0; ``popularity`` in [0, 1].
    An asset without a row is neutral."""

    asset_id = models.PositiveBigIntegerField(unique=True)
    effective = models.FloatField(default=0.0)
    popularity = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"signals of asset {self.asset_id}"


class SearchEvent(models.Model):
    """One search a user ran: what they asked, what they filtered by, how many results came
    back and how long the engine took. "Searches that found nothing" read these. (The table
    keeps the name it had when analytics owned the model.)

    ``key`` is given when the search runs, before the row is written (``search.services``
    spools events and writes them after the response): result links and later pages refer to
    the search by it, and it makes writing an event twice harmless. Searches recorded before
    it existed have none."""

    key = models.UUIDField(null=True, unique=True, editable=False, default=uuid.uuid4)
    # The search this one continued as the rep typed (live results): the earlier one was a
    # step on the way, not a search to count among "searches that found nothing".
    refines = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    query = models.CharField(max_length=500, blank=True)
    normalized_query = models.CharField(max_length=500, blank=True, db_index=True)
    filters = models.JSONField(default=dict, blank=True)
    result_count = models.PositiveIntegerField()
    latency_ms = models.FloatField()
    source = models.CharField(max_length=20, default="web")  # web | api
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "analytics_searchevent"
        ordering = ["-created_at"]


class SearchClick(models.Model):
    """A result the user opened from a search, with its position in the result list."""

    search = models.ForeignKey(SearchEvent, on_delete=models.CASCADE, related_name="clicks")
    asset = models.ForeignKey(
        "cms.AssetPage", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "analytics_searchclick"
