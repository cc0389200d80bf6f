"""Share links: a buyer opens one asset without logging in, and nothing else."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics.models import EventKind, ShareLink, UsageEvent
from analytics.services import share_link_create, share_link_revoke
from enablement.roles import REP
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
    client = Client()
    page = client.get(f"/s/{token}/")
    assert page.status_code == 200 and "Pricing one-pager" in page.content.decode()
    download = client.get(f"/s/{token}/{asset.pk}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"price list"
    kinds = set(UsageEvent.objects.filter(deal=deal).values_list("kind", flat=True))
    assert {EventKind.SHARED, EventKind.BUYER_OPENED, EventKind.DOWNLOADED} <= kinds


def test_token_has_at_least_128_bits_and_only_its_hash_is_stored(shared):
    _, _, _, link, token = shared
    assert len(token) >= 22  # 32 random bytes in URL-safe base64 is 43 characters
    assert token not in link.token_hash
    assert not ShareLink.objects.filter(token_hash=token).exists()


def test_expired_link_is_refused(shared):
    _, _, asset, link, token = shared
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(f"/s/{token}/").status_code == 404
    assert Client().get(f"/s/{token}/{asset.pk}/file/").status_code == 404


def test_revoked_link_is_refused(shared):
    _, _, asset, link, token = shared
    share_link_revoke(link=link)
    response = Client().get(f"/s/{token}/")
    assert response.status_code == 404
    assert "not available" in response.content.decode()
    assert Client().get(f"/s/{token}/{asset.pk}/file/").status_code == 404


def test_wrong_token_is_refused(shared):
    assert Client().get("/s/not-a-real-token-at-all/").status_code == 404


def test_another_asset_through_the_same_token_is_refused(shared):
    _, _, _, _, token = shared
    other = make_asset("Secret roadmap", document=make_document("roadmap.txt", b"secret"))
    response = Client().get(f"/s/{token}/{other.pk}/file/")
    assert response.status_code == 404
    assert b"secret" not in response.content


def test_link_stops_working_when_its_asset_is_unpublished(shared):
    _, _, asset, _, token = shared
    asset.unpublish()
    assert Client().get(f"/s/{token}/").status_code == 404


def test_rep_creates_a_link_for_an_own_open_deal_from_the_asset_page(shared):
    rep, deal, asset, _, _ = shared
    client = Client()
    client.force_login(rep)
    response = client.post(f"/analytics/assets/{asset.pk}/share/", {"deal": deal.pk})
    assert response.status_code == 200
    url = response.context["url"]
    assert "/s/" in url
    assert Client().get(url.split("testserver")[1]).status_code == 200


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
    assert stranger.post(f"/analytics/share-links/{link.pk}/revoke/").status_code == 403
    owner = Client()
    owner.force_login(rep)
    owner.post(f"/analytics/share-links/{link.pk}/revoke/")
    assert Client().get(f"/s/{token}/").status_code == 404
