"""Share links: a buyer opens one asset without logging in, and nothing else."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from accounts.roles import MARKETER, REP
from analytics.models import EventKind, ShareLink, UsageEvent
from analytics.usage import share_link_create, share_link_revoke
from cms.models import AssetPage
from tests.analytics.helpers import walk_deal
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared():
    rep = make_user(role=REP)
    deal = walk_deal("006SH", ["discover", "evaluate"], owner=rep.username)
    asset = make_asset("Pricing one-pager", document=make_document("pricing.txt", b"price list"))
    link, token = share_link_create(user=rep, asset=asset, deal=deal)
    return rep, deal, asset, link, token


def test_buyer_opens_and_downloads_without_login_and_both_are_recorded(shared):
    _, deal, asset, _, token = shared
    client = Client(HTTP_USER_AGENT=BROWSER)
    page = client.get(f"/s/{token}/")
    assert page.status_code == 200 and "Pricing one-pager" in page.content.decode()
    download = client.get(f"/s/{token}/{asset.pk}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"price list"
    kinds = set(UsageEvent.objects.filter(deal=deal).values_list("kind", flat=True))
    assert {EventKind.SHARED, EventKind.BUYER_OPENED, EventKind.DOWNLOADED} <= kinds


def test_the_buyer_saves_the_file_under_the_documents_title_not_the_stored_name():
    rep = make_user(role=REP)
    deal = walk_deal("006NM", ["discover", "evaluate"], owner=rep.username)
    make_document("roi_model.xlsx", b"first", title="ROI model (old)")
    document = make_document("roi_model.xlsx", b"second", title="ROI model: Acme/Globex")
    asset = make_asset("ROI model", document=document)
    _, token = share_link_create(user=rep, asset=asset, deal=deal)
    download = Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/{asset.pk}/file/")
    assert download["Content-Disposition"] == 'attachment; filename="ROI model Acme Globex.xlsx"'


def test_the_rep_is_told_when_the_buyer_opens_the_link_once_per_visit(shared, monkeypatch):
    from notifications.models import Notification

    rep, _, _, link, token = shared
    other = make_user(role=REP)
    buyer = Client(HTTP_USER_AGENT=BROWSER)
    buyer.get(f"/s/{token}/")
    buyer.get(f"/s/{token}/")  # a reload is the same visit
    told = Notification.objects.filter(kind="share_opened")
    assert [n.user_id for n in told] == [rep.pk]
    assert "Your buyer opened “Pricing one-pager”" in told.get().text
    assert told.get().url == "/analytics/share-links/"
    later = timezone.now() + timedelta(hours=13)
    monkeypatch.setattr("analytics.usage.timezone.now", lambda: later)
    assert buyer.get(f"/s/{token}/").status_code == 200  # back the next day: a new visit
    assert told.all().count() == 2 and not Notification.objects.filter(user=other).exists()
    bell = Client()
    bell.force_login(rep)
    assert "Your buyer opened" in bell.get("/notifications/").content.decode()


BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


def _opens(deal) -> int:
    return UsageEvent.objects.filter(deal=deal, kind=EventKind.BUYER_OPENED).count()


@pytest.mark.parametrize(
    "agent",
    [
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0)",
        "curl/8.5.0",
        "",
        "Python-urllib/3.11",
        "Go-http-client/1.1",
        "axios/1.7.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "okhttp/4.12.0",
        "Java/17.0.2",
        "Mozilla/5.0 (en-us) AppleWebKit/537.36 (KHTML, like Gecko) Google-PageRenderer",
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "W3C_Validator/1.3",
    ],
)
def test_a_link_preview_is_no_buyer_and_tells_nobody(shared, agent):
    """Pasting a link in chat or mail makes the app there fetch it for a preview: the rep was
    told "your buyer opened" and a touch was counted that no buyer made (outside audit)."""
    from notifications.models import Notification

    _, deal, asset, link, token = shared
    page = Client(HTTP_USER_AGENT=agent).get(f"/s/{token}/")
    assert page.status_code == 200 and "Pricing one-pager" in page.content.decode()
    assert Client(HTTP_USER_AGENT=agent).get(f"/s/{token}/{asset.pk}/file/").status_code == 200
    assert _opens(deal) == 0 and not Notification.objects.exists()
    assert not UsageEvent.objects.filter(kind=EventKind.DOWNLOADED).exists()
    link.refresh_from_db()
    assert link.last_opened_at is None
    Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/")
    assert _opens(deal) == 1 and Notification.objects.count() == 1


def test_a_buyer_reading_in_an_apps_own_browser_is_a_buyer(shared):
    """LinkedIn's and Facebook's in-app browsers name their app; their previews are bots."""
    _, deal, _, _, token = shared
    in_app = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.8961"
    )
    assert Client(HTTP_USER_AGENT=in_app).get(f"/s/{token}/").status_code == 200
    assert _opens(deal) == 1


def test_a_link_check_or_a_signed_in_user_is_no_buyer(shared):
    rep, deal, asset, _, token = shared
    assert Client(HTTP_USER_AGENT=BROWSER).head(f"/s/{token}/").status_code == 200
    for user in (rep, make_user(role=REP)):  # the rep checking their link, a colleague
        client = Client(HTTP_USER_AGENT=BROWSER)
        client.force_login(user)
        assert client.get(f"/s/{token}/").status_code == 200
    assert _opens(deal) == 0


def test_opens_within_half_an_hour_are_one_open(shared, monkeypatch):
    """A reload, or the page and its download, are one visit: one touch (the page then a
    HEAD made two buyer_opened events 40 ms apart)."""
    _, deal, _, link, token = shared
    buyer = Client(HTTP_USER_AGENT=BROWSER)
    buyer.get(f"/s/{token}/")
    buyer.get(f"/s/{token}/")
    assert _opens(deal) == 1
    later = timezone.now() + timedelta(minutes=31)
    monkeypatch.setattr("analytics.usage.timezone.now", lambda: later)
    buyer.get(f"/s/{token}/")
    assert _opens(deal) == 2
    link.refresh_from_db()
    assert link.last_opened_at == later


def test_a_revoked_link_tells_nobody(shared):
    from notifications.models import Notification

    _, _, _, link, token = shared
    share_link_revoke(link=link)
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404
    assert not Notification.objects.exists()


def test_token_has_at_least_128_bits_and_only_its_hash_is_stored(shared):
    _, _, _, link, token = shared
    assert len(token) >= 22  # 32 random bytes in URL-safe base64 is 43 characters
    assert token not in link.token_hash
    assert not ShareLink.objects.filter(token_hash=token).exists()


def test_expired_link_is_refused(shared):
    _, _, asset, link, token = shared
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/{asset.pk}/file/").status_code == 404


def test_revoked_link_is_refused(shared):
    _, _, asset, link, token = shared
    share_link_revoke(link=link)
    response = Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/")
    assert response.status_code == 404
    assert "not available" in response.content.decode()
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/{asset.pk}/file/").status_code == 404


def test_wrong_token_is_refused(shared):
    assert Client().get("/s/not-a-real-token-at-all/").status_code == 404


def test_another_asset_through_the_same_token_is_refused(shared):
    _, _, _, _, token = shared
    other = make_asset("Secret roadmap", document=make_document("roadmap.txt", b"secret"))
    response = Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/{other.pk}/file/")
    assert response.status_code == 404
    assert b"secret" not in response.content


def test_link_stops_working_when_its_asset_is_unpublished(shared):
    _, _, asset, _, token = shared
    asset.unpublish()
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404


def test_creating_a_link_is_post_then_redirect_and_a_reload_makes_no_second_link(shared):
    rep, deal, asset, _, _ = shared
    client = Client()
    client.force_login(rep)
    before = ShareLink.objects.count()
    response = client.post(
        f"/analytics/assets/{asset.pk}/share/", {"deal": deal.pk, "recipient_note": "Dana, CFO"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/analytics/share-links/")
    assert ShareLink.objects.count() == before + 1
    listing = client.get(response["Location"])  # what the browser loads, and reloads
    client.get(response["Location"])
    assert ShareLink.objects.count() == before + 1
    new = ShareLink.objects.latest("pk")
    row = next(link for link in listing.context["links"] if link.pk == new.pk)
    assert "Dana, CFO" in row.label and "Pricing one-pager" in row.label
    assert Client().get(row.url.split("127.0.0.1:8000")[1]).status_code == 200


def test_rep_list_names_each_link_uniquely_with_a_copy_button_and_last_opened(shared, settings):
    rep, deal, asset, first, first_token = shared
    second, _ = share_link_create(user=rep, asset=asset, deal=deal)  # same asset, deal, note
    Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{first_token}/")
    client = Client()
    client.force_login(rep)
    response = client.get("/analytics/share-links/")
    labels = [link.label for link in response.context["links"]]
    assert len(labels) == len(set(labels)) == 2
    html = response.content.decode()
    assert html.count('class="button js-copy"') == 2
    # BASE_URL's address, whatever host the rep reached the library at (testserver here).
    assert f'value="http://127.0.0.1:8000/s/{first_token}/"' in html
    settings.WAGTAILADMIN_BASE_URL = "https://library.example.com/"
    html = client.get("/analytics/share-links/").content.decode()
    assert f'value="https://library.example.com/s/{first_token}/"' in html
    opened = {link.pk: link.last_opened_at for link in response.context["links"]}
    assert opened[first.pk] is not None and opened[second.pk] is None
    assert "not opened yet" in html and "last opened" in html


def test_revoking_revokes_exactly_that_link_and_says_which(shared):
    rep, deal, asset, first, first_token = shared
    second, second_token = share_link_create(
        user=rep, asset=asset, deal=deal, recipient_note="Procurement"
    )
    client = Client()
    client.force_login(rep)
    response = client.post(f"/analytics/share-links/{second.pk}/revoke/", follow=True)
    message = " ".join(str(m) for m in response.context["messages"])
    assert f"#{second.pk}" in message and "Procurement" in message and "Revoked" in message
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{second_token}/").status_code == 404
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{first_token}/").status_code == 200
    again = client.post(f"/analytics/share-links/{second.pk}/revoke/", follow=True)
    assert "already revoked" in " ".join(str(m) for m in again.context["messages"])


def test_rep_cannot_share_on_someone_elses_deal(shared):
    _, deal, asset, _, _ = shared
    other = make_user(role=REP)
    client = Client()
    client.force_login(other)
    before = ShareLink.objects.count()
    response = client.post(f"/analytics/assets/{asset.pk}/share/", {"deal": deal.pk})
    assert response.status_code == 302
    assert ShareLink.objects.count() == before


def test_rep_cannot_share_an_asset_they_cannot_see(shared):
    from tests.factories import make_team

    rep, deal, _, _, _ = shared
    hidden = make_asset("Partners only", teams=[make_team("Partners")])
    client = Client()
    client.force_login(rep)
    assert (
        client.post(f"/analytics/assets/{hidden.pk}/share/", {"deal": deal.pk}).status_code == 404
    )


def test_only_the_creator_can_revoke(shared):
    rep, _, _, link, token = shared
    stranger = Client()
    stranger.force_login(make_user(role=REP))
    assert stranger.post(f"/analytics/share-links/{link.pk}/revoke/").status_code == 404
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 200
    owner = Client()
    owner.force_login(rep)
    owner.post(f"/analytics/share-links/{link.pk}/revoke/")
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404


def test_another_reps_link_and_a_missing_id_are_the_same_404_when_revoking(shared, rf):
    """Link ids are sequential: a 403 for the ids that exist would tell a rep how many links
    others made, and when. Both answers are the same (the message too, seen with DEBUG on)."""
    from django.http import Http404

    from analytics import rep_views

    _, _, _, link, _ = shared
    stranger = make_user(role=REP)
    client = Client()
    client.force_login(stranger)
    answers = [
        client.post(f"/analytics/share-links/{link_id}/revoke/")
        for link_id in (link.pk, link.pk + 1000)
    ]
    assert [answer.status_code for answer in answers] == [404, 404]
    assert answers[0].content == answers[1].content
    said = []
    for link_id in (link.pk, link.pk + 1000):
        request = rf.post("/")
        request.user = stranger
        with pytest.raises(Http404) as refused:
            rep_views.share_revoke(request, link_id=link_id)
        said.append(str(refused.value))
    assert said[0] == said[1]
    link.refresh_from_db()
    assert link.revoked_at is None


def test_an_enablement_lead_may_revoke_any_reps_link(shared):
    from accounts.roles import ENABLEMENT_LEAD

    _, _, _, link, token = shared
    lead = Client()
    lead.force_login(make_user(role=ENABLEMENT_LEAD))
    response = lead.post(f"/analytics/share-links/{link.pk}/revoke/", follow=True)
    assert "Revoked" in " ".join(str(m) for m in response.context["messages"])
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404


def _restrict_away(asset):
    from tests.factories import make_team

    asset.restricted_teams.set([make_team("Board only")])
    asset.save_revision().publish()


@pytest.mark.parametrize(
    "change",
    ["restricted", "archived", "expired", "unpublished", "section unpublished", "rep left"],
)
def test_link_rechecks_on_every_open_that_the_asset_is_live_and_visible_to_its_maker(
    shared, change
):
    from tests.factories import make_section

    rep, deal, asset, _, token = shared
    if change == "section unpublished":
        section = make_section("Moved here")
        asset.move(section, pos="last-child")
        assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 200
        section.unpublish()
    elif change == "restricted":
        _restrict_away(asset)
    elif change == "archived":
        AssetPage.objects.filter(pk=asset.pk).update(archived=True)
    elif change == "expired":
        AssetPage.objects.filter(pk=asset.pk).update(expire_at=timezone.now())
    elif change == "unpublished":
        asset.unpublish()
    elif change == "rep left":
        rep.is_active = False
        rep.save()
    for url in (f"/s/{token}/", f"/s/{token}/{asset.pk}/file/"):
        response = Client().get(url)
        assert response.status_code == 404
        assert "not available" in response.content.decode()


def test_a_new_file_version_is_served_only_while_the_link_holds(shared):
    from wagtail.documents import get_document_model

    _, _, asset, _, token = shared
    document = get_document_model().objects.get(pk=asset.document_id)
    document.file.save("pricing-v2.txt", ContentFile(b"new prices"), save=True)
    download = Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/{asset.pk}/file/")
    assert b"".join(download.streaming_content) == b"new prices"
    _restrict_away(asset)
    refused = Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/{asset.pk}/file/")
    assert refused.status_code == 404 and b"new prices" not in refused.content


def test_buyer_page_shows_the_buyer_description_and_never_the_internal_summary(shared):
    rep, deal, asset, _, _ = shared
    AssetPage.objects.filter(pk=asset.pk).update(
        summary="INTERNAL: discount floor is 30%",
        buyer_description="Our list prices for 2025.",
        body="<p>Internal talk track</p>",
    )
    asset.refresh_from_db()
    _, token = share_link_create(user=rep, asset=asset, deal=deal)
    html = Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").content.decode()
    assert "Our list prices for 2025." in html
    assert "INTERNAL" not in html and "discount floor" not in html and "talk track" not in html


def test_battlecards_are_not_shareable_by_default_and_offer_no_share_action(shared):
    rep, deal, _, _, _ = shared
    card = make_asset("Competitor X battlecard", asset_type="battlecard")
    client = Client()
    client.force_login(rep)
    page = client.get(card.url).content.decode()
    assert 'id="share-form"' not in page and "not for sharing" in page
    before = ShareLink.objects.count()
    client.post(f"/analytics/assets/{card.pk}/share/", {"deal": deal.pk})
    assert ShareLink.objects.count() == before
    with pytest.raises(ValidationError):
        share_link_create(user=rep, asset=card, deal=deal)


def test_per_asset_override_of_the_type_default(shared):
    rep, deal, asset, _, token = shared
    card = make_asset("Public comparison", asset_type="battlecard", buyer_sharing="allow")
    assert card.shareable_with_buyers
    share_link_create(user=rep, asset=card, deal=deal)
    AssetPage.objects.filter(pk=asset.pk).update(buyer_sharing="deny")
    # Existing links stop too.
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404
    client = Client()
    client.force_login(rep)
    assert 'id="share-form"' not in client.get(asset.url).content.decode()


def test_asset_type_default_is_editable_and_applies_to_its_assets(shared):
    from cms.models import AssetType

    _, _, asset, _, token = shared
    AssetType.objects.filter(pk=asset.asset_type_id).update(shareable_with_buyers=False)
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404


@pytest.mark.parametrize("change", ["restricted and retitled", "asset expired"])
def test_the_reps_list_hides_the_title_of_an_asset_they_can_no_longer_see_and_says_it_fails(
    shared, change
):
    rep, _, asset, link, token = shared
    if change == "restricted and retitled":
        asset.title = "Board pack: Q3 layoffs"
        _restrict_away(asset)
    else:
        AssetPage.objects.filter(pk=asset.pk).update(expire_at=timezone.now())
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404
    client = Client()
    client.force_login(rep)
    response = client.get("/analytics/share-links/")
    html = response.content.decode()
    (row,) = response.context["links"]
    assert row.state == "unavailable"
    assert row.label.startswith(f"#{link.pk} an asset you can no longer open → ")
    assert "Board pack" not in html and "Pricing one-pager" not in html
    assert "not working: asset unavailable" in html
    assert "js-copy" not in html and f"/s/{token}/" not in html  # nothing to copy
    revoked = client.post(f"/analytics/share-links/{link.pk}/revoke/", follow=True)
    message = " ".join(str(m) for m in revoked.context["messages"])
    assert f"Revoked #{link.pk} an asset you can no longer open" in message
    assert "Board pack" not in message and "Pricing one-pager" not in message


def test_a_link_to_an_asset_made_internal_is_listed_as_not_working(shared):
    rep, _, asset, _, token = shared
    AssetPage.objects.filter(pk=asset.pk).update(buyer_sharing="deny")
    assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 404
    client = Client()
    client.force_login(rep)
    (row,) = client.get("/analytics/share-links/").context["links"]
    assert row.state == "unavailable" and "Pricing one-pager" in row.label  # still theirs to see


@pytest.mark.parametrize("created", ["²", "9" * 5000, "12x", ""])
def test_the_share_links_page_ignores_a_created_id_that_is_not_an_id(shared, created):
    rep = shared[0]
    client = Client()
    client.force_login(rep)
    response = client.get("/analytics/share-links/", {"created": created})
    assert response.status_code == 200 and response.context["created"] is None


def test_a_reps_link_list_costs_the_same_queries_however_many_assets_it_names(shared):
    """Each link asks whether its asset may be shared with buyers (its type says): that
    was one more query per link, so a rep's list of 200 links made 200 more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rep, deal, *_ = shared
    client = Client()
    client.force_login(rep)
    client.get("/analytics/share-links/")

    def counted() -> int:
        with CaptureQueriesContext(connection) as listing:
            assert client.get("/analytics/share-links/").status_code == 200
        return len(listing)

    few = counted()
    for number in range(4):
        share_link_create(user=rep, asset=make_asset(f"Case study {number}"), deal=deal)
    assert len(client.get("/analytics/share-links/").context["links"]) == 5
    assert counted() == few


