"""Sharing from a deal's page (an outside audit: each "Share with the buyer" made one more
identical link and left the deal for the list of links; the recommendations did not say what
was already shared or used in the deal, nor what they were ranked for)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.models import EventKind, ShareLink, UsageEvent
from analytics.usage import share_link_give
from tests.analytics import test_deals
from tests.analytics.test_deals import _deal
from tests.factories import make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
library, terms = test_deals.library, test_deals.terms  # the deal tests' fixtures


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _share(client, asset, deal, next_url="", note=""):
    data = {"deal": deal.pk, "recipient_note": note}
    if next_url:
        data["next"] = next_url
    return client.post(f"/analytics/assets/{asset.pk}/share/", data, follow=False)


def _card(html: str, title: str) -> str:
    cards = html[html.index('id="recommendations"') :].split('<li class="result"')[1:]
    return next(card for card in cards if f">{title}</a>" in card)


def test_sharing_from_the_deal_page_comes_back_to_the_deal_with_the_link_to_copy(library):
    rep = make_user(role=REP)
    deal = _deal("007A", rep, name="Globex")
    client = _client(rep)
    response = _share(client, library["decide"], deal, next_url="/deals/007A/")
    link = ShareLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/deals/007A/#link-{link.pk}"
    html = client.get("/deals/007A/").content.decode()
    assert "New link #" in html and "Copy it below." in html
    section = html[html.index('id="deal-links"') :]
    assert f'id="link-{link.pk}"' in section and "Copy link" in section
    assert 'class="share-url" type="text" readonly value="http' in section  # the buyer's address
    card = _card(html, "Pricing objections")
    assert 'class="share"' not in card and f'href="#link-{link.pk}"' in card
    assert "In this deal:</strong> Shared" in card
    assert 'class="share"' in _card(html, "Why modernise")  # not shared yet
    api = {
        r["title"]: r["in_deal"] for r in client.get("/api/v1/deals/007A").json()["recommendations"]
    }
    assert api == {"Pricing objections": ["asset_shared"], "Why modernise": []}


def test_sharing_the_same_asset_again_in_the_deal_gives_back_the_same_link_renewed(library):
    rep = make_user(role=REP)
    deal = _deal("007B", rep)
    client = _client(rep)
    _share(client, library["decide"], deal, next_url="/deals/007B/")
    link = ShareLink.objects.get()
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() + timedelta(days=2))
    response = _share(client, library["decide"], deal, next_url="/deals/007B/")
    assert response["Location"] == f"/deals/007B/#link-{link.pk}"
    assert ShareLink.objects.count() == 1
    link.refresh_from_db()
    assert link.expires_at > timezone.now() + timedelta(days=20)  # opens a full period again
    shared = UsageEvent.objects.filter(deal=deal, kind=EventKind.SHARED)
    assert shared.count() == 1  # asking for the link again is not a second share
    html = client.get("/deals/007B/").content.decode()
    assert "You already had link #" in html and "it now opens until" in html


@pytest.mark.parametrize("change", ["another recipient", "revoked", "expired"])
def test_a_link_for_another_buyer_or_one_that_no_longer_opens_is_not_reused(library, change):
    rep = make_user(role=REP)
    deal = _deal("007C", rep)
    client = _client(rep)
    _share(client, library["decide"], deal, note="CFO")
    first = ShareLink.objects.get()
    if change == "revoked":
        ShareLink.objects.filter(pk=first.pk).update(revoked_at=timezone.now())
    elif change == "expired":
        ShareLink.objects.filter(pk=first.pk).update(expires_at=timezone.now())
    note = "Head of IT" if change == "another recipient" else "cfo"  # notes compare casefolded
    _share(client, library["decide"], deal, note=note)
    assert ShareLink.objects.count() == 2
    assert UsageEvent.objects.filter(deal=deal, kind=EventKind.SHARED).count() == 2


def test_the_same_recipient_in_another_case_reuses_the_link(library):
    rep = make_user(role=REP)
    deal = _deal("007D", rep)
    client = _client(rep)
    _share(client, library["decide"], deal, note="CFO")
    _share(client, library["decide"], deal, note=" cfo ")
    assert ShareLink.objects.count() == 1


def test_a_lead_reading_a_reps_deal_is_offered_no_actions_and_no_links_of_the_rep(library):
    """Only the owner acts in a deal (the deal pickers offer a rep's own deals, so a lead's
    "Share with the buyer" here was refused), and the page lists the reader's links only."""
    rep, lead = make_user(role=REP), make_user(role=ENABLEMENT_LEAD)
    deal = _deal("007E", rep)
    _share(_client(rep), library["decide"], deal, next_url="/deals/007E/")
    html = _client(lead).get("/deals/007E/").content.decode()
    assert "Pricing objections" in html
    assert 'class="share"' not in html and 'class="use"' not in html
    assert 'id="deal-links"' not in html and "/s/" not in html
    assert 'id="deal-links"' in _client(rep).get("/deals/007E/").content.decode()


