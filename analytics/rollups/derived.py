"""Writing derived rollups: small tables recomputed whole, of which only the rows that differ
are written, in the one transaction that also records the fill state."""

from __future__ import annotations

import json

from django.utils import timezone

from analytics.models import RollupSnapshot
from analytics.rollups.writes import Writes


def table_writes(model, wanted: dict[tuple[int, str], dict], *, only=None, **columns):
    """Rows ``(asset_id, window) -> data`` for ``model`` (AssetUsage, AssetStats): all its
    rows, or those of the assets ``only`` names. Extra ``columns`` are functions of the data
    (e.g. ``verdict=lambda data: data["verdict"]``)."""
    wanted = {key: plain(data) for key, data in wanted.items()}
    rows = model.objects.only("asset_id", "window", "data")
    if only is not None:
        rows = rows.filter(asset_id__in=only)
    current = {(row.asset_id, row.window): row for row in rows}
    stale = [row.pk for key, row in current.items() if key not in wanted or row.data != wanted[key]]
    fresh = [
        model(
            asset_id=asset_id,
            window=window,
            data=data,
            **{name: make(data) for name, make in columns.items()},
        )
        for (asset_id, window), data in wanted.items()
        if (asset_id, window) not in current or current[(asset_id, window)].data != data
    ]

    def write():
        model.objects.filter(pk__in=stale).delete()
        model.objects.bulk_create(fresh, batch_size=1000)

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

    return Writes(steps=[write] if changed else [], changed=changed, rows=len(per_window))


def plain(data: dict) -> dict:
    """``data`` as it reads back from a JSON column (tuples become lists, keys text), so a
    recomputed row compares equal to the stored one when nothing changed."""
    return json.loads(json.dumps(data, default=str))
