"""In Chromium at phone width: the buyer's page says who sent the link, shows the first page of
the PDF as a picture that loads, and fits the screen (outside audit L3: the page was bare)."""

from __future__ import annotations

import pytest
from wagtail.models import Site

from accounts.roles import REP
from analytics.usage import share_link_create
from tests.analytics.helpers import walk_deal
from tests.cms.builders import make_pdf
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_buyer_page_at_phone_width_names_the_sender_and_shows_the_first_page(phone_page):
    rep = make_user("priya", role=REP, first_name="Priya", last_name="Nair")
    Site.objects.filter(is_default_site=True).update(site_name="Tidewater Data")
    document = make_document("story.pdf", make_pdf(["Harbor Mutual", "Results"]))
    asset = make_asset("Harbor Mutual case study", asset_type="case-study", document=document)
    deal = walk_deal("006PW", ["discover"], owner=rep.username)
    _, token = share_link_create(user=rep, asset=asset, deal=deal)

    phone_page.goto(f"/s/{token}/")
    sender = phone_page.locator("#share-from")
    assert sender.inner_text() == "Sent to you by Priya Nair, Tidewater Data"
    picture = phone_page.get_by_role("img", name="Harbor Mutual case study")
    picture.wait_for()
    phone_page.wait_for_function("document.getElementById('share-preview').complete")
    assert picture.evaluate("image => image.naturalWidth") > 0
    assert picture.bounding_box()["width"] <= 390
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
