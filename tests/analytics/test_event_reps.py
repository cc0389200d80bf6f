"""Who acted: a user's events (a session, a personal key) are theirs; an integration key's
event is the rep its ``rep`` names, or no rep's. The key's owner (an admin) is never counted
as a rep of an integration's events."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.test import Client

from accounts.roles import ADMIN, ENABLEMENT_LEAD, REP
from analytics.models import ApiKey, UsageEvent
from analytics.services import api_key_create
from tests.analytics.helpers import refresh
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


def _post(key, *events):
    return Client().post(
        "/api/v1/events",
        json.dumps({"events": list(events)}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def _viewed(key, asset, **extra):
    return {"idempotency_key": key, "kind": "asset_viewed", "asset_id": asset.pk, **extra}


@pytest.fixture
def integration():
    """A collector's key, made by an admin."""
    owner = make_user("it-admin", role=ADMIN)
    return api_key_create(user=owner, name="collector", scope=ApiKey.Scope.INTEGRATION)[1]


def _lead() -> Client:
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


def _usage(asset) -> dict:
    """The asset's all-time row of the dashboard's API, after a refresh."""
    refresh()
    body = _lead().get("/api/v1/analytics/assets?window=all").json()
    return next(row for row in body["assets"] if row["asset_id"] == asset.pk)


def _exported_users() -> dict[str, str]:
    today = date.today().isoformat()
    response = _lead().get(f"/analytics/export/?what=events&start=2000-01-01&end={today}")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return {row["idempotency_key"]: row["user"] for row in csv.DictReader(io.StringIO(body))}


def test_an_integration_event_naming_a_rep_counts_for_that_rep(integration):
    asset = make_asset("Deck")
    dana = make_user("dana", role=REP, first_name="Dana", last_name="Reyes")
    response = _post(
        integration,
        _viewed("v-1", asset, rep="dana"),
        _viewed("v-2", asset, rep="DANA@example.com"),
        _viewed("v-3", asset, rep="Dana Reyes"),
    )
    assert response.status_code == 200 and response.json()["stored"] == 3
    row = _usage(asset)
    assert (row["views"], row["distinct_reps"]) == (3, 1)
    assert set(UsageEvent.objects.values_list("user", flat=True)) == {dana.pk}
    assert _exported_users() == {"v-1": "dana", "v-2": "dana", "v-3": "dana"}


def test_an_integration_event_naming_no_rep_counts_no_rep(integration):
    asset = make_asset("Deck")
    assert _post(integration, _viewed("v-1", asset), _viewed("v-2", asset)).status_code == 200
    row = _usage(asset)
    assert (row["views"], row["distinct_reps"]) == (2, 0)  # not the admin who made the key
    assert _exported_users() == {"v-1": "", "v-2": ""}


def test_a_personal_key_and_a_session_keep_attributing_to_their_user():
    asset = make_asset("Deck")
    rep = make_user(role=REP)
    personal = api_key_create(user=rep, name="plugin")[1]
    assert _post(personal, _viewed("by-key", asset)).status_code == 200
    session = Client()
    session.force_login(rep)
    body = {"events": [_viewed("by-session", asset)]}
    response = session.post("/api/v1/events", json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert _usage(asset)["distinct_reps"] == 1
    assert set(UsageEvent.objects.values_list("user", flat=True)) == {rep.pk}


def test_an_unknown_or_inactive_rep_is_refused_naming_the_index_and_field(integration):
    asset = make_asset("Deck")
    make_user("gone", role=REP, is_active=False)
    response = _post(
        integration,
        _viewed("ok", asset),
        _viewed("unknown", asset, rep="nobody"),
        _viewed("inactive", asset, rep="gone"),
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "rep", "error": "no active user 'nobody'"},
        {"index": 2, "field": "rep", "error": "no active user 'gone'"},
    ]
    assert not UsageEvent.objects.exists()


def test_only_an_integration_key_names_a_rep():
    asset = make_asset("Deck")
    make_user("dana", role=REP)
    lead_key = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]
    response = _post(lead_key, _viewed("v-1", asset, rep="dana"))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["index"], error["field"]) == (0, "rep")
    assert not UsageEvent.objects.exists()
