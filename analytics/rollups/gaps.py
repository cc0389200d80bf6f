"""The search-gaps snapshot: what reps searched for in the last 90 days and did not find, and
what the library finds for those words now."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from django.utils import timezone

from analytics.rollups import derived
from analytics.scope import window_start
from search import selectors as search_selectors
from search.engines import SearchUnavailable
from search.query import Audience, SearchQuery

logger = logging.getLogger(__name__)

LIMIT = 50
#: Who sees every live asset (marketers, leads, admins: ``search.query.audience_for``).
EVERYONE = Audience(team_ids=None)
#: What ``audience_for`` gives a rep in no team: the assets restricted to no team.
NO_TEAM = Audience(team_ids=frozenset())


def search_gaps(today, limit: int = LIMIT) -> dict:
    """Top normalised queries in the 90-day window (``analytics.scope.window_start``) that
    found nothing (``zero_results``) and that found something nobody clicked (``no_click``),
    most frequent first (``search.selectors.search_gaps``). Each search that found nothing
    also carries what the library finds for it today (``found_today``), unless search is
    unavailable: the snapshot is then written without those counts, as the rest of it does
    not need the engine."""
    since = datetime.combine(window_start("90d", today), datetime.min.time(), tzinfo=UTC)
    gaps = search_selectors.search_gaps(since=since, limit=limit)
    try:
        counts = [found_today(gap["typed"]) for gap in gaps["zero_results"]]
    except SearchUnavailable as error:
        logger.warning("search gaps written without what search finds today: %s", error)
        return gaps
    for gap, (found, found_open) in zip(gaps["zero_results"], counts, strict=True):
        gap["found"], gap["found_open"] = found, found_open
    return gaps


def found_today(text: str) -> tuple[int, int]:
    """How many live assets a search for ``text`` finds now: for someone who sees every
    live asset (a marketer or lead) and for a rep in no team (who sees only the assets
    restricted to no team). The difference is what is restricted to some teams: a rep who
    found nothing may have been kept from content that exists, or searched before it was
    published, and asking marketing to make it again would be wasted.

    Both are searches on the search page's own path (``search.selectors.search_run``, with
    the library's synonyms, leaving out assets whose index update is pending), so the counts
    are what those two people get there. One difference, on purpose: the rep's count matches
    the words the way the marketer's search did (as typed, or within typos when only that
    found something). The page would otherwise show a rep in no team assets one typo away
    when everything matching the words as typed is restricted, and the restricted count would
    be lost in them. At most two engine calls, one when nothing is found. Raises
    ``SearchUnavailable``."""
    query = SearchQuery(
        audience=EVERYONE,
        now=timezone.now(),
        text=text,
        facets=(),
        per_page=0,
        highlight=False,
    )
    everyone = search_selectors.search_run(query=query)
    if not everyone.total:
        return 0, 0
    as_no_team = dataclasses.replace(query, audience=NO_TEAM, typos=everyone.within_typos)
    return everyone.total, search_selectors.search_run(query=as_no_team).total


def search_gaps_compute(ctx):
    return derived.snapshot_writes("search_gaps", {"90d": search_gaps(ctx.today)})