def test_a_link_is_named_with_its_day_as_the_pages_write_days(shared):
    """The share-link list wrote "06 Dec 2026" beside the page's "6 Dec 2026"."""
    from analytics.selectors import share_link_label

    _, _, _, link, _ = shared
    link.created_at = timezone.make_aware(timezone.datetime(2026, 3, 5, 12, 30))
    label = share_link_label(link, asset_visible=True)
    assert label.endswith(", created 5 Mar 2026 12:30") and label.startswith(f"#{link.pk} ")


def test_a_buyer_asking_for_a_missing_file_gets_a_buyers_page_and_nothing_is_recorded(
    shared, caplog
):
    """An outside audit: the buyer got a 500 ("try again in a moment", with a link to the
    sign-in page) and a download was recorded before the failure."""
    import logging

    from django.core.cache import cache

    from notifications.models import Notification

    rep, deal, asset, _, token = shared
    owner = make_user(role=MARKETER)
    AssetPage.objects.filter(pk=asset.pk).update(owner=owner)
    name = asset.document.file.name
    asset.document.file.storage.delete(name)
    cache.clear()  # the "told today" guard of an earlier test's asset of the same id
    buyer = Client(HTTP_USER_AGENT=BROWSER, raise_request_exception=False)
    assert buyer.get(f"/s/{token}/").status_code == 200
    with caplog.at_level(logging.ERROR):
        response = buyer.get(f"/s/{token}/{asset.pk}/file/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "This document is not available right now" in text
    assert "The people who look after it have been told" in text
    assert f'href="/s/{token}/"' in text and "/login/" not in text and 'href="/"' not in text
    assert not UsageEvent.objects.filter(deal=deal, kind=EventKind.DOWNLOADED).exists()
    assert UsageEvent.objects.filter(deal=deal, kind=EventKind.BUYER_OPENED).count() == 1
    missing = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert missing == [
        f"stored file missing: asset {asset.pk}, its file {name} (storage DiskStorage)"
    ]
    [notice] = Notification.objects.filter(kind="asset_file_missing")
    assert notice.user == owner and "“Pricing one-pager” is missing" in notice.text
    assert buyer.get(f"/s/{token}/{asset.pk}/file/").status_code == 404
    assert Notification.objects.filter(kind="asset_file_missing").count() == 1  # once a day


@pytest.mark.parametrize(
    "address", ["/s/", "/s/{token}/{asset}/", "/s/{token}/-1/file/", "/s/{token}/x/y/z/"]
)
def test_a_mistyped_share_address_is_the_buyers_not_available_page(shared, address):
    """Not the library's sign-in page with the token in its address (an outside audit)."""
    _, _, asset, _, token = shared
    answer = Client(HTTP_USER_AGENT=BROWSER).get(address.format(token=token, asset=asset.pk))
    assert answer.status_code == 404
    page = answer.content.decode()
    assert "This link is not available" in page
    assert "/login/" not in page and "Back to the library" not in page
