"""An image whose file is missing from the store (a 404) gives way in the browser: a
thumbnail to the placeholder an asset without one shows, a page preview to a sentence saying
so, never a broken image (``app.js``)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect
from wagtail.documents import get_document_model

from accounts.roles import REP
from search.engines import use_engine
from search.engines.embedded import EmbeddedEngine
from tests.cms.builders import make_pdf
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_asset, make_document, make_user, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_missing_thumbnail_and_page_preview_show_placeholders_not_broken_images(page):
    make_user("rita", role=REP)
    document = make_document("plan.pdf", make_pdf(["Cover", "Prices"]))  # processed on commit
    document.thumbnail.save("thumb.png", ContentFile(png_bytes()), save=False)
    get_document_model().objects.filter(pk=document.pk).update(thumbnail=document.thumbnail.name)
    asset = make_asset("Freight plan", document=document, asset_type="deck")
    document.refresh_from_db()
    document.file.storage.delete(document.file.name)
    document.thumbnail.storage.delete(document.thumbnail.name)
    login(page, "rita", PASSWORD)

    page.goto(f"{asset.url}?page=2")
    page.wait_for_load_state("networkidle")
    preview = page.locator(".asset-preview")
    assert preview.locator("img").count() == 0
    assert preview.locator(".thumb-placeholder").inner_text().lower() == "deck"
    assert page.locator("img.page-preview").count() == 0
    assert page.get_by_text("The picture of this page is not available.").is_visible()

    page.goto(asset.get_parent().url)
    page.wait_for_load_state("networkidle")
    card = page.locator(f'.asset-card[data-asset-id="{asset.pk}"]')
    assert card.locator("img").count() == 0
    assert card.locator(".thumb-placeholder").inner_text().lower() == "deck"


def test_a_search_result_whose_thumbnail_is_missing_shows_the_placeholder(page, tmp_path):
    """Typed results are swapped in after app.js ran: the image still gives way."""
    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        make_user("rita", role=REP)
        document = make_document("plan.pdf", make_pdf(["Cover", "Prices"]))
        document.thumbnail.save("thumb.png", ContentFile(png_bytes()), save=False)
        get_document_model().objects.filter(pk=document.pk).update(
            thumbnail=document.thumbnail.name
        )
        asset = make_asset("Freight plan", document=document, asset_type="deck")
        document.refresh_from_db()
        document.thumbnail.storage.delete(document.thumbnail.name)
        login(page, "rita", PASSWORD)
        page.goto("/search/")
        page.fill("#search-q", "freight")
        page.wait_for_selector("#search-region[data-q='freight']")
        page.wait_for_load_state("networkidle")
        card = page.locator(f'.result-card[data-asset-id="{asset.pk}"]')
        expect(card.locator(".result-thumb-empty")).to_have_text("D")
        assert card.locator("img").count() == 0
