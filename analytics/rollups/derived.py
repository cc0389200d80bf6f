"""Writing derived rollups: small tables recomputed whole, of which only the rows that differ
are written, in the one transaction that also records the fill state."""

from __future__ import annotations

import json

from django.utils import timezone

from analytics.models import RollupSnapshot
from analytics.rollups import sql
from analytics.rollups.writes import Writes


def table_rows(model, *, only=None) -> dict[tuple[int, str], tuple[int, dict]]:
    """``(asset_id, window) -> (pk, data)`` of ``model``'s rows: all, or those of the assets
    ``only`` names."""
    rows = model.objects.values_list("pk", "asset_id", "window", "data")
    if only is not None:
        rows = rows.filter(asset_id__in=only)
    return {(asset_id, window): (pk, data) for pk, asset_id, window, data in rows}


def table_writes(model, wanted: dict[tuple[int, str], dict], *, only=None, current=None, **columns):
    """Rows ``(asset_id, window) -> data`` for ``model`` (AssetUsage, AssetStats): all its
    rows, or those of the assets ``only`` names (``wanted`` then names only those).
    ``current``: those rows as ``table_rows`` read them, when the caller has them already.
    Extra ``columns`` are functions of the data (e.g. ``verdict=lambda data:
    data["verdict"]``). Rows that differ are deleted and inserted again, in bulk
    (``sql.insert_rows``)."""
    texts = {key: json.dumps(data, default=str) for key, data in wanted.items()}
    wanted = {key: json.loads(text) for key, text in texts.items()}  # as it reads back
    if current is None:
        current = table_rows(model, only=only)
    stale = [pk for key, (pk, data) in current.items() if wanted.get(key) != data]
    fresh = [
        (asset_id, window, texts[(asset_id, window)], *(make(data) for make in columns.values()))
        for (asset_id, window), data in wanted.items()
        if (asset_id, window) not in current or current[(asset_id, window)][1] != data
    ]
    table = model._meta.db_table

    def write():
        sql.delete_in(table, model._meta.pk.column, stale)
        sql.insert_rows(table, ("asset_id", "window", "data", *columns), fresh)

    changed = bool(stale or fresh)
    return Writes(steps=[write] if changed else [], changed=changed, rows=len(fresh))


def snapshot_writes(key: str, per_window: dict[str, dict]):
    """The snapshot ``key`` for each window; windows no longer listed are removed."""
    per_window = {window: plain(data) for window, data in per_window.items()}
    current = {row.window: row for row in RollupSnapshot.objects.filter(key=key)}
    changed = set(current) != set(per_window) or any(
        current[w].data != data for w, data in per_window.items() if w in current
    )

    def write():
        now = timezone.now()
        RollupSnapshot.objects.filter(key=key).delete()
        RollupSnapshot.objects.bulk_create(
            RollupSnapshot(key=key, window=window, data=data, computed_at=now)
            for window, data in per_window.items()
        )

    return Writes(
        steps=[write] if changed else [], changed=changed, rows=len(per_window) if changed else 0
    )


def plain(data: dict) -> dict:
    """``data`` as it reads back from a JSON column (tuples become lists, keys text), so a
    recomputed row compares equal to the stored one when nothing changed."""
    return json.loads(json.dumps(data, default=str))
