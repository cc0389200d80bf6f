"""Only reps' use of an asset is usage: a content manager opening, downloading or following
an asset is reviewing it and records nothing (an outside audit: a marketer's and a lead's
look at an asset showed as "Views 2, Reps 2" and took it off "Not used yet")."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.test import Client

from accounts.roles import ADMIN, ENABLEMENT_LEAD, MARKETER, REP
from analytics.models import EventKind, UsageEvent
from tests.analytics.helpers import refresh, send_events
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _csv_row(asset) -> dict:
    """The asset's row of /analytics/assets.csv (all time), after a refresh."""
    refresh()
    response = _client(make_user(role=ENABLEMENT_LEAD)).get("/analytics/assets.csv?window=all")
    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    return next(row for row in rows if row["asset_id"] == str(asset.pk))


def _table_cells(asset) -> dict[str, str]:
    """The asset table's Views and Reps cells for ``asset``, as a lead sees them."""
    response = _client(make_user(role=ENABLEMENT_LEAD)).get("/analytics/assets/?window=all")
    body = response.content.decode()
    row = re.search(rf'<tr data-asset="{asset.pk}">(.*?)</tr>', body, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    headers = re.findall(r'<th scope="col"[^>]*><a [^>]*>([^<]*)</a></th>', body)
    return dict(zip(headers[1:], cells[1:], strict=True))  # after Asset and Verdict


def _not_used_yet() -> list[str]:
    response = _client(make_user(role=ENABLEMENT_LEAD)).get("/analytics/health/")
    return [asset["title"] for asset in response.context["health"]["not_used_yet"]]


@pytest.mark.parametrize("role", [MARKETER, ENABLEMENT_LEAD, ADMIN])
def test_a_content_managers_views_downloads_and_link_opens_record_nothing(role):
    deck = make_asset("Datasheet", document=make_document("data.txt", b"data"))
    video = make_asset("Demo video", asset_type="deck", external_url="https://example.com/v")
    client = _client(make_user(role=role))
    assert client.get(deck.url).status_code == 200
    assert client.get(f"/assets/{deck.pk}/download/").status_code == 200
    assert client.get(f"/assets/{video.pk}/open/").status_code == 302
    assert not UsageEvent.objects.exists()


def test_a_marketers_and_a_leads_views_are_not_counted_as_usage():
    asset = make_asset("Battlecard")
    for role in (MARKETER, ENABLEMENT_LEAD):
        assert _client(make_user(role=role)).get(asset.url).status_code == 200
    row = _csv_row(asset)
    assert (row["views"], row["distinct_reps"]) == ("0", "0")
    assert _table_cells(asset)["Views"] == "0" and _table_cells(asset)["Reps"] == "0"
    assert _not_used_yet() == ["Battlecard"]


def test_a_reps_view_is_counted_as_usage_in_the_asset_table():
    asset = make_asset("Battlecard")
    rep = make_user(role=REP)
    assert _client(rep).get(asset.url).status_code == 200
    assert _client(make_user(role=MARKETER)).get(asset.url).status_code == 200
    viewed = UsageEvent.objects.get()
    assert (viewed.kind, viewed.user) == (EventKind.VIEWED, rep)
    row = _csv_row(asset)
    assert (row["views"], row["distinct_reps"]) == ("1", "1")
    assert _table_cells(asset)["Views"] == "1" and _table_cells(asset)["Reps"] == "1"
    assert _not_used_yet() == []


def test_events_sent_through_the_api_are_stored_as_sent():
    """A lead's backfill (or an integration's events) records what happened as it was: the
    rule is about the app's own recording of a content manager's looks, not about the API."""
    asset = make_asset("Battlecard")
    lead = make_user(role=ENABLEMENT_LEAD)
    yesterday = date.today() - timedelta(days=1)
    result = send_events(("backfill-1", "asset_viewed", asset, "", yesterday), user=lead)
    assert result.stored == 1 and not result.errors
    assert _csv_row(asset)["views"] == "1"
