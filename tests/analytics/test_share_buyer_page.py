"""The buyer's page tells who sent the link and from which company, shows the first page of a
PDF, and stays the buyer's own page when the database cannot be reached (outside audit L3)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from wagtail.models import Site

from accounts.roles import REP
from analytics.models import EventKind, ShareLink, UsageEvent
from analytics.usage import share_link_create, share_link_revoke
from cms.models import AssetPage
from tests.analytics.helpers import walk_deal
from tests.cms.builders import make_pdf
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Pictures are cached by document id, which a rolled-back test database hands out again."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rep():
    return make_user(role=REP, first_name="Priya", last_name="Nair")


@pytest.fixture
def deal(rep):
    return walk_deal("006BP", ["discover", "evaluate"], owner=rep.username)


@pytest.fixture
def pdf_asset(django_capture_on_commit_callbacks):
    """A published PDF asset whose file was processed (so its page 1 is known)."""
    with django_capture_on_commit_callbacks(execute=True):
        document = make_document("story.pdf", make_pdf(["Harbor Mutual", "Results"]))
    return make_asset("Harbor Mutual case study", asset_type="case-study", document=document)


def _share(rep, asset, deal) -> tuple[ShareLink, str]:
    return share_link_create(user=rep, asset=asset, deal=deal)


def _page(token: str) -> str:
    response = Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/")
    assert response.status_code == 200
    return response.content.decode()


def test_buyer_page_names_the_rep_who_sent_it_and_the_company(rep, deal, pdf_asset):
    Site.objects.filter(is_default_site=True).update(site_name="Tidewater Data")
    _, token = _share(rep, pdf_asset, deal)
    html = _page(token)
    assert "Sent to you by <strong>Priya Nair</strong>, Tidewater Data" in html
    assert rep.email not in html and rep.username not in html


def test_a_rep_without_a_name_is_not_shown_by_username_or_email(pdf_asset, settings):
    """A username is a sign-in name; the buyer reads the company alone."""
    nameless = make_user("rita42", role=REP)
    settings.WAGTAIL_SITE_NAME = "Tidewater Data"
    Site.objects.filter(is_default_site=True).update(site_name="")  # falls back to SITE_NAME
    _, token = _share(nameless, pdf_asset, walk_deal("006BQ", ["discover"], owner="rita42"))
    html = _page(token)
    assert "Sent to you by Tidewater Data" in html
    assert "rita42" not in html


def test_the_senders_name_is_escaped(pdf_asset):
    rep = make_user(role=REP, first_name="<script>alert(1)</script>", last_name="<b>Nair</b>")
    _, token = _share(rep, pdf_asset, walk_deal("006BR", ["discover"], owner=rep.username))
    html = _page(token)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;Nair&lt;/b&gt;" in html
    assert "<script>alert" not in html and "<b>Nair" not in html


def test_a_pdf_shows_its_first_page_served_through_the_link_and_counts_no_download(
    rep, deal, pdf_asset
):
    _, token = _share(rep, pdf_asset, deal)
    buyer = Client(HTTP_USER_AGENT=BROWSER)
    html = buyer.get(f"/s/{token}/").content.decode()
    address = f"/s/{token}/{pdf_asset.pk}/preview.png"
    assert f'<img id="share-preview" src="{address}" alt="Harbor Mutual case study">' in html
    picture = buyer.get(address)
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert picture.content.startswith(PNG_SIGNATURE)
    assert "no-store" in picture["Cache-Control"] and "private" in picture["Cache-Control"]
    kinds = list(UsageEvent.objects.filter(deal=deal).values_list("kind", flat=True))
    assert kinds.count(EventKind.BUYER_OPENED) == 1
    assert EventKind.DOWNLOADED not in kinds


def _revoke(link, **_):
    share_link_revoke(link=link)


def _expire(link, **_):
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _unpublish(link, asset, **_):
    asset.unpublish()


@pytest.mark.parametrize(
    "spoil",
    [_revoke, _expire, _unpublish, "wrong token", "other asset"],
    ids=["revoked", "expired", "unpublished", "wrong token", "other asset"],
)
def test_the_preview_is_refused_exactly_as_the_download_is(rep, deal, pdf_asset, spoil):
    link, token = _share(rep, pdf_asset, deal)
    asset_id = pdf_asset.pk
    if spoil == "wrong token":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    elif spoil == "other asset":  # a PDF the rep may share too, but not through this link
        asset_id = make_asset(
            "Other story", asset_type="case-study", document=pdf_asset.document
        ).pk
    else:
        spoil(link, asset=pdf_asset)
    buyer = Client(HTTP_USER_AGENT=BROWSER)
    preview = buyer.get(f"/s/{token}/{asset_id}/preview.png")
    download = buyer.get(f"/s/{token}/{asset_id}/file/")
    assert preview.status_code == download.status_code == 404
    assert preview.content == download.content
    assert b"This link is not available" in preview.content
    assert not preview.content.startswith(PNG_SIGNATURE)


def test_an_asset_that_is_not_a_pdf_has_no_picture_and_shows_its_description(rep, deal):
    asset = make_asset("Pricing deck", document=make_document("pricing.txt", b"price list"))
    AssetPage.objects.filter(pk=asset.pk).update(buyer_description="Our list prices for 2027.")
    _, token = _share(rep, asset, deal)
    html = _page(token)
    assert "Our list prices for 2027." in html
    assert "<img" not in html
    assert Client().get(f"/s/{token}/{asset.pk}/preview.png").status_code == 404


def test_a_pdf_that_cannot_be_drawn_shows_no_picture(rep, deal, pdf_asset, monkeypatch):
    from cms.extraction import ExtractionError

    def broken(**_):
        raise ExtractionError("The stored file could not be found or read.")

    monkeypatch.setattr("cms.documents.document_page_preview", broken)
    _, token = _share(rep, pdf_asset, deal)
    assert "<img" not in _page(token)


@pytest.mark.parametrize("route", ["", "{asset}/file/", "{asset}/preview.png"])
def test_a_buyer_gets_a_calm_503_while_the_database_is_unreachable(
    rep, deal, pdf_asset, monkeypatch, route
):
    _, token = _share(rep, pdf_asset, deal)

    def unreachable(token):
        raise OperationalError('connection to server at "db" (10.0.0.5), port 5432 failed')

    monkeypatch.setattr("analytics.selectors.share_link_for_buyer", unreachable)
    response = Client(HTTP_USER_AGENT=BROWSER).get(
        f"/s/{token}/" + route.format(asset=pdf_asset.pk)
    )
    html = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"] == "300"
    assert "This link cannot be opened right now" in html
    assert "try again in a few minutes" in html
    assert "library" not in html.lower() and "sign in" not in html.lower()
