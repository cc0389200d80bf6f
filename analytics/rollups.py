"""``update_analytics``: rebuild every rollup from the raw events and deals.

The rebuild is a pure function of the raw data, so running it twice leaves the same tables.
Each rollup is computed first, reading only, and then swapped in by one short write
transaction (delete and refill that table), so readers see either its old or its new rows,
and writers (the events API, the app's own events, buyers opening links) never wait long for
the database: on SQLite only one transaction writes at a time, and a rebuild holding it for
its whole run made them time out. A lock row keeps two runs from overlapping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncWeek
from django.utils import timezone

from analytics import selectors, stats
from analytics.locks import Locked, job_lock
from analytics.models import (
    TOUCH_KINDS,
    AssetStats,
    Deal,
    DealAssetTouch,
    EventKind,
    RollupSnapshot,
    UsageEvent,
    UsageWeekly,
)
from cms.models import AssetPage, BuyerStage, Pillar
from search import selectors as search_selectors

BATCH = 5000
AnalyticsLocked = Locked


def update_analytics(*, log: Callable[[str], None] = lambda message: None) -> dict:
    """Rebuild all rollups; returns row counts per table. Raises AnalyticsLocked when
    another run holds the lock."""
    # Imported here: analytics.services runs this update (an import cycle that ends when the
    # update moves out with the live rollups).
    from analytics.services import usage_spool_replay

    with job_lock("update_analytics"):
        spooled = usage_spool_replay()
        if spooled:
            log(f"spooled events stored: {spooled}")
        counts = {"deal_asset_touches": rebuild_touches()}
        log(f"deal x asset touches: {counts['deal_asset_touches']}")
        counts["usage_weeks"] = rebuild_usage_weeks()
        log(f"usage weeks: {counts['usage_weeks']}")
        counts["asset_stats"] = rebuild_asset_stats()
        log(f"asset stats rows: {counts['asset_stats']}")
        rebuild_snapshots()
        log("overview, heat map and search gaps rebuilt")
    return counts


# --- Deal x asset touches and attribution ---------------------------------------------------


def rebuild_touches() -> int:
    """Fill DealAssetTouch from the touch events that happened on or before close."""
    deals = {
        pk: (outcome, close, amount)
        for pk, outcome, close, amount in Deal.objects.values_list(
            "pk", "outcome", "close_date", "amount"
        ).iterator(chunk_size=20000)
    }
    orders = dict(BuyerStage.objects.values_list("pk", "sort_order"))
    bottom = min(orders.values(), default=0)
    events = (
        UsageEvent.objects.filter(kind__in=TOUCH_KINDS, deal__isnull=False, asset__isnull=False)
        .order_by("deal_id", "occurred_at", "id")
        .values_list("deal_id", "asset_id", "occurred_at", "journey_stage_id")
    )
    rows: list[tuple] = []
    current, touches = None, []
    for deal_id, asset_id, occurred_at, stage_id in events.iterator(chunk_size=20000):
        if deal_id != current:
            rows.extend(_touch_values(_deal_rows(current, touches, deals)))
            current, touches = deal_id, []
        touches.append((asset_id, occurred_at, orders.get(stage_id, bottom)))
    rows.extend(_touch_values(_deal_rows(current, touches, deals)))
    _replace(DealAssetTouch, _TOUCH_COLUMNS, rows)
    return len(rows)


_TOUCH_COLUMNS = [
    "deal_id",
    "asset_id",
    "touches",
    "first_touch_at",
    "first_touch_stage_order",
    "credit_first",
    "credit_last",
    "credit_linear",
    "credit_u_shaped",
    "credit_time_decay",
]


def _touch_values(touches: list[DealAssetTouch]) -> list[tuple]:
    adapt = connection.ops.adapt_datetimefield_value
    return [
        tuple(
            adapt(value) if column == "first_touch_at" else value
            for column, value in ((c, getattr(row, c)) for c in _TOUCH_COLUMNS)
        )
        for row in touches
    ]


def _replace(model, columns: list[str], rows: list[tuple]) -> None:
    """Swap ``model``'s rows for ``rows`` in one short write transaction."""
    with transaction.atomic():
        model.objects.all().delete()
        _insert_rows(model, columns, rows)


