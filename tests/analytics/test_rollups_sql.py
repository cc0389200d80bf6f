"""The plain-statement helpers rollups write and read through give the ORM's values: rows read
in bulk (binary on PostgreSQL) carry the same instants and numbers, and a derived table is
brought to exactly the wanted rows, writing only those that differ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from accounts.roles import ENABLEMENT_LEAD
from analytics.models import AssetUsage, UsageEvent
from analytics.rollups import derived, sql
from analytics.usage import EventInput, usage_record_batch
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


def test_rows_read_in_bulk_are_the_orm_values():
    asset = make_asset("Pricing deck")
    berlin = timezone(timedelta(hours=2))
    times = [
        datetime(2024, 5, 20, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 5, 21, 1, 30, 0, 123456, tzinfo=berlin),  # 23:30 the day before, UTC
        datetime(1999, 12, 31, 0, 0, 0, 1, tzinfo=UTC),
    ]
    events = [
        EventInput(idempotency_key=f"e{n}", kind="asset_viewed", asset_id=asset.pk, occurred_at=t)
        for n, t in enumerate(times[:2])
    ]
    lead = make_user(role=ENABLEMENT_LEAD)  # a backfill: a rep's own events go back 24 h
    assert usage_record_batch(events=events, user=lead).stored == 2
    # Before PostgreSQL's binary epoch (2000-01-01: a negative count), which the events API
    # refuses (EVENT_EARLIEST) but older data may hold: stored through the ORM.
    UsageEvent.objects.create(
        idempotency_key="e2", kind="asset_viewed", asset=asset, occurred_at=times[2]
    )
    columns = UsageEvent.objects.order_by("id").values_list(
        "id", "asset_id", "occurred_at", "deal_id"
    )
    millis = UsageEvent.objects.order_by("id").annotate(ms=sql.epoch_ms(UsageEvent, "occurred_at"))

    read = [(i, a, sql.as_datetime(t), d) for i, a, t, d in sql.raw_rows(columns)]

    assert read == list(columns)
    assert [sql.as_datetime(t) for _, _, t, _ in read] == times  # the same instants
    assert all(t.utcoffset() == timedelta(0) for _, _, t, _ in read)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    # Whole milliseconds, exactly: the estimator compares differences of these times.
    expected = [round((t - epoch) / timedelta(milliseconds=1)) for t in times]
    assert [v for (v,) in sql.raw_rows(millis.values_list("ms"))] == expected


def test_a_derived_table_gets_exactly_the_wanted_rows():
    def fill(wanted, **options):
        writes = derived.table_writes(AssetUsage, wanted, **options)
        for step in writes.steps:
            step()
        return writes

    def stored():
        return {(r.asset_id, r.window): r.data for r in AssetUsage.objects.all()}

    first = {(1, "90d"): {"views": 2, "by": ["a", "b"]}, (2, "all"): {"views": 5}}
    assert fill(first).rows == 2
    assert stored() == {(1, "90d"): {"views": 2, "by": ["a", "b"]}, (2, "all"): {"views": 5}}
    untouched = AssetUsage.objects.get(asset_id=2).pk

    assert not fill(first).changed  # nothing differs: nothing written

    assert fill({(1, "90d"): {"views": 3, "by": ["a", "b"]}}, only=[1]).rows == 1
    assert stored() == {(1, "90d"): {"views": 3, "by": ["a", "b"]}, (2, "all"): {"views": 5}}
    assert AssetUsage.objects.get(asset_id=2).pk == untouched  # an equal row is not rewritten

    assert fill({(2, "all"): {"views": 5}}).changed  # asset 1's row is gone
    assert stored() == {(2, "all"): {"views": 5}}
