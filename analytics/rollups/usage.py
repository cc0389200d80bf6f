"""Usage rollups: events per asset, day and kind (``UsageDaily``), the last day each rep and
each deal used an asset (``AssetReach``), and from them the per-window usage numbers of the
dashboard (``AssetUsage``). Views and downloads are usage, not touches; usage counts every event
of the asset, whatever its deal's state.

The two events rollups are additive: a step adds the counts of the new events (and keeps the
later day), in the transaction that moves the fill state, so no event is counted twice; it
aggregates on the database (``INSERT ... SELECT ... ON CONFLICT``), so the events never come
into Python. The same transaction records what moved (``UsageChange``: views of an asset on a
day, a rep's last day moving from one day to another), so ``AssetUsage`` adds those changes to
its per-window numbers instead of reading every row again; on a new day (the windows move), or
after a rebuild, it is recomputed whole.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Max, Q, Sum

from analytics.models import (
    AssetReach,
    AssetUsage,
    EventKind,
    UsageChange,
    UsageDaily,
    UsageEvent,
)
from analytics.rollups import derived, sql
from analytics.rollups.writes import Writes
from analytics.scope import window_starts

DAILY = UsageDaily._meta.db_table
REACH = AssetReach._meta.db_table
CHANGES = UsageChange._meta.db_table
STEP_ROWS = 2000  # rows per write transaction of a rebuild
UPDATE_ASSETS = 10_000  # changes to more assets than this: recompute AssetUsage whole

USAGE_KIND_FIELDS = {
    EventKind.VIEWED: "views",
    EventKind.DOWNLOADED: "downloads",
    EventKind.SHARED: "shares",
    EventKind.BUYER_OPENED: "buyer_opens",
    EventKind.USED_IN_DEAL: "used_in_deal",
    EventKind.PRESENTED: "presented",
}
REACH_FIELDS = {"rep": "distinct_reps", "deal": "distinct_deals"}
USAGE_FIELDS = (*USAGE_KIND_FIELDS.values(), *REACH_FIELDS.values())


def _events(upto: int):
    return UsageEvent.objects.filter(asset__isnull=False, id__lte=upto)


def _daily(upto: int) -> dict[tuple, int]:
    """Every event's count per (asset, day, kind), for a rebuild."""
    grouped = (
        _events(upto)
        .annotate(day=sql.day_expression())
        .values("asset_id", "day", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        (row["asset_id"], sql.as_date(row["day"]), row["kind"]): row["n"]
        for row in grouped.iterator(chunk_size=20000)
    }


def _reach(upto: int) -> dict[tuple, object]:
    """Every (asset, rep or deal)'s last day, for a rebuild."""
    found = {}
    for actor, column in (("rep", "user_id"), ("deal", "deal_id")):
        grouped = (
            _events(upto)
            .filter(**{f"{column}__isnull": False})
            .values("asset_id", column)
            .annotate(last=Max(sql.day_expression()))
            .order_by()
        )
        for row in grouped.iterator(chunk_size=20000):
            found[(row["asset_id"], actor, row[column])] = sql.as_date(row["last"])
    return found


def _upserts(table, keys, column, types, rows: dict):
    """Steps writing ``rows`` (key tuple -> value) by upsert, STEP_ROWS per step."""
    items = sql.adapt(types, [(*key, value) for key, value in sorted(rows.items())])
    return [
        lambda part=items[start : start + STEP_ROWS]: sql.upsert_rows(table, keys, [column], part)
        for start in range(0, len(items), STEP_ROWS)
    ]


DAILY_KEYS, DAILY_TYPES = ("asset_id", "day", "kind"), ("int", "date", "str", "int")
REACH_KEYS, REACH_TYPES = ("asset_id", "actor", "actor_id"), ("int", "str", "int", "date")


def daily_step(ctx, after: int, upto: int):
    """The new events' counts added to their rows, and recorded as changes, by statements
    that aggregate on the database: the events never come into Python."""
    day = sql.day_sql("occurred_at")
    new = (
        f"FROM {sql.quote(UsageEvent._meta.db_table)} "  # noqa: S608 - model names only
        "WHERE id > %s AND id <= %s AND asset_id IS NOT NULL"
    )
    kinds = list(USAGE_KIND_FIELDS)
    field = "CASE kind " + " ".join(["WHEN %s THEN %s"] * len(kinds)) + " END"
    record = (
        f"INSERT INTO {sql.quote(CHANGES)} (asset_id, field, old_day, new_day, count) "  # noqa: S608
        f"SELECT asset_id, {field}, NULL, {day}, COUNT(*) {new} "
        f"AND kind IN ({', '.join(['%s'] * len(kinds))}) GROUP BY asset_id, kind, {day}"
    )
    add = (
        f"INSERT INTO {sql.quote(DAILY)} (asset_id, day, kind, count) "  # noqa: S608
        f"SELECT asset_id, {day}, kind, COUNT(*) {new} GROUP BY asset_id, {day}, kind "
        f"ON CONFLICT (asset_id, day, kind) "
        f"DO UPDATE SET count = {sql.quote(DAILY)}.count + EXCLUDED.count"
    )
    pairs = [value for kind in kinds for value in (kind, USAGE_KIND_FIELDS[kind])]
    writes = Writes()

    def write():
        sql.execute(record, [*pairs, after, upto, *kinds])
        writes.rows = sql.execute(add, [after, upto])
        writes.changed = writes.rows > 0

    writes.steps.append(write)
    return writes


def reach_step(ctx, after: int, upto: int):
    """The later day of each rep and deal with a new event, and the moves it makes recorded
    as changes (a rep first seen, or seen on a later day), by statements on the database.
    The stored day of each pair is probed through the table's unique index."""
    writes = Writes()
    statements = []  # per actor: the changes recorded, then the later days written
    for actor, column in (("rep", "user_id"), ("deal", "deal_id")):
        latest = (
            f"SELECT asset_id, {column} AS actor_id, "  # noqa: S608 - model names only
            f"MAX({sql.day_sql('occurred_at')}) AS day "
            f"FROM {sql.quote(UsageEvent._meta.db_table)} "
            f"WHERE id > %s AND id <= %s AND asset_id IS NOT NULL AND {column} IS NOT NULL "
            f"GROUP BY asset_id, {column}"
        )
        stored = (
            f"SELECT r.last_day FROM {sql.quote(REACH)} r "  # noqa: S608 - model names only
            "WHERE r.asset_id = n.asset_id AND r.actor = %s AND r.actor_id = n.actor_id"
        )
        record = (
            f"INSERT INTO {sql.quote(CHANGES)} (asset_id, field, old_day, new_day, count) "  # noqa: S608
            f"SELECT asset_id, %s, old, day, COUNT(*) FROM "
            f"(SELECT n.asset_id, n.day, ({stored}) AS old FROM ({latest}) n) m "
            "WHERE old IS NULL OR old < day GROUP BY asset_id, old, day"
        )
        later = (
            f"INSERT INTO {sql.quote(REACH)} (asset_id, actor, actor_id, last_day) "  # noqa: S608
            f"SELECT asset_id, %s, actor_id, day FROM ({latest}) n WHERE true "
            "ON CONFLICT (asset_id, actor, actor_id) DO UPDATE SET last_day = EXCLUDED.last_day "
            f"WHERE EXCLUDED.last_day > {sql.quote(REACH)}.last_day"
        )
        statements.append(
            ((record, [REACH_FIELDS[actor], actor, after, upto]), (later, [actor, after, upto]))
        )

    def write():
        for record, later in statements:
            sql.execute(*record)
            writes.rows += sql.execute(*later)
        writes.changed = writes.rows > 0

    writes.steps.append(write)
    return writes


def _reset_changes() -> None:
    """A rebuilt table records no changes: ``asset_usage`` must recompute whole."""
    UsageChange.objects.create(field=UsageChange.RESET)


def daily_rebuild(ctx, upto: int):
    current = {
        (a, d, k): n
        for a, d, k, n in UsageDaily.objects.values_list("asset_id", "day", "kind", "count")
    }
    return _reconcile(DAILY, DAILY_KEYS, "count", DAILY_TYPES, current, _daily(upto))


def reach_rebuild(ctx, upto: int):
    current = {
        (a, actor, i): d
        for a, actor, i, d in AssetReach.objects.values_list(
            "asset_id", "actor", "actor_id", "last_day"
        )
    }
    return _reconcile(REACH, REACH_KEYS, "last_day", REACH_TYPES, current, _reach(upto))


def _reconcile(table, keys, column, types, current: dict, wanted: dict):
    write, delete = sql.diff(current, wanted)
    steps = _upserts(table, keys, column, types, write)
    gone = sql.adapt(types[: len(keys)], sorted(delete))
    steps += [
        lambda part=gone[start : start + STEP_ROWS]: sql.delete_keys(table, keys, part)
        for start in range(0, len(gone), STEP_ROWS)
    ]
    return Writes(
        steps=[_reset_changes, *steps], changed=bool(write or delete), rows=len(write) + len(delete)
    )


# --- Per window ---------------------------------------------------------------------------


def usage_numbers(today, windows: dict[str, object]) -> dict[tuple[int, str], dict]:
    """``(asset_id, window) -> {USAGE_FIELDS}`` for every asset with any event: counts of
    events since each window's start, and of reps and deals with an event since then."""
    numbers: dict[tuple[int, str], dict] = defaultdict(lambda: dict.fromkeys(USAGE_FIELDS, 0))

    def since(window):
        start = windows[window]
        return Q() if start is None else Q(day__gte=start)

    def reached(window):
        start = windows[window]
        return Q() if start is None else Q(last_day__gte=start)

    daily = UsageDaily.objects.values("asset_id", "kind").annotate(
        **{f"n_{w}": Sum("count", filter=since(w)) for w in windows}
    )
    for row in daily.order_by():
        for window in windows:
            field = USAGE_KIND_FIELDS.get(row["kind"])
            if field:
                numbers[(row["asset_id"], window)][field] = row[f"n_{window}"] or 0
    reach = AssetReach.objects.values("asset_id", "actor").annotate(
        **{f"n_{w}": Count("id", filter=reached(w)) for w in windows}
    )
    for row in reach.order_by():
        for window in windows:
            numbers[(row["asset_id"], window)][REACH_FIELDS[row["actor"]]] = row[f"n_{window}"]
    return dict(numbers)


def asset_usage_compute(ctx):
    """Every asset's numbers from all ``UsageDaily`` and ``AssetReach`` rows; the changes
    recorded until now are then part of them."""
    last = UsageChange.objects.order_by("-id").values_list("id", flat=True).first()
    wanted = usage_numbers(ctx.today, window_starts(ctx.today))
    writes = derived.table_writes(AssetUsage, wanted)
    if last is not None:
        writes.steps.append(lambda: UsageChange.objects.filter(id__lte=last).delete())
    return writes


def asset_usage_update(ctx):
    """The stored numbers plus the changes recorded since (the windows' start days must be the
    ones they were computed for); None when a rebuild asks for a whole recompute."""
    changes = list(
        UsageChange.objects.order_by("id").values_list(
            "id", "asset_id", "field", "old_day", "new_day", "count"
        )
    )
    if not changes:
        return Writes()
    if any(field == UsageChange.RESET for _, _, field, *_ in changes):
        return None
    assets = {asset_id for _, asset_id, *_ in changes}
    if len(assets) > UPDATE_ASSETS:
        return None
    windows = window_starts(ctx.today)
    current = derived.table_rows(AssetUsage, only=assets)
    numbers = {key: dict(data) for key, (_, data) in current.items()}

    def inside(day, start) -> bool:
        return day is not None and (start is None or day >= start)

    for _, asset_id, field, old, new, count in changes:
        for window, start in windows.items():
            data = numbers.setdefault((asset_id, window), dict.fromkeys(USAGE_FIELDS, 0))
            data[field] += count * (inside(new, start) - inside(old, start))
    writes = derived.table_writes(AssetUsage, numbers, only=assets, current=current)
    last = changes[-1][0]
    writes.steps.append(lambda: UsageChange.objects.filter(id__lte=last).delete())
    return writes
