"""A rep finds a deck in the browser: misspelled query, suggestions, a facet, the asset.
Same flow on a desktop and at a phone-sized viewport."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from search.models import SearchClick
from tests.e2e.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def find_the_battlecard(page, *, open_filters: bool, max_width: int | None = None) -> None:
    login(page, "rep", PASSWORD)
    page.goto("/search/")
    page.keyboard.press("/")
    box = page.locator("#search-q")
    expect(box).to_be_focused()
    box.press_sequentially("battlecrad", delay=30)
    suggestions = page.locator("#search-suggestions [role=option]")
    expect(suggestions.first).to_be_visible()
    for title in ("Acme battlecard", "Battlecard basics"):
        expect(suggestions.filter(has_text=title)).to_have_count(1)
    box.press("Enter")
    expect(page.locator(".result-count")).to_have_text("2 results for “battlecrad”")
    if open_filters:
        page.locator("details.facets > summary").click()
    page.locator('[data-facet=type] a[data-value="battlecard"]').click()
    expect(page.locator(".result-count")).to_have_text("1 result for “battlecrad”")
    expect(page.locator('[data-facet=type] a[aria-current="true"]')).to_contain_text("Battlecard")
    if max_width:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= max_width, "the search page scrolls sideways"
    page.locator(".result-link", has_text="Acme battlecard").click()
    expect(page).to_have_url(re.compile(r"/acme-battlecard/$"))
    expect(page.locator("h1")).to_have_text("Acme battlecard")
    assert SearchClick.objects.get().position == 1


def test_rep_finds_an_asset_from_a_misspelled_query(page, library):
    find_the_battlecard(page, open_filters=False)


def test_rep_finds_an_asset_from_a_misspelled_query_on_a_phone(phone_page, library):
    find_the_battlecard(phone_page, open_filters=True, max_width=390)


def test_a_reps_pages_load_without_a_console_error_or_failed_request(page, library):
    """Nothing a rep opens logs an error: no missing file (the site's icon included: Chromium
    asks for /favicon.ico unless the page names an icon), no refused script or style."""
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda request: problems.append(f"failed {request.url}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    login(page, "rep", PASSWORD)
    for path in ("/", "/search/?q=battlecard", "/search/?q=roadmap&stage=discover"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert problems == []
    assert page.locator("link[rel=icon]").get_attribute("href").startswith("/static/")
