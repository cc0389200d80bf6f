"""Upgrading to per-sender idempotency keys (migrations 0019-0020): every stored event is kept,
each gets the sender that would send its key again, so a retry after the upgrade of an event
sent before it is still a duplicate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from accounts.roles import ADMIN, REP
from analytics.models import UsageEvent
from analytics.tokens import token_digest
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("analytics", "0018_field_material_title")]


def _at(day: int) -> datetime:
    return datetime(2026, 3, day, 12, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _retry(token: str, key: str, asset) -> tuple[int, int]:
    body = {"events": [{"idempotency_key": key, "kind": "asset_viewed", "asset_id": asset.pk}]}
    answer = (
        Client()
        .post(
            "/api/v1/events",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        .json()
    )
    return answer["stored"], answer["duplicates"]


def test_stored_events_keep_their_keys_under_the_sender_that_would_retry_them():
    asset = make_asset("Deck")
    collector, admin, rotating = (make_user(n, role=ADMIN) for n in ("collector", "boss", "rot"))
    rep, leaver = make_user("rep", role=REP), make_user("leaver", role=REP)
    old = _migrate(BEFORE)
    ApiKey = old.get_model("analytics", "ApiKey")
    OldEvent = old.get_model("analytics", "UsageEvent")

    def key(user, scope, created, revoked=None, token=""):
        made = ApiKey.objects.create(
            user_id=user.pk,
            name=scope,
            scope=scope,
            key_hash=token_digest(token or f"{user}-{scope}-{created}"),
        )
        ApiKey.objects.filter(pk=made.pk).update(created_at=_at(created), revoked_at=revoked)
        return made.pk

    only = key(collector, "integration", 2, token="ea_collector")
    key(admin, "integration", 2)
    key(admin, "personal", 2)
    first = key(rotating, "integration", 2, revoked=_at(10))
    second = key(rotating, "integration", 10)
    key(rep, "personal", 2, token="ea_rep")

    stored = [
        ("web-1", "web", rep, 5),
        ("share-1", "share", None, 5),
        ("demo-1", "demo", rep, 5),
        ("crm-1", "api", collector, 5),
        ("crm-0", "api", collector, 1),  # before the collector had a key: its session
        ("boss-1", "api", admin, 5),  # an integration and a personal key: which one?
        ("rot-1", "api", rotating, 5),
        ("rot-2", "api", rotating, 10),
        ("rep-1", "api", rep, 5),
        ("gone-1", "api", leaver, 5),
    ]
    for idempotency_key, source, user, day in stored:
        made = OldEvent.objects.create(
            idempotency_key=idempotency_key,
            kind="asset_viewed",
            asset_id=asset.pk,
            source=source,
            user_id=user.pk if user else None,
            occurred_at=_at(day),
        )
        OldEvent.objects.filter(pk=made.pk).update(received_at=_at(day))
    # the user model as it stood then: today's reaches tables that did not exist yet
    old.get_model("auth", "User").objects.filter(pk=leaver.pk).delete()

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    senders = dict(UsageEvent.objects.values_list("idempotency_key", "sender"))
    assert senders == {
        "web-1": "app",
        "share-1": "app",
        "demo-1": "demo",
        "crm-1": f"key:{only}",
        "crm-0": f"user:{collector.pk}",
        "boss-1": f"user:{admin.pk}",
        "rot-1": f"key:{first}",
        "rot-2": f"key:{second}",
        "rep-1": f"user:{rep.pk}",
        "gone-1": "legacy",
    }
    assert _retry("ea_collector", "crm-1", asset) == (0, 1)
    assert _retry("ea_rep", "rep-1", asset) == (0, 1)
    assert _retry("ea_rep", "crm-1", asset) == (1, 0)  # another sender's key: another event
    assert UsageEvent.objects.count() == len(stored) + 1
