"""The usage event table keeps only the indexes its hot reads use, and those reads use them.

Ingestion pays for every index with a page per event in the write-ahead log, so the table
has no index on the asset (deleting an asset scans to null its events) and events with no
deal stay out of the (deal, occurred_at) index. The reads that rebuild a closed deal's
touches and fill the deal panel must still find that partial index: a query the planner
cannot prove to exclude events without a deal would scan every event instead.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection, transaction

from accounts.roles import ENABLEMENT_LEAD
from analytics.deal_panel import deal_touches
from analytics.models import UsageEvent
from analytics.rollups.touches import deal_touch_events
from tests.analytics.helpers import send_events, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


def test_deal_reads_use_the_partial_deal_index():
    asset = make_asset("Pricing deck")
    deal = walk_deal("X1", ["discover", "won"])
    result = send_events(
        ("with-deal", "asset_shared", asset, "X1", date(2024, 5, 20)),
        ("without-deal", "asset_shared", asset, "", date(2024, 5, 21)),
    )
    assert result.stored == 2, result.errors

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A tiny table is cheaper to scan; forbidding that makes the plan show the
            # index whenever the index can serve the query at all.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
        recompute = deal_touch_events([deal.pk], upto=10**9)
        panel = deal_touches(user=make_user(role=ENABLEMENT_LEAD), deal=deal)

        assert "analytics_event_deal_time" in recompute.explain()
        assert "analytics_event_deal_time" in panel.explain()
        assert [event.idempotency_key for event in panel] == ["with-deal"]


def test_events_carry_only_the_indexes_hot_reads_use():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "analytics_usageevent")
    indexed = {
        tuple(item["columns"])
        for item in constraints.values()
        if item["index"] or item["unique"] or item["primary_key"]
    }
    assert indexed == {("id",), ("sender", "idempotency_key"), ("deal_id", "occurred_at")}


def test_deleting_an_asset_keeps_its_events_without_the_asset():
    asset, other = make_asset("Old deck"), make_asset("New deck")
    walk_deal("X1", ["discover", "won"])
    result = send_events(
        ("old-1", "asset_shared", asset, "X1", date(2024, 5, 20)),
        ("old-2", "asset_viewed", asset, "", date(2024, 5, 21)),
        ("new-1", "asset_shared", other, "X1", date(2024, 5, 22)),
    )
    assert result.stored == 3, result.errors

    asset.delete()

    kept = dict(UsageEvent.objects.values_list("idempotency_key", "asset_id"))
    assert kept == {"old-1": None, "old-2": None, "new-1": other.pk}