def _deal_rows(deal_id, touches, deals) -> list[DealAssetTouch]:
    """Rows for one deal from its time-ordered touches (asset, time, stage order)."""
    if deal_id is None or deal_id not in deals:
        return []
    outcome, close, amount = deals[deal_id]
    if outcome != Deal.Outcome.OPEN and close is not None:
        touches = [t for t in touches if t[1].date() <= close]
    if not touches:
        return []
    rows: dict[int, DealAssetTouch] = {}
    for asset_id, occurred_at, order in touches:
        row = rows.get(asset_id)
        if row is None:
            rows[asset_id] = DealAssetTouch(
                deal_id=deal_id,
                asset_id=asset_id,
                touches=1,
                first_touch_at=occurred_at,
                first_touch_stage_order=order,
            )
        else:
            row.touches += 1
    if outcome == Deal.Outcome.WON:
        _credit(rows, touches, float(amount), close)
    return list(rows.values())


_MODEL_COLUMNS = {
    "first_touch": "credit_first",
    "last_touch": "credit_last",
    "linear": "credit_linear",
    "u_shaped": "credit_u_shaped",
    "time_decay": "credit_time_decay",
}


def _credit(rows: dict, touches: list, amount: float, close: date | None) -> None:
    ordered = [stats.Touch(asset_id, occurred_at.date()) for asset_id, occurred_at, _ in touches]
    for model, column in _MODEL_COLUMNS.items():
        for asset_id, credit in stats.attribute(amount, ordered, close, model).items():
            setattr(rows[asset_id], column, credit)


# --- Usage --------------------------------------------------------------------------------


def _week_expression():
    """The Monday of an event's week (UTC), computed by the database itself: Django's
    TruncWeek on SQLite calls back into Python once per row, 1M times for 1M events."""
    if connection.vendor == "sqlite":
        return RawSQL("date(occurred_at, 'weekday 0', '-6 days')", [])
    return TruncWeek("occurred_at", tzinfo=UTC)


def rebuild_usage_weeks() -> int:
    grouped = (
        UsageEvent.objects.filter(asset__isnull=False)
        .annotate(week=_week_expression())
        .values("asset_id", "week", "kind")
        .annotate(n=Count("id"))
    )
    rows = [
        (r["asset_id"], _as_date(r["week"]), r["kind"], r["n"])
        for r in grouped.iterator(chunk_size=20000)
    ]
    _replace(UsageWeekly, ["asset_id", "week", "kind", "count"], rows)
    return len(rows)


def _as_date(value) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value.date() if isinstance(value, datetime) else value


def _insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """Plain multi-row INSERTs: rollups write hundreds of thousands of rows, and the ORM's
    bulk_create spends more time preparing them than the database spends storing them."""
    if not rows:
        return
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(columns))
    names = ", ".join(quote(c) for c in columns)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


USAGE_KIND_FIELDS = {
    EventKind.VIEWED: "views",
    EventKind.DOWNLOADED: "downloads",
    EventKind.SHARED: "shares",
    EventKind.BUYER_OPENED: "buyer_opens",
    EventKind.USED_IN_DEAL: "used_in_deal",
    EventKind.PRESENTED: "presented",
}


