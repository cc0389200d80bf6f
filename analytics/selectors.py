"""Reads over analytics data. Dashboards read the rollups (``analytics.rollups``): per-asset
stats and usage, the heat map, overview and search-gap snapshots; nothing here scans raw
events. A filtered view of the asset table (a segment or industry) is computed from the compact
deal x asset rows on first request and kept until the rollups move.

Definitions used throughout (the README repeats them):

- A *touch* of a deal is an event of kind asset_shared, buyer_opened, used_in_deal or
  asset_presented, on or before the deal's close date. A deal *used* an asset when it has at
  least one touch of it.
- Only closed deals (won or lost) count for effectiveness, filtered by close date (window),
  segment and industry. The estimator is described in ``analytics.effectiveness``.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format

from accounts.people import person_name
from accounts.roles import user_is_enablement_lead
from analytics.currency import reporting_currency
from analytics.effectiveness import population_prepare
from analytics.models import (
    AssetFeedback,
    AssetStats,
    AssetUsage,
    Deal,
    DealAssetTouch,
    DealStageChange,
    FillState,
    JobLock,
    RefreshState,
    RollupSnapshot,
    ShareLink,
    UsageDaily,
)
from analytics.rollups import effects, population
from analytics.rollups.derived import plain
from analytics.rollups.population import pipeline_stages
from analytics.rollups.usage import USAGE_FIELDS
from analytics.scope import DEFAULT_WINDOW, WINDOWS, window_start
from analytics.tokens import share_link_address, share_link_token, token_digest
from cms.models import AssetPage
from cms.selectors import asset_visible_to, assets_expire_at, assets_for_user, assets_live

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")
EFFECT_FIELDS = (
    "verdict",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "p_value",
    "q_value",
    "mde",
    "usable_deals",
    "comparison_deals",
    "treated_deals",
    "touched_deals",
    "enough_data",
    "heterogeneity_p",
    "varies_by_segment",
)
RAW_FIELDS = ("deals_used", "won", "lost", "win_rate", "raw_baseline_win_rate", "raw_lift")
STAGE_MATCHED_FIELDS = (
    "first_touch_stage",
    "stage_matched_baseline_win_rate",
    "stage_matched_baseline_deals",
    "stage_matched_lift",
    "stage_matched_lift_ci_low",
    "stage_matched_lift_ci_high",
)
MONEY_FIELDS = ("currency", "influenced_revenue", *(f"attributed_{m}" for m in MODELS))
#: The per-asset fields of the table, the CSV export and GET /api/v1/analytics/assets (the
#: API adds the lists ``segments``, ``stages`` and the dict ``revenue_without_rate``; the CSV
#: writes them as text).
ASSET_FIELDS = (*EFFECT_FIELDS, *RAW_FIELDS, *STAGE_MATCHED_FIELDS, *MONEY_FIELDS, *USAGE_FIELDS)
NESTED_FIELDS = ("segments", "stages", "revenue_without_rate")
STRATA_FIXED = ("industry", "size_band")


def deals_without_history(*, deal_ids=None):
    """Closed deals whose stage history names no journey stage they pass through before
    closing (e.g. imported from an opportunity report without its history): the estimator
    leaves them out of stage-based estimates and the dashboard says how many."""
    pipeline = [stage.pk for stage in pipeline_stages()]
    deals = Deal.objects.filter(outcome__in=[Deal.Outcome.WON, Deal.Outcome.LOST])
    if deal_ids is not None:
        deals = deals.filter(pk__in=list(deal_ids))
    staged = DealStageChange.objects.filter(journey_stage_id__in=pipeline).values("deal_id")
    return deals.exclude(pk__in=staged)


# --- Refresh state ----------------------------------------------------------------------------


#: A refresh queued this long without starting, or none started in this long (or ten of the
#: scheduler's intervals, if longer), means the process that runs it is not running.
STALLED_AFTER = timedelta(minutes=5)


def refresh_status(*, now: datetime | None = None) -> dict:
    """When the numbers are from (``data_as_of``) and whether a refresh is on its way:
    asked for (or queued) after the last one started, or running now; and ``stalled``, when
    the process that should run them seems stopped: ``("worker", since)`` for a refresh
    queued long ago that never started, ``("scheduler", since)`` when none started for long
    (the numbers then froze with nothing on the page saying so), ``("refresh", since)`` for
    one that has held its lock for as long without finishing (stopped mid-run, its lock
    left behind until it goes stale), else None."""
    state = RefreshState.objects.order_by("pk").first()
    running = JobLock.objects.filter(name="update_analytics").exists()
    if state is None:
        return {"data_as_of": None, "refreshing": running, "error": "", "stalled": None}
    now = now or timezone.now()
    waiting = max(filter(None, [state.requested_at, state.enqueued_at]), default=None)
    pending = waiting is not None and (state.started_at is None or waiting > state.started_at)
    interval = timedelta(seconds=settings.ANALYTICS_REFRESH_SECONDS)
    stalled = None
    if pending and not running and now - waiting > max(STALLED_AFTER, 3 * interval):
        stalled = ("worker", waiting)
    elif state.started_at and now - state.started_at > max(STALLED_AFTER, 10 * interval):
        stalled = ("refresh" if running else "scheduler", state.started_at)
    return {
        "data_as_of": state.data_as_of,
        "refreshing": running or pending,
        "error": state.error,
        "stalled": stalled,
    }


def last_updated():
    return refresh_status()["data_as_of"]


# --- The asset table ----------------------------------------------------------------------


def empty_asset_numbers() -> dict:
    numbers: dict = {name: None for name in ASSET_FIELDS}
    numbers.update({name: 0 for name in USAGE_FIELDS})
    numbers.update(
        verdict="not enough data",
        enough_data=False,
        varies_by_segment=False,
        usable_deals=0,
        comparison_deals=0,
        treated_deals=0,
        touched_deals=0,
        deals_used=0,
        won=0,
        lost=0,
        first_touch_stage="",
        stage_matched_baseline_deals=0,
        influenced_revenue=0.0,
        segments=[],
        stages=[],
        revenue_without_rate={},
    )

    numbers["currency"] = reporting_currency()
    for model in MODELS:
        numbers[f"attributed_{model}"] = 0.0
    return numbers


def asset_table(
    *, window: str = DEFAULT_WINDOW, segment: str = "", industry: str = ""
) -> tuple[list[dict], dict]:
    """One row per current asset (live ones, and any other with numbers) with ASSET_FIELDS,
    the nested fields, ``asset_id`` and ``title``; and the view's summary (closed deals,
    assets tested, the false discovery rate, strata, and ``parts_adjusted_for_multiplicity``:
    false, only the verdict is adjusted for testing many assets).

    Without filters the rows are the window's rollup. A segment or industry filter makes a
    view of its own (its own comparisons and its own Benjamini-Hochberg family), computed
    from the deal x asset rollup; usage stays the window's (events carry no segment).
    """
    window = window if window in WINDOWS else DEFAULT_WINDOW
    live = sorted(assets_live().values_list("pk", flat=True))
    if segment or industry:
        effects, summary = _filtered_view(window, segment.strip(), industry.strip(), live)
    else:
        effects = {r.asset_id: r.data for r in AssetStats.objects.filter(window=window)}
        summary = snapshot("asset_view", window)
    usage = {r.asset_id: r.data for r in AssetUsage.objects.filter(window=window)}
    ids = set(live) | set(effects) | set(usage)
    titles = _titles(ids)
    rows = []
    for asset_id in sorted(ids):
        if asset_id not in titles:
            continue  # deleted since
        data = empty_asset_numbers()
        data.update(effects.get(asset_id, {}))
        data.update(usage.get(asset_id, {}))
        rows.append({"asset_id": asset_id, "title": titles[asset_id], **data})
    # Said with the numbers, not only on the page: the segment and stage parts (``segments``,
    # ``stages``) are 95% intervals each, not corrected for testing many of them.
    return rows, {**summary, "parts_adjusted_for_multiplicity": False}


def _filtered_view(window: str, segment: str, industry: str, live: list[int]) -> tuple[dict, dict]:
    """A segment or industry view, computed once per state of the rollups it is made from and
    of the ``live`` assets (sorted ids) it lists (an unpublished asset stayed in a filtered
    view until new data came in, while the view said it was up to date)."""
    from django.db import DatabaseError, transaction

    state = FillState.objects.filter(rollup="asset_effects").values_list("inputs", flat=True)
    made_from = repr((state.first(), live)).encode()
    version = hashlib.sha1(made_from, usedforsecurity=False).hexdigest()
    name = f"{window}|{segment.casefold()}|{industry.casefold()}"
    key = "view:" + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:40]
    stored = RollupSnapshot.objects.filter(key=key, window=window).first()
    if stored is not None and stored.data.get("version") == version:
        return {int(k): v for k, v in stored.data["rows"].items()}, stored.data["summary"]
    inputs = population.load()
    deal_ids = effects.view_deals(inputs, window_start(window), segment, industry)
    prepared = population_prepare(inputs.records(deal_ids), stages=inputs.stages)
    rows, summary = effects.asset_view(inputs, deal_ids, prepared, live)
    summary.update(segment=segment, industry=industry)
    data = {"version": version, "rows": {str(k): v for k, v in rows.items()}, "summary": summary}
    try:
        with transaction.atomic():
            RollupSnapshot.objects.update_or_create(
                key=key, window=window, defaults={"data": data, "computed_at": timezone.now()}
            )
    except DatabaseError:  # busy: the next request computes it again
        pass

    return {k: plain(v) for k, v in rows.items()}, summary


#: The estimate's own figures. An asset without enough data (``enough_data`` false: fewer
#: than ``ANALYTICS_MIN_DEALS`` deals compared on a side, or no variation in outcomes) may
#: still have them, but they are no verdict: 7 deals can give "+39 pts (+1 to +77)".
ESTIMATE_FIELDS = ("effect", "effect_ci_low", "effect_ci_high")


def asset_rows_sort(rows: list[dict], *, sort: str, descending: bool) -> list[dict]:
    """``rows`` of ``asset_table`` ordered by the field ``sort``, rows without a value for it
    after the others, by title. By one of ``ESTIMATE_FIELDS``, an asset without enough data
    has no value: sorted among the others, the noisiest estimates (the fewest deals) came
    before every asset with a verdict."""

    def has_value(row: dict) -> bool:
        if sort in ESTIMATE_FIELDS and not row.get("enough_data"):
            return False
        return row.get(sort) is not None

    present = [row for row in rows if has_value(row)]
    missing = [row for row in rows if not has_value(row)]
    present.sort(key=lambda row: row[sort], reverse=descending)
    return present + sorted(missing, key=lambda row: row["title"])


def _titles(asset_ids) -> dict[int, str]:
    return dict(AssetPage.objects.filter(pk__in=list(asset_ids)).values_list("pk", "title"))


def asset_stats(asset_id: int, *, window: str = DEFAULT_WINDOW) -> dict:
    """Every number of one asset in ``window`` (empty numbers when it has none)."""
    data = empty_asset_numbers()
    stats_row = AssetStats.objects.filter(asset_id=asset_id, window=window).first()
    usage_row = AssetUsage.objects.filter(asset_id=asset_id, window=window).first()
    data.update(stats_row.data if stats_row else {})
    data.update(usage_row.data if usage_row else {})
    return data


def asset_usage_weeks(asset_id: int, *, since: date | None = None) -> list[dict]:
    """Weekly event counts for one asset: [{"week": Monday, kind: count, ...}] oldest first."""
    rows = UsageDaily.objects.filter(asset_id=asset_id)
    if since:
        rows = rows.filter(day__gte=since - timedelta(days=since.weekday()))
    weeks: dict[date, dict] = {}
    for day, kind, count in rows.order_by("day").values_list("day", "kind", "count"):
        monday = day - timedelta(days=day.weekday())
        week = weeks.setdefault(monday, {"week": monday})
        week[kind] = week.get(kind, 0) + count
    return list(weeks.values())


def snapshot(key: str, window: str = "all") -> dict:
    row = RollupSnapshot.objects.filter(key=key, window=window).first()
    return row.data if row else {}


# --- Search ranking -----------------------------------------------------------------------


def ranking_signals() -> dict[int, dict]:
    """The signals search blends into relevance, per asset (``search.services
    .ranking_signals_replace`` stores them):

    - ``effective``: the 12-month stratified effect of an asset whose verdict is "helps"
      (it passed Benjamini-Hochberg at 10% across the view's assets, its 95% interval clear of
      zero); 0 for every other;
    - ``popularity``: ``log(1 + uses) / log(1 + most uses of any asset)`` over 12 months,
      uses = views + downloads + touches, in [0, 1], to two decimals.

    No "used in a won deal" signal: true of nearly every asset after a year of deals, it
    would lift assets the verdict has not judged as if they were proven."""
    stored = AssetStats.objects.filter(window="365d")
    recent = dict(stored.values_list("asset_id", "data"))
    usage = AssetUsage.objects.filter(window="365d").values_list("asset_id", "data")
    uses = {asset_id: _uses(data) for asset_id, data in usage}
    top = max(uses.values(), default=0)
    signals = {}
    for asset_id in set(recent) | set(uses):
        data = recent.get(asset_id, {})
        helps = data.get("verdict") == "helps" and (data.get("effect") or 0) > 0
        popularity = math.log1p(uses.get(asset_id, 0)) / math.log1p(top) if top else 0.0
        signals[asset_id] = {
            "effective": round(min(1.0, float(data["effect"])), 6) if helps else 0.0,
            # Two decimals: finer changes move no ranking, and would re-index every asset on
            # every refresh.
            "popularity": round(max(0.0, min(1.0, popularity)), 2),
        }
    return signals


def _uses(data: dict) -> int:
    keys = ("views", "downloads", "shares", "buyer_opens", "used_in_deal", "presented")
    return sum(int(data.get(key) or 0) for key in keys)


# --- Dashboard pages ------------------------------------------------------------------------


def heatmap_grid(window: str = DEFAULT_WINDOW) -> dict:
    """The heat map snapshot as rows (stages) of cells (pillars) for a template."""
    heat = snapshot("heatmap", window)
    cells = {(c["stage"], c["pillar"]): c for c in heat.get("cells", [])}
    rows = [
        {
            "stage": stage,
            "cells": [cells.get((stage["id"], p["id"]), {}) for p in heat.get("pillars", [])],
        }
        for stage in heat.get("stages", [])
    ]
    return {"pillars": heat.get("pillars", []), "rows": rows, "tested": heat.get("tested", 0)}


def search_gaps() -> dict:
    """The search-gaps snapshot (``zero_results`` and ``no_click``: searches of the last 90
    days grouped by their normalised text, ``query``, most frequent first), each group with
    ``typed``: what reps typed, found when the snapshot was computed
    (``search.selectors.search_gaps``); a snapshot from before that shows ``query``.

    Each search that found nothing has ``found``, how many live assets search finds for it
    today, and ``found_restricted``, how many of those a rep in no team cannot see
    (``analytics.rollups.gaps.found_today``); both None when they were not counted (search
    was unavailable, or the snapshot is from before they were). ``computed_at``: when the
    snapshot was written (None without one)."""
    row = RollupSnapshot.objects.filter(key="search_gaps", window="90d").first()
    gaps = row.data if row else {}
    lists = {name: gaps.get(name, []) for name in ("zero_results", "no_click")}
    lists = {
        name: [{"typed": gap["query"], **gap} for gap in groups] for name, groups in lists.items()
    }
    for gap in lists["zero_results"]:
        found, found_open = gap.get("found"), gap.get("found_open")
        counted = found is not None and found_open is not None
        gap["found"] = found if counted else None
        # Never below 0, should an asset be published between the rollup's two searches.
        gap["found_restricted"] = max(found - found_open, 0) if counted else None
    return {**gaps, **lists, "computed_at": row.computed_at if row else None}


def content_health(*, unused_days: int = 90) -> dict:
    """Live assets with no usage in ``unused_days`` (no event in the 90-day rollup): ``unused``
    when they have been published that long, ``not_used_yet`` when first published since (a
    new asset has had no time to be used: adoption to watch, not dead content); live assets
    past their review-by date; and expired or archived assets still touched in open deals."""
    now = timezone.now()
    today, since = now.date(), now - timedelta(days=unused_days)
    live = assets_live()
    used_recently = {
        row.asset_id for row in AssetUsage.objects.filter(window="90d") if _uses(row.data) > 0
    }
    idle = live.exclude(pk__in=used_recently)
    new = Q(first_published_at__gt=since)
    unused = idle.exclude(new).order_by("title")
    not_used_yet = idle.filter(new).order_by("-first_published_at", "title")
    stale = live.filter(review_by__lt=today).order_by("review_by")
    open_touched = DealAssetTouch.objects.filter(deal__outcome=Deal.Outcome.OPEN)
    live_ids = live.values("pk")
    expired = (
        AssetPage.objects.filter(pk__in=open_touched.values("asset_id"))
        .exclude(pk__in=live_ids)
        .order_by("title")
    )
    open_counts = dict(
        open_touched.values("asset_id").annotate(n=Count("deal_id")).values_list("asset_id", "n")
    )
    return {
        "unused": list(unused.values("pk", "title", "first_published_at")),
        "not_used_yet": list(not_used_yet.values("pk", "title", "first_published_at")),
        "stale": [
            {"pk": a.pk, "title": a.title, "review_by": a.review_by, "owner": person_name(a.owner)}
            for a in stale.select_related("owner").only(
                "pk",
                "title",
                "review_by",
                "owner__first_name",
                "owner__last_name",
                "owner__username",
            )
        ],
        "expired_in_open_deals": [
            {"pk": a.pk, "title": a.title, "open_deals": open_counts.get(a.pk, 0)} for a in expired
        ],
    }


def share_links_for(*, user, asset_id: int | None = None, deal=None, limit: int = 200) -> list:
    """The share links ``user`` made (of one asset, in one deal, when given), newest first.
    Each carries ``label`` (asset, deal, recipient note, creation time and number: unique),
    ``state`` ("active", "expired", "revoked", or "unavailable": a link that would open but
    whose asset the buyer cannot get now, see ``share_link_for_buyer``), ``token`` (None
    when it cannot be shown again) and ``url``, the address for the buyer ("" without a
    token). A link to an asset ``user`` may not see now names no title (the asset may have
    been retitled for the teams that can)."""
    if not getattr(user, "is_authenticated", False):
        return []
    links = ShareLink.objects.filter(created_by=user).select_related("deal", "asset__asset_type")
    if asset_id is not None:
        links = links.filter(asset_id=asset_id)
    if deal is not None:
        links = links.filter(deal=deal)
    now = timezone.now()
    result = list(links.order_by("-created_at", "-pk")[:limit])
    # The bulk twin of cms.selectors.asset_visible_to: one query for the whole list.
    shown = AssetPage.objects.filter(pk__in={link.asset_id for link in result})
    visible = set(assets_for_user(user, shown).values_list("pk", flat=True))
    for link in result:
        asset_visible = link.asset_id in visible
        link.label = share_link_label(link, asset_visible=asset_visible)
        link.token = share_link_token(link)
        link.url = share_link_address(link.token) if link.token else ""
        if link.revoked_at:
            link.state = "revoked"
        elif link.expires_at <= now:
            link.state = "expired"
        elif not asset_visible or not link.asset.shareable_with_buyers:
            link.state = "unavailable"
        else:
            link.state = "active"
    return result


#: What a link's label says in place of the title of an asset its maker may no longer see.
HIDDEN_ASSET_LABEL = "an asset you can no longer open"


def share_link_label(link, *, asset_visible: bool) -> str:
    """A name for one link that no other link of the rep shares: its number makes it so.
    ``asset_visible``: whether the reader may see the link's asset now; when not, its title
    is left out."""
    created = date_format(timezone.localtime(link.created_at), "j M Y H:i")  # as pages write it
    note = f" for {link.recipient_note}" if link.recipient_note else ""
    title = link.asset.title if asset_visible else HIDDEN_ASSET_LABEL
    return f"#{link.pk} {title} → {link.deal}{note}, created {created}"


def share_link_revocable(*, user, link_id: int):
    """The link ``link_id`` if ``user`` may revoke it (they made it, or they are an
    enablement lead), else None: one answer for another rep's link and for an id that does
    not exist, so link ids cannot be probed."""
    if not getattr(user, "is_authenticated", False):
        return None
    links = ShareLink.objects.select_related("asset", "deal").filter(pk=link_id)
    if not user_is_enablement_lead(user):
        links = links.filter(created_by=user)
    return links.first()


def share_link_for_buyer(token: str):
    """The link ``token`` opens, or None. A link opens only while it is unrevoked and
    unexpired, its asset may go to buyers, and the rep who made it is active and may still
    see the asset now (``cms.selectors.asset_visible_to``: live, sections published, team
    restrictions). Checked on every open, so a link stops the moment any of that changes."""
    if not token or len(token) > 200:
        return None
    link = (
        ShareLink.objects.select_related("asset", "asset__asset_type", "deal", "created_by")
        .filter(token_hash=token_digest(token))
        .first()
    )
    if link is None or link.revoked_at is not None or link.expires_at <= timezone.now():
        return None
    creator = link.created_by
    if creator is None or not creator.is_active:
        return None
    if not link.asset.shareable_with_buyers or not asset_visible_to(creator, link.asset):
        return None
    return link


def asset_page_state(*, user, asset: AssetPage) -> dict:
    """What the lead's page of ``asset`` says of the asset's own page: ``open`` when ``user``
    can open it (else its address is a 404 for them, not a link to offer); otherwise why:
    ``expired_at`` when it expired (itself or a library section above it; None if it expired
    at no recorded time), else ``archived``, else it is not live (unpublished, itself or a
    section above it). ``can_edit``: ``user`` may open it in the admin's editor."""
    if asset_visible_to(user, asset):
        return {"open": True}
    expiry = assets_expire_at([asset.pk]).get(asset.pk)
    expired = (expiry is not None and expiry <= timezone.now()) or asset.expired
    return {
        "open": False,
        "expired": expired,
        "expired_at": (expiry or asset.expire_at) if expired else None,
        "archived": asset.archived,
        "can_edit": user.has_perm("wagtailadmin.access_admin")
        and asset.permissions_for_user(user).can_edit(),
    }


def feedback_for_asset(asset_id: int):
    return AssetFeedback.objects.filter(asset_id=asset_id).select_related("user")


def feedback_readable_by(user, queryset):
    """Of ``queryset`` (reps' feedback, or outdated reviews: rows with an ``asset``), what
    ``user`` may read and answer: all of it for enablement leads and admins, else what is
    about the assets they own (Wagtail's page owner). The Rep feedback report, the outdated
    reviews and their links in Needs review all ask this."""
    if user_is_enablement_lead(user):
        return queryset
    return queryset.filter(asset__owner=user)


def deal_segments() -> tuple[list[str], list[str]]:
    """Distinct non-empty segments and industries, for the dashboard's filters."""
    segments = Deal.objects.exclude(segment="").values_list("segment", flat=True).distinct()
    industries = Deal.objects.exclude(industry="").values_list("industry", flat=True).distinct()
    return sorted(set(segments)), sorted(set(industries))


def deal_filter_spelled(given: str, known: list[str]) -> str | None:
    """A segment or industry filter as the deals spell it (any case matches): "" for none
    given, None when no deal has it (a view of no deals would pass for real numbers)."""
    given = given.strip()
    if not given:
        return ""
    return {value.casefold(): value for value in known}.get(given.casefold())
