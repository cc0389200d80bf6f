"""Writers never wait on a refresh: while a full rebuild runs (the longest refresh there is),
the events API and the app's own events keep succeeding, on SQLite (WAL, one writer at a
time) and PostgreSQL (DATABASE_URL). Latency targets live in the benchmark (`make bench
BENCH_ARGS=analytics`); here every write must succeed, none may be lost, and the writes must
really overlap the refresh."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.models import Deal, DealStageChange, EventKind, FillState, UsageEvent
from analytics.refresh import analytics_refresh
from analytics.services import api_key_create
from cms.models import BuyerStage
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 3


def _load(assets, deals: int = 400, events: int = 30_000) -> None:
    """Deals with history and events written directly (fast), so the rebuild has work."""
    rng = random.Random(5)
    stages = list(BuyerStage.objects.order_by("sort_order"))[:3]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    Deal.objects.bulk_create(
        Deal(
            external_id=f"CC{n}",
            stage="Closed Won" if n % 3 else "Closed Lost",
            outcome="won" if n % 3 else "lost",
            close_date=(start + timedelta(days=60 + n % 30)).date(),
            segment=rng.choice(["SMB", "Enterprise"]),
        )
        for n in range(deals)
    )
    ids = list(Deal.objects.values_list("pk", flat=True))
    DealStageChange.objects.bulk_create(
        DealStageChange(
            deal_id=deal_id,
            stage=stage.crm_stages()[0],
            journey_stage=stage,
            entered_at=start + timedelta(days=10 * index + deal_id % 7),
        )
        for deal_id in ids
        for index, stage in enumerate(stages)
    )
    kinds = [EventKind.USED_IN_DEAL, EventKind.VIEWED, EventKind.SHARED]
    UsageEvent.objects.bulk_create(
        (
            UsageEvent(
                idempotency_key=f"load-{n}",
                kind=kinds[n % 3],
                asset=assets[n % len(assets)],
                deal_id=ids[n % len(ids)],
                occurred_at=start + timedelta(hours=n % 2000),
            )
            for n in range(events)
        ),
        batch_size=5000,
    )


def _post(client, key, keys, asset):
    body = {
        "events": [
            {"idempotency_key": k, "kind": "asset_presented", "asset_id": asset.pk} for k in keys
        ]
    }
    return client.post(
        "/api/v1/events",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_events_api_and_app_events_succeed_throughout_a_full_rebuild():
    assets = [make_asset(f"Asset {n}") for n in range(3)]
    _load(assets)
    key = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="collector")[1]
    rep = make_user(role=REP)
    FillState.objects.all().delete()  # a rebuild from nothing: the longest refresh
    started, finished = threading.Event(), threading.Event()
    refresh_end = [float("inf")]
    results: list[tuple[str, int, float, float]] = []
    failures: list[str] = []

    def refresh():
        try:
            started.set()
            analytics_refresh(full=True)
        except Exception as error:  # reported below
            failures.append(repr(error))
        finally:
            refresh_end[0] = time.monotonic()
            finished.set()
            connection.close()

    def writer(number: int):
        client = Client()
        viewer = Client()
        viewer.force_login(rep)
        started.wait(30)
        batch = 0
        try:
            while not finished.is_set() or batch < 5:
                keys = [f"w{number}-{batch}-{i}" for i in range(50)]
                begun = time.monotonic()
                status = _post(client, key, keys, assets[number]).status_code
                results.append(("api", status, begun, time.monotonic()))
                begun = time.monotonic()
                status = viewer.get(assets[number].url).status_code
                results.append(("view", status, begun, time.monotonic()))
                batch += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh)]
    threads += [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert failures == []
    assert {status for _, status, _, _ in results} == {200}, sorted({s for _, s, _, _ in results})
    api = [r for r in results if r[0] == "api"]
    stored = UsageEvent.objects.filter(idempotency_key__startswith="w").count()
    assert stored == 50 * len(api)  # none lost
    views = UsageEvent.objects.filter(kind=EventKind.VIEWED, user=rep).count()
    assert views == len([r for r in results if r[0] == "view"])  # none spooled or lost
    during = [r for r in api if r[3] < refresh_end[0]]
    assert len(during) >= WRITERS, "the writes did not overlap the refresh"
    assert FillState.objects.filter(state=FillState.STARTED).count() == 0
