"""Every deal picker a rep submits (the asset page's "Used in deal" and "Share with buyer on",
a search result's "Used in a deal?") starts on "Choose a deal…": the first (most recently
updated) deal was preselected, so one click attributed a use or a link to a deal the rep never
chose (outside audit), and deal touches drive the effectiveness estimates."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.roles import REP
from analytics.forms import DEAL_PLACEHOLDER
from analytics.models import EventKind, ShareLink, UsageEvent
from tests.analytics.helpers import walk_deal
from tests.factories import make_asset, make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

PLACEHOLDER = f'<option value="" selected>{DEAL_PLACEHOLDER}</option>'


def _rep_with_deals():
    rep = make_user(role=REP)
    walk_deal("006A", ["discover"], owner=rep.username)
    newest = walk_deal("006B", ["discover"], owner=rep.username)
    client = Client()
    client.force_login(rep)
    return rep, newest, client


def _select(html: str, select_id: str) -> str:
    start = html.index(f'id="{select_id}"')
    return html[html.rindex("<select", 0, start) : html.index("</select>", start)]


def test_the_asset_pages_deal_pickers_start_on_choose_a_deal_and_are_required():
    _, newest, client = _rep_with_deals()
    asset = make_asset("ROI calculator")
    html = client.get(asset.url).content.decode()
    for select_id in ("used-deal", "share-deal"):
        picker = _select(html, select_id)
        assert " required" in picker.split(">")[0], select_id
        assert picker.index(PLACEHOLDER) < picker.index(f'value="{newest.pk}"'), select_id
        assert picker.count(" selected") == 1, select_id


def test_recording_use_without_choosing_a_deal_records_nothing_and_names_the_field():
    _, _, client = _rep_with_deals()
    asset = make_asset("ROI calculator")
    page = client.post(f"/analytics/assets/{asset.pk}/used/", {"deal": ""}, follow=True)
    assert page.status_code == 200
    assert "Deal: choose one of your open deals; nothing was recorded." in page.content.decode()
    assert not UsageEvent.objects.filter(kind=EventKind.USED_IN_DEAL).exists()
    client.post(f"/analytics/assets/{asset.pk}/used/", {})  # no field at all: the same
    assert not UsageEvent.objects.filter(kind=EventKind.USED_IN_DEAL).exists()


def test_sharing_without_choosing_a_deal_makes_no_link_and_names_the_field():
    _, _, client = _rep_with_deals()
    asset = make_asset("ROI calculator")
    page = client.post(
        f"/analytics/assets/{asset.pk}/share/", {"deal": "", "recipient_note": "Dana"}, follow=True
    )
    assert "Deal: choose one of your open deals; no link was made." in page.content.decode()
    assert not ShareLink.objects.exists()


def test_another_reps_deal_is_still_refused_naming_the_field():
    _, _, client = _rep_with_deals()
    other = walk_deal("006Z", ["discover"], owner=make_user(role=REP).username)
    asset = make_asset("ROI calculator")
    page = client.post(f"/analytics/assets/{asset.pk}/used/", {"deal": other.pk}, follow=True)
    assert "Deal: pick one of your open deals" in page.content.decode()
    assert not UsageEvent.objects.exists()


@pytest.mark.usefixtures("active_engine")
def test_a_search_cards_deal_picker_starts_on_choose_a_deal_in_the_page_and_the_template():
    """The full page (no JavaScript) has a form per card; fetched results hold it once in a
    <template> search.js copies into a card: both start on the placeholder, required."""
    from search.services import index_rebuild

    _, newest, client = _rep_with_deals()
    make_asset("Payback calculator")
    index_rebuild()
    full = client.get("/search/", {"q": "payback"}).content.decode()
    fetched = client.get("/search/", {"q": "payback"}, HTTP_X_SEARCH_PARTIAL="1").content.decode()
    template = fetched[fetched.index('<template id="action-used-deal">') :]
    for html in (full, template):
        picker = re.search(r'<select name="deal"[^>]*>.*?</select>', html, re.S).group(0)
        assert " required" in picker.split(">")[0]
        assert picker.index(PLACEHOLDER) < picker.index(f'value="{newest.pk}"')
        assert picker.count(" selected") == 1


@pytest.mark.usefixtures("active_engine")
def test_a_search_cards_use_without_a_deal_records_nothing_and_says_so_on_the_results():
    from search.services import index_rebuild

    _, _, client = _rep_with_deals()
    asset = make_asset("Payback calculator")
    index_rebuild()
    page = client.post(
        f"/analytics/assets/{asset.pk}/used/",
        {"deal": "", "next": "/search/?q=payback"},
        follow=True,
    )
    assert page.redirect_chain[-1][0] == "/search/?q=payback"
    assert "Deal: choose one of your open deals; nothing was recorded." in page.content.decode()
    assert not UsageEvent.objects.filter(kind=EventKind.USED_IN_DEAL).exists()