def usage_totals(since: date | None) -> dict[int, dict]:
    """Per asset: event counts per kind, distinct reps and distinct deals since ``since``."""
    events = UsageEvent.objects.filter(asset__isnull=False)
    if since:
        start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
        events = events.filter(occurred_at__gte=start)
    usage: dict[int, dict] = defaultdict(lambda: dict.fromkeys(selectors.USAGE_FIELDS, 0))
    for row in events.values("asset_id", "kind").annotate(n=Count("id")):
        usage[row["asset_id"]][USAGE_KIND_FIELDS[row["kind"]]] = row["n"]
    distinct = events.values("asset_id").annotate(
        reps=Count("user_id", distinct=True), deals=Count("deal_id", distinct=True)
    )
    for row in distinct:
        usage[row["asset_id"]]["distinct_reps"] = row["reps"]
        usage[row["asset_id"]]["distinct_deals"] = row["deals"]
    return usage


# --- Per-asset stats, overview, heat map, search gaps --------------------------------------


def rebuild_asset_stats() -> int:
    live_ids = set(AssetPage.objects.live().values_list("pk", flat=True))
    rows = []
    for window in selectors.WINDOWS:
        since = selectors.window_start(window)
        effect = selectors.asset_effectiveness(since=since)
        usage = usage_totals(since)
        for asset_id in live_ids | set(effect) | set(usage):
            data = selectors.empty_asset_numbers()
            data.update(effect.get(asset_id, {}))
            data.update(usage.get(asset_id, {}))
            rows.append(
                AssetStats(
                    asset_id=asset_id,
                    window=window,
                    data=data,
                    deals_used=data["deals_used"],
                    win_rate=data["win_rate"],
                    lift=data["lift"],
                    lift_ci_low=data["lift_ci_low"],
                    influenced_revenue=data["influenced_revenue"],
                )
            )
    with transaction.atomic():
        AssetStats.objects.all().delete()
        AssetStats.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def rebuild_snapshots() -> None:
    now = timezone.now()
    rows = []
    for window in selectors.WINDOWS:
        since = selectors.window_start(window)
        overview = overview_numbers(since)
        overview["top_asset_uses"] = max(
            (selectors._uses(s.data) for s in AssetStats.objects.filter(window=window)),
            default=0,
        )
        rows.append(RollupSnapshot(key="overview", window=window, data=overview, computed_at=now))
        rows.append(
            RollupSnapshot(key="heatmap", window=window, data=heatmap(since), computed_at=now)
        )
    rows.append(
        RollupSnapshot(key="search_gaps", window="90d", data=search_gaps(), computed_at=now)
    )
    with transaction.atomic():
        RollupSnapshot.objects.all().delete()
        RollupSnapshot.objects.bulk_create(rows)


def overview_numbers(since: date | None) -> dict:
    """Closed deals in scope split by "used content" (at least one touch) or not:
    ``win_rate_with_content`` and ``win_rate_without_content`` (won / closed of each group),
    ``influenced_revenue`` (won amount of deals with a touch), ``won_revenue`` (all won)."""
    scope = selectors.closed_deals_filter(since=since)
    touched = DealAssetTouch.objects.values("deal_id")
    deals = Deal.objects.filter(scope)
    with_content = deals.filter(pk__in=touched)
    without = deals.exclude(pk__in=touched)

    def split(queryset):
        row = queryset.aggregate(
            n=Count("id"),
            w=Count("id", filter=Q(outcome=Deal.Outcome.WON)),
        )
        return row["n"], row["w"]

    n_with, w_with = split(with_content)
    n_without, w_without = split(without)
    revenue = with_content.filter(outcome=Deal.Outcome.WON).values_list("amount", flat=True)
    won_all = deals.filter(outcome=Deal.Outcome.WON).values_list("amount", flat=True)
    lift = stats.newcombe_difference(w_with, n_with, w_without, n_without)
    return {
        "closed_deals": n_with + n_without,
        "deals_with_content": n_with,
        "deals_without_content": n_without,
        "win_rate_with_content": stats.win_rate(w_with, n_with - w_with),
        "win_rate_without_content": stats.win_rate(w_without, n_without - w_without),
        "lift": lift.lift if lift else None,
        "lift_ci_low": lift.low if lift else None,
        "lift_ci_high": lift.high if lift else None,
        "influenced_revenue": float(sum(revenue)),
        "won_revenue": float(sum(won_all)),
    }


