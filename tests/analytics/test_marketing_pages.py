"""What marketing and leads read of the loop back from reps: people named as everywhere else
(the full name, else the username: ``accounts.people``), where search gaps are found, and what
turning a search gap into a request did."""

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.content_requests import content_request_create
from analytics.models import AssetFeedback, ContentRequest
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


def _lead_client():
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


def test_search_gaps_say_who_asked_by_name():
    named = make_user("jdoe", role=REP, first_name="Jane", last_name="Doe")
    unnamed = make_user("plainrep", role=REP)
    ContentRequest.objects.create(text="SOC 2 report", requested_by=named)
    ContentRequest.objects.create(text="Pricing for APAC", requested_by=unnamed)
    page = _lead_client().get("/analytics/search-gaps/").content.decode()
    assert "<td>Jane Doe</td>" in page
    assert "<td>jdoe</td>" not in page
    assert "<td>plainrep</td>" in page


def test_asset_detail_names_who_gave_feedback():
    asset = make_asset(title="Battlecard")
    rep = make_user("mrossi", role=REP, first_name="Mario", last_name="Rossi")
    AssetFeedback.objects.create(asset=asset, user=rep, kind="helpful")
    page = _lead_client().get(f"/analytics/assets/{asset.pk}/").content.decode()
    assert "Mario Rossi" in page
    assert "· mrossi ·" not in page


def test_a_name_is_escaped_where_it_is_shown():
    rep = make_user("x", role=REP, first_name="<b>Eve</b>", last_name="")
    ContentRequest.objects.create(text="Anything", requested_by=rep)
    page = _lead_client().get("/analytics/search-gaps/").content.decode()
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "<b>Eve</b>" not in page


def _signed_in(role):
    client = Client()
    client.force_login(make_user(role=role))
    return client


@pytest.mark.parametrize("role", [MARKETER, ENABLEMENT_LEAD])
def test_content_managers_find_search_gaps_in_the_admin_reports_menu(role):
    admin_home = _signed_in(role).get("/admin/").content.decode()
    assert '"/analytics/search-gaps/"' in admin_home  # the sidebar's menu, as JSON


def test_a_marketer_finds_search_gaps_in_the_site_menu_and_a_rep_does_not():
    link = '<a href="/analytics/search-gaps/">Search gaps</a>'
    assert link in _signed_in(MARKETER).get("/").content.decode()
    assert "/analytics/search-gaps/" not in _signed_in(REP).get("/").content.decode()
    assert "/admin/" not in _signed_in(REP).get("/").content.decode()


def test_requesting_a_search_gap_already_asked_for_says_it_was_backed_not_created():
    rep = make_user(role=REP)
    content_request_create(user=rep, text="SOC 2 report for banks")
    client = _lead_client()
    page = client.post("/analytics/search-gaps/", {"query": "soc 2 report"}, follow=True)
    text = page.content.decode()
    assert "Already requested as “SOC 2 report for banks”: your vote is added to it." in text
    assert "Content request created" not in text
    assert ContentRequest.objects.count() == 1
    page = client.post("/analytics/search-gaps/", {"query": "Pricing in yen"}, follow=True)
    assert "Content request created for “Pricing in yen”." in page.content.decode()
