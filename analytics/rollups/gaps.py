"""The search-gaps snapshot: what reps searched for in the last 90 days and did not find."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.rollups import derived
from analytics.scope import window_start
from search import selectors as search_selectors

LIMIT = 50


def search_gaps(today, limit: int = LIMIT) -> dict:
    """Top normalised queries in the 90-day window (``analytics.scope.window_start``) that
    found nothing (``zero_results``) and that found something nobody clicked (``no_click``),
    most frequent first (``search.selectors.search_gaps``)."""
    since = datetime.combine(window_start("90d", today), datetime.min.time(), tzinfo=UTC)
    return search_selectors.search_gaps(since=since, limit=limit)


def search_gaps_compute(ctx):
    return derived.snapshot_writes("search_gaps", {"90d": search_gaps(ctx.today)})