def heatmap(since: date | None) -> dict:
    """Per journey stage x pillar cell: the live assets tagged with both, and over closed
    deals in scope the deals that used any of them (``deals_used``, ``won``, ``win_rate``),
    the stage-matched baseline (closed deals that reached the cell's stage and used none of
    them) and the Newcombe lift interval. ``enough_data`` as for assets."""
    from django.conf import settings

    scope = selectors.closed_deals_filter(since=since)
    totals = selectors.stage_totals(scope)
    deal_info = dict(Deal.objects.filter(scope).values_list("pk", "reached_stage_order").iterator())
    won_ids = set(Deal.objects.filter(scope, outcome=Deal.Outcome.WON).values_list("pk", flat=True))
    deals_by_asset: dict[int, set[int]] = defaultdict(set)
    touches = DealAssetTouch.objects.filter(
        selectors.closed_deals_filter(since=since, prefix="deal__")
    )
    for deal_id, asset_id in touches.values_list("deal_id", "asset_id").iterator():
        deals_by_asset[asset_id].add(deal_id)
    stages = list(BuyerStage.objects.order_by("sort_order", "name"))
    pillars = list(Pillar.objects.order_by("sort_order", "name"))
    tags = _asset_tags()
    cells = []
    for stage in stages:
        for pillar in pillars:
            assets = [a for a, (s, p) in tags.items() if stage.pk in s and pillar.pk in p]
            used = set().union(*(deals_by_asset.get(a, set()) for a in assets))
            cells.append(_cell(stage, pillar, assets, used, won_ids, deal_info, totals, settings))
    return {
        "stages": [{"id": s.pk, "name": s.name} for s in stages],
        "pillars": [{"id": p.pk, "name": p.name} for p in pillars],
        "cells": cells,
    }


def _cell(stage, pillar, assets, used, won_ids, deal_info, totals, settings) -> dict:
    won = len(used & won_ids)
    reached_users = [d for d in used if deal_info.get(d, -1) >= stage.sort_order]
    all_n, all_w = selectors.reached(totals, stage.sort_order)
    base_n = all_n - len(reached_users)
    base_w = all_w - len(set(reached_users) & won_ids)
    lift = stats.newcombe_difference(won, len(used), base_w, base_n)
    minimum = settings.ANALYTICS_MIN_DEALS
    return {
        "stage": stage.pk,
        "pillar": pillar.pk,
        "assets": len(assets),
        "deals_used": len(used),
        "won": won,
        "win_rate": stats.win_rate(won, len(used) - won),
        "baseline_win_rate": stats.win_rate(base_w, base_n - base_w),
        "lift": lift.lift if lift else None,
        "lift_ci_low": lift.low if lift else None,
        "lift_ci_high": lift.high if lift else None,
        "enough_data": len(used) >= minimum and base_n >= minimum,
    }


def _asset_tags() -> dict[int, tuple[set[int], set[int]]]:
    tags: dict[int, tuple[set[int], set[int]]] = {}
    live = AssetPage.objects.live().filter(archived=False)
    for asset_id, stage_id in live.values_list("pk", "stages"):
        tags.setdefault(asset_id, (set(), set()))[0].add(stage_id)
    for asset_id, pillar_id in live.values_list("pk", "pillars"):
        tags.setdefault(asset_id, (set(), set()))[1].add(pillar_id)
    return tags


def search_gaps(days: int = 90, limit: int = 50) -> dict:
    """Top normalised queries of the last ``days`` that found nothing (``zero_results``) and
    that found something nobody clicked (``no_click``), most frequent first
    (``search.selectors.search_gaps``)."""
    return search_selectors.search_gaps(since=timezone.now() - timedelta(days=days), limit=limit)
