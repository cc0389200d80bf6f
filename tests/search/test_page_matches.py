"""Where a result matched, as a rep sees it: the pages and slides on result cards and in the
API, their links to the asset page at that page, that page's preview and text (embedded
engine; tests/search/engine_suite.py holds every engine to the matches themselves)."""

import io

import pytest
from PIL import Image

from search.models import SearchClick
from tests.cms.builders import make_pdf
from tests.search.engine_suite import deck_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def paged(active_engine, library, client, django_capture_on_commit_callbacks):
    """A 12-slide deck with the answer on slide 9, an EMEA-only PDF with it on page 2."""
    from tests.factories import make_asset, make_document, make_section

    slides = [f"Slide {n}: agenda" for n in range(1, 13)]
    slides[8] = "Quinoa rebate tiers\nAsk about the rebate in the notes"
    library.deck = deck_asset("Rebate deck", slides, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        section = make_section("EMEA files", teams=[library.emea])
        pdf = make_document("rebates.pdf", make_pdf(["Cover", "Quinoa rebate for EMEA"]))
    with django_capture_on_commit_callbacks(execute=True):
        library.pdf_asset = make_asset("EMEA rebate sheet", parent=section, document=pdf)
    client.force_login(library.outsider)
    return library


def test_api_returns_each_hits_matching_pages(paged, client):
    data = client.get("/api/v1/search", {"q": "quinoa"}).json()
    assert [hit["title"] for hit in data["results"]] == ["Rebate deck"]
    (match,) = data["results"][0]["matches"]
    assert match["page"] == 9
    assert match["highlight"].startswith("<mark>Quinoa</mark> rebate tiers")
    assert match["url"] == f"{paged.deck.url}?page=9#page-9"
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert set(schema["PageMatchOut"]["properties"]) == {"page", "highlight", "url"}
    assert "matches" in schema["HitOut"]["properties"]


def test_result_card_links_to_the_slide_and_the_click_is_recorded(paged, client):
    page = client.get("/search/", {"q": "quinoa"}).content.decode()
    assert "Slide 9</a>" in page and "<mark>Quinoa</mark> rebate tiers" in page
    link = page.split('class="page-match-link"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link.endswith("&amp;page=9")
    response = client.get(link.replace("&amp;", "&"))
    assert response.status_code == 302
    assert response["Location"] == f"{paged.deck.url}?page=9#page-9"
    assert SearchClick.objects.get().asset_id == paged.deck.pk


def test_asset_page_at_a_slide_shows_its_text(paged, client):
    page = client.get(paged.deck.url, {"page": 9}).content.decode()
    assert 'id="page-9"' in page and "Slide 9 of 12" in page
    assert "Quinoa rebate tiers<br>Ask about the rebate in the notes" in page
    assert "/pages/9/preview/" not in page  # no image of a slide can be drawn
    assert 'href="?page=10#page-10"' in page and 'href="?page=8#page-8"' in page
    assert 'id="page-missing"' not in page
    for nonsense in ("13", "0", "x", "²", "<b>99999999999999</b>"):
        answer = client.get(paged.deck.url, {"page": nonsense}).content.decode()
        assert 'class="asset-at-page"' not in answer
        # An old link (the file has changed since) says so rather than showing nothing.
        assert 'id="page-missing"' in answer and "<b>" not in answer
    assert "no page or slide “13”" in client.get(paged.deck.url, {"page": "13"}).content.decode()


def test_asset_page_at_a_pdf_page_shows_its_preview(paged, client):
    client.force_login(paged.insider)
    page = client.get(paged.pdf_asset.url, {"page": 2}).content.decode()
    preview = f"/assets/{paged.pdf_asset.pk}/pages/2/preview/"
    assert "Page 2 of 2" in page and f'src="{preview}"' in page
    response = client.get(preview)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-cache" and response["ETag"]
    with Image.open(io.BytesIO(b"".join(response))) as image:
        assert image.width == 800


def test_page_preview_is_a_404_for_anyone_who_may_not_see_the_asset(paged, client):
    preview = f"/assets/{paged.pdf_asset.pk}/pages/2/preview/"
    assert client.get(preview).status_code == 404  # the outsider
    assert client.get(f"{paged.pdf_asset.url}?page=2").status_code == 404
    client.logout()
    assert client.get(preview).status_code == 302  # to the login page
    client.force_login(paged.insider)
    assert client.get(f"/assets/{paged.pdf_asset.pk}/pages/3/preview/").status_code == 404
    assert client.get(f"/assets/{paged.deck.pk}/pages/9/preview/").status_code == 404


def test_a_restricted_pdfs_pages_are_found_only_by_its_team(paged, client):
    assert client.get("/api/v1/search", {"q": "emea quinoa"}).json()["total"] == 0
    client.force_login(paged.insider)
    data = client.get("/api/v1/search", {"q": "emea quinoa"}).json()
    assert [(hit["title"], [m["page"] for m in hit["matches"]]) for hit in data["results"]] == [
        ("EMEA rebate sheet", [2])
    ]