def test_giving_a_link_back_refuses_what_a_new_link_would_refuse(library):
    """The reuse comes after the same refusals as a new link: another rep, an asset the rep
    may not see, or a closed deal never gets the open link back."""
    rep = make_user(role=REP)
    deal = _deal("007F", rep)
    _share(_client(rep), library["decide"], deal)
    link, _, reused = share_link_give(user=rep, asset=library["decide"], deal=deal)
    assert reused and link == ShareLink.objects.get()
    refused = [
        (make_user(role=REP), library["decide"]),  # not their deal
        (rep, library["secret"]),  # restricted from the rep
    ]
    for user, asset in refused:
        with pytest.raises(ValidationError):
            share_link_give(user=user, asset=asset, deal=deal)
    deal.outcome = "lost"
    deal.save(update_fields=["outcome"])
    with pytest.raises(ValidationError, match="open deals"):
        share_link_give(user=rep, asset=library["decide"], deal=deal)
    assert ShareLink.objects.count() == 1


def test_sharing_from_the_asset_page_still_goes_to_the_list_of_links(library):
    rep = make_user(role=REP)
    deal = _deal("007G", rep)
    response = _share(_client(rep), library["decide"], deal, next_url="/search/?q=pricing")
    link = ShareLink.objects.get()
    assert response["Location"] == f"/analytics/share-links/?created={link.pk}#link-{link.pk}"


def test_a_forged_next_to_another_deal_does_not_lead_there(library):
    rep = make_user(role=REP)
    deal = _deal("007H", rep)
    _deal("007I", rep)
    response = _share(_client(rep), library["decide"], deal, next_url="/deals/007I/")
    assert response["Location"].startswith("/analytics/share-links/")


def test_revoking_from_the_deal_page_comes_back_to_it(library):
    rep = make_user(role=REP)
    deal = _deal("007J", rep)
    client = _client(rep)
    _share(client, library["decide"], deal, next_url="/deals/007J/")
    link = ShareLink.objects.get()
    response = client.post(f"/analytics/share-links/{link.pk}/revoke/", {"next": "/deals/007J/"})
    assert response["Location"] == "/deals/007J/"
    html = client.get("/deals/007J/").content.decode()
    assert "revoked" in html[html.index('id="deal-links"') :]
    assert 'class="share"' in _card(html, "Pricing objections")  # a new link may be made


def test_the_page_says_what_the_recommendations_were_ranked_for(library, terms):  # noqa: F811
    rep = make_user(role=REP)
    _deal("007K", rep, attributes={"competitor": "acme"})
    html = _client(rep).get("/deals/007K/").content.decode()
    ranked = html[html.index('id="ranked-for"') : html.index("</p>", html.index('id="ranked-for"'))]
    assert "Competitor: <strong>Acme Corp</strong>" in ranked and "Decide" in ranked


def test_a_deal_with_nothing_to_rank_for_says_nothing_about_it(library):
    rep = make_user(role=REP)
    deal = _deal("007M", rep)
    type(deal).objects.filter(pk=deal.pk).update(journey_stage=None)
    html = _client(rep).get("/deals/007M/").content.decode()
    assert 'id="ranked-for"' not in html
    assert 'id="deal-links-none"' in html  # an open deal says where links will appear
