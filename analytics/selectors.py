"""Reads over analytics data. Dashboards read the rollups (DealAssetTouch, AssetStats,
UsageWeekly, RollupSnapshot) that ``update_analytics`` fills; nothing here scans raw events.

Definitions used throughout (the README repeats them):

- A *touch* of a deal is an event of kind asset_shared, buyer_opened, used_in_deal or
  asset_presented, on or before the deal's close date. A deal *used* an asset when it has at
  least one touch of it.
- Only closed deals (won or lost) count for effectiveness, filtered by close date (window),
  segment and industry.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from analytics import stats
from analytics.models import (
    AssetFeedback,
    AssetStats,
    Deal,
    DealAssetTouch,
    RollupSnapshot,
    ShareLink,
    UsageWeekly,
)
from analytics.tokens import share_link_token, token_digest
from cms.models import AssetPage, BuyerStage
from cms.selectors import asset_visible_to, assets_live

WINDOWS = {"90d": 90, "365d": 365, "all": None}
DEFAULT_WINDOW = "365d"
CREDIT_FIELDS = {
    "attributed_first_touch": "credit_first",
    "attributed_last_touch": "credit_last",
    "attributed_linear": "credit_linear",
    "attributed_u_shaped": "credit_u_shaped",
    "attributed_time_decay": "credit_time_decay",
}
USAGE_FIELDS = (
    "views",
    "downloads",
    "shares",
    "buyer_opens",
    "used_in_deal",
    "presented",
    "distinct_reps",
    "distinct_deals",
)
#: The per-asset fields of the table, the CSV export and GET /api/v1/analytics/assets.
ASSET_FIELDS = (
    "deals_used",
    "won",
    "lost",
    "win_rate",
    "baseline_win_rate",
    "baseline_deals",
    "first_touch_stage",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "enough_data",
    "influenced_revenue",
    *CREDIT_FIELDS,
    *USAGE_FIELDS,
)


def window_start(window: str, today: date | None = None) -> date | None:
    """First close date (and event day) inside ``window``; None for "all"."""
    days = WINDOWS.get(window, WINDOWS[DEFAULT_WINDOW])
    if days is None:
        return None
    return (today or timezone.now().date()) - timedelta(days=days)


def closed_deals_filter(
    *, since: date | None = None, segment: str = "", industry: str = "", prefix: str = ""
) -> Q:
    """The Q selecting closed deals in scope; ``prefix`` is "deal__" when read via a touch."""
    query = Q(**{f"{prefix}outcome__in": [Deal.Outcome.WON, Deal.Outcome.LOST]})
    if since:
        query &= Q(**{f"{prefix}close_date__gte": since})
    if segment:
        query &= Q(**{f"{prefix}segment__iexact": segment})
    if industry:
        query &= Q(**{f"{prefix}industry__iexact": industry})
    return query


def stage_totals(scope: Q) -> dict[int, tuple[int, int]]:
    """For each reached_stage_order value: (closed deals, won deals) that reached exactly it."""
    totals: dict[int, tuple[int, int]] = {}
    rows = Deal.objects.filter(scope).values("reached_stage_order")
    rows = rows.annotate(n=Count("id"), w=Count("id", filter=Q(outcome=Deal.Outcome.WON)))
    for row in rows:
        totals[row["reached_stage_order"]] = (row["n"], row["w"])
    return totals


def reached(totals: dict[int, tuple[int, int]], order: int) -> tuple[int, int]:
    """(closed, won) among deals whose reached_stage_order >= ``order``."""
    n = sum(v[0] for k, v in totals.items() if k >= order)
    w = sum(v[1] for k, v in totals.items() if k >= order)
    return n, w


def asset_effectiveness(
    *,
    since: date | None = None,
    segment: str = "",
    industry: str = "",
    min_deals: int | None = None,
) -> dict[int, dict]:
    """Per asset, over closed deals in scope:

    - ``deals_used`` = won + lost among closed deals with at least one touch of the asset;
      ``win_rate`` = won / (won + lost).
    - ``first_touch_stage``: the lower median (by journey order) of the stage each using deal
      was in at its first touch of the asset.
    - ``baseline_win_rate`` = won / closed among closed deals that did NOT use the asset but
      reached that stage (a deal reached a stage when its history passed through it or
      beyond, or it was won); ``baseline_deals`` is their number.
    - ``lift`` = win_rate - baseline_win_rate with the 95% Newcombe hybrid score interval
      (``lift_ci_low``, ``lift_ci_high``); ``enough_data`` is false when either side has
      fewer than ANALYTICS_MIN_DEALS closed deals.
    - ``influenced_revenue`` = sum of amounts of won deals that used it; ``attributed_*`` =
      the asset's credit under each attribution model (``analytics.stats.attribute``).
    """
    min_deals = settings.ANALYTICS_MIN_DEALS if min_deals is None else min_deals
    totals = stage_totals(closed_deals_filter(since=since, segment=segment, industry=industry))
    scope = closed_deals_filter(since=since, segment=segment, industry=industry, prefix="deal__")
    per_asset: dict[int, list] = defaultdict(list)
    for row in touch_groups(scope):
        per_asset[row["asset_id"]].append(row)
    stage_names = _stage_names()
    return {
        asset_id: _asset_numbers(rows, totals, min_deals, stage_names)
        for asset_id, rows in per_asset.items()
    }


def touch_groups(scope: Q):
    """Deal x asset rollup rows in ``scope`` grouped by asset, first-touch stage, the deal's
    reached stage and outcome: counts, amounts and attribution credits (one query)."""
    return (
        DealAssetTouch.objects.filter(scope)
        .values("asset_id", "first_touch_stage_order", "deal__reached_stage_order", "deal__outcome")
        .annotate(
            n=Count("id"),
            revenue=Sum("deal__amount"),
            **{name: Sum(column) for name, column in CREDIT_FIELDS.items()},
        )
    )


def _asset_numbers(rows, totals, min_deals, stage_names) -> dict:
    won = sum(r["n"] for r in rows if r["deal__outcome"] == Deal.Outcome.WON)
    used = sum(r["n"] for r in rows)
    stage = stats.lower_median([r["first_touch_stage_order"] for r in rows for _ in range(r["n"])])
    users_reached = [r for r in rows if r["deal__reached_stage_order"] >= stage]
    all_n, all_w = reached(totals, stage)
    base_n = all_n - sum(r["n"] for r in users_reached)
    base_w = all_w - sum(r["n"] for r in users_reached if r["deal__outcome"] == Deal.Outcome.WON)
    interval = stats.newcombe_difference(won, used, base_w, base_n)
    numbers = {
        "deals_used": used,
        "won": won,
        "lost": used - won,
        "win_rate": stats.win_rate(won, used - won),
        "baseline_win_rate": stats.win_rate(base_w, base_n - base_w),
        "baseline_deals": base_n,
        "first_touch_stage": stage_names.get(stage, ""),
        "lift": interval.lift if interval else None,
        "lift_ci_low": interval.low if interval else None,
        "lift_ci_high": interval.high if interval else None,
        "enough_data": used >= min_deals and base_n >= min_deals,
        "influenced_revenue": float(
            sum(r["revenue"] or 0 for r in rows if r["deal__outcome"] == Deal.Outcome.WON)
        ),
    }
    for name in CREDIT_FIELDS:
        numbers[name] = round(float(sum(r[name] or 0 for r in rows)), 2)
    return numbers


def _stage_names() -> dict[int, str]:
    names: dict[int, str] = {}
    for order, name in BuyerStage.objects.order_by("-name").values_list("sort_order", "name"):
        names[order] = name
    return names


def empty_asset_numbers() -> dict:
    numbers = {name: 0 for name in ASSET_FIELDS}
    numbers.update(
        win_rate=None,
        baseline_win_rate=None,
        lift=None,
        lift_ci_low=None,
        lift_ci_high=None,
        enough_data=False,
        first_touch_stage="",
    )
    return numbers


# --- The asset table ----------------------------------------------------------------------


def asset_table(
    *, window: str = DEFAULT_WINDOW, segment: str = "", industry: str = ""
) -> list[dict]:
    """One row per asset with ASSET_FIELDS plus ``asset_id`` and ``title``.

    Without filters the rows are the window's AssetStats rollup as stored. With a segment or
    industry filter the effectiveness numbers are recomputed from the deal-level rollup
    (DealAssetTouch), and usage stays the window's (events carry no segment).
    """
    window = window if window in WINDOWS else DEFAULT_WINDOW
    stored = {row.asset_id: dict(row.data) for row in AssetStats.objects.filter(window=window)}
    if segment or industry:
        fresh = asset_effectiveness(since=window_start(window), segment=segment, industry=industry)
        for asset_id, data in stored.items():
            data.update(fresh.get(asset_id) or _effectiveness_blank())
    titles = _titles(stored)
    rows = []
    for asset_id, data in stored.items():
        if asset_id in titles:
            rows.append({"asset_id": asset_id, "title": titles[asset_id], **data})
    return rows


def _effectiveness_blank() -> dict:
    blank = empty_asset_numbers()
    return {key: value for key, value in blank.items() if key not in USAGE_FIELDS}


def _titles(asset_ids) -> dict[int, str]:
    return dict(AssetPage.objects.filter(pk__in=list(asset_ids)).values_list("pk", "title"))


def asset_stats(asset_id: int, *, window: str = DEFAULT_WINDOW) -> dict:
    row = AssetStats.objects.filter(asset_id=asset_id, window=window).first()
    return dict(row.data) if row else empty_asset_numbers()


def asset_usage_weeks(asset_id: int, *, since: date | None = None) -> list[dict]:
    """Weekly event counts for one asset: [{"week": date, kind: count, ...}] oldest first."""
    rows = UsageWeekly.objects.filter(asset_id=asset_id)
    if since:
        rows = rows.filter(week__gte=since - timedelta(days=since.weekday()))
    weeks: dict[date, dict] = {}
    for row in rows.order_by("week"):
        weeks.setdefault(row.week, {"week": row.week})[row.kind] = row.count
    return list(weeks.values())


def snapshot(key: str, window: str = "all") -> dict:
    row = RollupSnapshot.objects.filter(key=key, window=window).first()
    return row.data if row else {}


def last_updated():
    row = RollupSnapshot.objects.filter(key="overview").order_by("-computed_at").first()
    return row.computed_at if row else None


# --- Search ranking -----------------------------------------------------------------------


def asset_ranking_signals(asset_ids: list[int] | None = None) -> dict[int, dict]:
    """Ranking signals search blends into relevance, keyed by asset id.

    Each value is ``{"effectiveness": float, "popularity": float, "won_deals": bool}`` with
    effectiveness and popularity in [0, 1]; 0 means neutral. An asset gets a non-zero
    effectiveness only when its lift interval excludes zero. Missing assets are neutral.

    From the last 365 days' rollup: effectiveness = ``lift_ci_low`` when there is enough
    data and it is above zero (the lift we are 95% sure of), else 0. popularity =
    ``log(1 + uses) / log(1 + most uses of any asset)`` where uses = views + downloads +
    touches. won_deals = the asset was used in at least one won deal (all time).
    """
    rows = AssetStats.objects.filter(window__in=("365d", "all"))
    if asset_ids is not None:
        rows = rows.filter(asset_id__in=list(asset_ids))
    recent = {r.asset_id: r.data for r in rows if r.window == "365d"}
    ever = {r.asset_id: r.data for r in rows if r.window == "all"}
    uses = {asset_id: _uses(data) for asset_id, data in recent.items()}
    top = _top_uses()
    signals = {}
    for asset_id in set(recent) | set(ever):
        data = recent.get(asset_id, {})
        low = data.get("lift_ci_low")
        effective = data.get("enough_data") and low is not None and low > 0
        popularity = math.log1p(uses.get(asset_id, 0)) / math.log1p(top) if top else 0.0
        signals[asset_id] = {
            "effectiveness": min(1.0, float(low)) if effective else 0.0,
            "popularity": max(0.0, min(1.0, popularity)),
            "won_deals": bool(ever.get(asset_id, {}).get("won")),
        }
    return signals


def _uses(data: dict) -> int:
    keys = ("views", "downloads", "shares", "buyer_opens", "used_in_deal", "presented")
    return sum(int(data.get(key) or 0) for key in keys)


def _top_uses() -> int:
    row = RollupSnapshot.objects.filter(key="overview", window="365d").first()
    return int(row.data.get("top_asset_uses", 0)) if row else 0


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
    return {"pillars": heat.get("pillars", []), "rows": rows}


def content_health(*, unused_days: int = 90) -> dict:
    """Live assets with no usage in ``unused_days`` (no event in the 90-day rollup), live
    assets past their review-by date, and expired or archived assets still touched in
    open deals."""
    today = timezone.now().date()
    live = assets_live()
    used_recently = {
        row.asset_id for row in AssetStats.objects.filter(window="90d") if _uses(row.data) > 0
    }
    unused = live.exclude(pk__in=used_recently).order_by("title")
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
        "stale": list(stale.values("pk", "title", "review_by", "owner__username")),
        "expired_in_open_deals": [
            {"pk": a.pk, "title": a.title, "open_deals": open_counts.get(a.pk, 0)} for a in expired
        ],
    }


def share_links_for(*, user, asset_id: int | None = None, limit: int = 200) -> list:
    """The share links ``user`` made (of one asset when given), newest first. Each carries
    ``label`` (asset, deal, recipient note, creation time and number: unique), ``state``
    ("active", "expired", "revoked") and ``token`` (None when it cannot be shown again)."""
    if not getattr(user, "is_authenticated", False):
        return []
    links = ShareLink.objects.filter(created_by=user).select_related("deal", "asset")
    if asset_id is not None:
        links = links.filter(asset_id=asset_id)
    now = timezone.now()
    result = list(links.order_by("-created_at", "-pk")[:limit])
    for link in result:
        link.label = share_link_label(link)
        link.token = share_link_token(link)
        link.state = (
            "revoked" if link.revoked_at else "expired" if link.expires_at <= now else "active"
        )
    return result


def share_link_label(link) -> str:
    """A name for one link that no other link of the rep shares: its number makes it so."""
    created = timezone.localtime(link.created_at).strftime("%d %b %Y %H:%M")
    note = f" for {link.recipient_note}" if link.recipient_note else ""
    return f"#{link.pk} {link.asset.title} → {link.deal}{note}, created {created}"


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


def feedback_for_asset(asset_id: int):
    return AssetFeedback.objects.filter(asset_id=asset_id).select_related("user")


def feedback_for_owner(user):
    """Feedback on assets ``user`` owns (Wagtail's page owner), newest first."""
    owned = AssetPage.objects.filter(owner=user).values("pk")
    return AssetFeedback.objects.filter(asset_id__in=owned).select_related("asset", "user")


def deal_segments() -> tuple[list[str], list[str]]:
    """Distinct non-empty segments and industries, for the dashboard's filters."""
    segments = Deal.objects.exclude(segment="").values_list("segment", flat=True).distinct()
    industries = Deal.objects.exclude(industry="").values_list("industry", flat=True).distinct()
    return sorted(set(segments)), sorted(set(industries))
