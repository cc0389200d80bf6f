"""The search-gaps snapshot: what reps searched for in the last 90 days and did not find."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count

from analytics.models import SearchEvent
from analytics.rollups import derived

DAYS = 90
LIMIT = 50


def search_gaps(today, days: int = DAYS, limit: int = LIMIT) -> dict:
    """Top normalised queries since ``days`` before ``today`` that found nothing
    (``zero_results``) and that found something nobody clicked (``no_click``), most frequent
    first."""
    from datetime import UTC

    since = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    recent = SearchEvent.objects.filter(created_at__gte=since).exclude(normalized_query="")
    zero = (
        recent.filter(result_count=0)
        .values("normalized_query")
        .annotate(searches=Count("id"))
        .order_by("-searches", "normalized_query")[:limit]
    )
    no_click = (
        recent.filter(result_count__gt=0, clicks__isnull=True)
        .values("normalized_query")
        .annotate(searches=Count("id"))
        .order_by("-searches", "normalized_query")[:limit]
    )
    return {
        "zero_results": [{"query": r["normalized_query"], "searches": r["searches"]} for r in zero],
        "no_click": [{"query": r["normalized_query"], "searches": r["searches"]} for r in no_click],
    }


def search_gaps_compute(ctx):
    return derived.snapshot_writes("search_gaps", {"90d": search_gaps(ctx.today)})
