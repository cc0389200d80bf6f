"""Results as you type: the search page updates results, counts and facets in place, keeps the
address bar in step (back, forward, reload), works without JavaScript and at phone width, and
the suggestions answer the keyboard."""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest
from playwright.sync_api import expect

from search import services
from tests.e2e.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
COUNT = ".result-count"


def _search_page(page):
    login(page, "rep", PASSWORD)
    page.goto("/search/")
    page.evaluate("window.samePage = true")  # gone if the browser loads another page


def _still_same_page(page) -> bool:
    return page.evaluate("window.samePage === true")


def _type(page, text):
    page.locator("#search-q").press_sequentially(text, delay=40)


def test_results_appear_as_the_rep_types_without_a_page_load(page, library):
    _search_page(page)
    _type(page, "battlecard")
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    expect(page.locator(".result-link")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/search/\?q=battlecard$"))
    expect(page.locator("#search-status")).to_have_text("2 results for “battlecard”")
    assert page.title().startswith("battlecard · Search")
    assert _still_same_page(page)


def test_facet_click_updates_results_and_counts_without_reload(page, library):
    _search_page(page)
    _type(page, "battlecard")
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    page.locator('[data-facet=type] a[data-value="battlecard"]').click()
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    expect(page.locator('[data-facet=type] a[aria-current="true"]')).to_contain_text("Battlecard")
    expect(page).to_have_url(re.compile(r"q=battlecard&type=battlecard$"))
    expect(page.locator(COUNT)).to_be_focused()
    assert _still_same_page(page)


def test_the_filter_a_search_names_is_offered_and_opens_with_the_box_cleared(page, library):
    """Pillar names are not searched; "why buy" offers the pillar. Its results have no words,
    so the box shows none (it kept "why buy", which the next keystroke would have searched
    for within the pillar)."""
    _search_page(page)
    _type(page, "why buy")
    expect(page.locator(COUNT)).to_have_text("0 results for “why buy”")
    offer = page.locator(".empty-action a").first
    expect(offer).to_have_text("Why Buy? is a pillar: see its 3 assets")
    offer.click()
    expect(page.locator(COUNT)).to_have_text("3 results")
    expect(page).to_have_url(re.compile(r"/search/\?pillar=why-buy$"))
    expect(page.locator("#search-q")).to_have_value("")
    _type(page, "battle")
    expect(page).to_have_url(re.compile(r"/search/\?pillar=why-buy&q=battle$"))
    assert _still_same_page(page)


def test_typing_the_moment_a_facet_result_appears_keeps_that_facet(page, library):
    """The address bar follows the results a frame after they are painted; a search started
    in between still builds on the filter just shown, not on the address bar's old one."""
    _search_page(page)
    _type(page, "battlecard")
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    page.evaluate("""() => document.addEventListener('search:updated', () => {
        const box = document.getElementById('search-q');
        box.value = 'acme';
        box.dispatchEvent(new Event('input', {bubbles: true}));
    }, {once: true})""")
    page.locator('[data-facet=type] a[data-value="battlecard"]').click()
    expect(page.locator(COUNT)).to_have_text("1 result for “acme”")
    expect(page).to_have_url(re.compile(r"/search/\?q=acme&type=battlecard$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search/\?q=battlecard&type=battlecard$"))
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    assert _still_same_page(page)


def test_back_and_forward_restore_each_state_and_reload_keeps_it(page, library):
    _search_page(page)
    _type(page, "battlecard")
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    page.locator('[data-facet=type] a[data-value="battlecard"]').click()
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    expect(page).to_have_url(re.compile(r"/search/\?q=battlecard&type=battlecard$"))
    page.go_back()
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    expect(page.locator('[data-facet=type] a[aria-current="true"]')).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/search/\?q=battlecard$"))
    page.go_back()  # before the rep typed
    expect(page).to_have_url(re.compile(r"/search/$"))
    expect(page.locator("#search-q")).to_have_value("")
    expect(page.locator(COUNT)).to_have_text("3 results")
    page.go_forward()
    page.go_forward()
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    assert _still_same_page(page)
    page.reload()
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    expect(page.locator("#search-q")).to_have_value("battlecard")
    expect(page.locator('[data-facet=type] a[aria-current="true"]')).to_contain_text("Battlecard")


def test_a_slow_typed_search_never_overwrites_a_later_click(page, library):
    """The typed search is still running when the rep clicks a facet: the click carries the
    text typed so far (its links were drawn before), and its results stay, whatever the typed
    search answers later."""
    _search_page(page)
    real = services.rep_search

    def slow_for_the_first_letter(**kwargs):
        if kwargs["params"].get("q") == "a":
            time.sleep(1.5)
        return real(**kwargs)

    with mock.patch.object(services, "rep_search", side_effect=slow_for_the_first_letter):
        page.locator("#search-q").press_sequentially("acme", delay=0)
        page.wait_for_timeout(200)  # "a" is on its way, "cme" waits behind it
        page.locator('[data-facet=type] a[data-value="battlecard"]').click()
        expect(page.locator(COUNT)).to_have_text("1 result for “acme”")
        page.wait_for_timeout(2000)
    expect(page.locator(COUNT)).to_have_text("1 result for “acme”")
    expect(page).to_have_url(re.compile(r"/search/\?q=acme&type=battlecard$"))
    expect(page.locator("#search-q")).to_have_value("acme")


def test_escape_right_after_typing_keeps_the_query_and_no_suggestions_open(page, library):
    """A rep types and presses Escape before the suggestions arrive (they wait for a pause in
    typing): the text stays (the browser would clear a search box), and the suggestions do not
    pop up afterwards. With nothing on its way, Escape still clears the box."""
    _search_page(page)
    box = page.locator("#search-q")
    box.press_sequentially("battlecard", delay=0)
    box.press("Escape")  # within the suggestions' debounce
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    page.wait_for_timeout(600)  # past the debounce and a suggestion request
    expect(box).to_have_value("battlecard")
    expect(page.locator("#search-suggestions")).to_be_hidden()
    box.press("Escape")
    expect(box).to_have_value("")


def test_suggestions_answer_arrow_keys_escape_and_enter(page, library):
    _search_page(page)
    box = page.locator("#search-q")
    _type(page, "battle")
    options = page.locator("#search-suggestions [role=option]")
    expect(options.first).to_be_visible()
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "search-suggestion-1")
    box.press("ArrowUp")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(page.locator("#search-suggestions")).to_be_hidden()
    _type(page, "c")
    expect(options.first).to_be_visible()
    box.press("ArrowDown")
    label = options.nth(0).inner_text()
    box.press("Enter")
    expect(page.locator("h1")).to_have_text(label)


def test_a_typo_in_the_word_being_typed_shows_close_matches_as_suggested(page, library):
    """The box suggested a battlecard for "batlec" while the results said nothing matched;
    now both offer it, and the results say they are close matches."""
    _search_page(page)
    _type(page, "batlec")
    expect(page.locator(".within-typos")).to_have_text(
        "No asset has “batlec” as typed: these are close matches."
    )
    expect(page.locator(".result-link", has_text="Acme battlecard")).to_have_count(1)
    offered = page.locator("#search-suggestions [role=option]", has_text="Acme battlecard")
    expect(offered).to_have_count(1)
    box = page.locator("#search-q")
    box.fill("")
    _type(page, "battlecard")
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    expect(page.locator(".within-typos")).to_have_count(0)
    assert _still_same_page(page)


def test_a_card_fetched_as_the_rep_types_records_use_in_a_chosen_deal(page, library):
    """The fetched results list the rep's deals once; a card's form gets them when opened."""
    from django.contrib.auth import get_user_model

    from analytics.models import Deal, EventKind, UsageEvent

    rep = get_user_model().objects.get(username="rep")
    for number, name in enumerate(["Globex renewal", "Initech expansion"]):
        Deal.objects.create(external_id=f"D-{number}", name=name, stage="x", owner=rep)
    _search_page(page)
    _type(page, "roadmap")
    expect(page.locator(COUNT)).to_have_text("1 result for “roadmap”")
    assert _still_same_page(page)  # these results were fetched, not a page load
    card = page.locator(".result-card").first
    card.locator("summary", has_text="Used in a deal?").click()
    options = card.locator("select[name=deal] option")
    expect(options).to_have_count(3)  # "Choose a deal…" and the two deals
    picker = card.locator("select[name=deal]")
    expect(picker).to_have_value("")  # no deal is chosen for the rep
    card.get_by_role("button", name="Record use").click()  # the browser's `required` stops it
    assert picker.evaluate("select => !select.validity.valid")
    assert _still_same_page(page) and not UsageEvent.objects.exists()  # nothing was posted
    picker.select_option(label="Initech expansion · x")
    card.get_by_role("button", name="Record use").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=roadmap"))
    event = UsageEvent.objects.get(kind=EventKind.USED_IN_DEAL)
    assert event.deal.name == "Initech expansion"


def test_without_javascript_the_page_works_by_full_loads(chromium, live_server, library):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        login(page, "rep", PASSWORD)
        page.goto("/search/")
        page.locator("#search-q").fill("battlecard")
        page.locator("#search-q").press("Enter")
        expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
        expect(page).to_have_url(re.compile(r"/search/\?q=battlecard$"))
        page.locator('[data-facet=type] a[data-value="battlecard"]').click()
        expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
        page.go_back()
        expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
        page.go_forward()
        expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
        page.locator("#search-q").fill("acme")  # a new text keeps the filter, as with JavaScript
        page.locator("#search-q").press("Enter")
        expect(page).to_have_url(re.compile(r"/search/\?q=acme&type=battlecard$"))
        expect(page.locator(COUNT)).to_have_text("1 result for “acme”")
    finally:
        context.close()


def test_at_phone_width_results_fit_and_read(chromium, live_server, library):
    context = chromium.new_context(
        base_url=live_server.url,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        _search_page(page)
        _type(page, "battlecard")
        expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
        # The suggestions cover the results: Escape closes them.
        expect(page.locator("#search-suggestions")).to_be_visible()
        page.locator("#search-q").press("Escape")
        expect(page.locator("#search-suggestions")).to_be_hidden()
        page.locator("details.facets > summary").click()
        page.locator('[data-facet=type] a[data-value="battlecard"]').click()
        expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
        expect(page.locator("details.facets")).to_have_attribute("open", "")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        title = page.locator(".result-link").first
        expect(title).to_be_visible()
        box = title.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.snippet')).fontSize)"
        )
        assert size >= 14, f"snippet text is {size}px at phone width"
        assert _still_same_page(page)
        # A long unbroken query (a pasted file name) wraps; the page does not widen.
        page.locator("#search-q").fill("")
        _type(page, "pricing_calculator_for_tidewater_pipelines_" + "x" * 40)
        expect(page.locator(".no-results")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()


def _slow_for(prefix: str, seconds: float):
    """Make the server's searches whose text starts with ``prefix`` take ``seconds``."""
    real = services.rep_search

    def slow(**kwargs):
        if kwargs["params"].get("q", "").startswith(prefix):
            time.sleep(seconds)
        return real(**kwargs)

    return mock.patch.object(services, "rep_search", side_effect=slow)


def test_enter_before_the_typed_results_arrive_is_a_new_history_entry(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/?q=battlecard")
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    box = page.locator("#search-q")
    box.select_text()
    with _slow_for("r", 1.0):
        box.press_sequentially("roadmap", delay=0)
        box.press("Enter")
        expect(page.locator(COUNT)).to_have_text(re.compile(r"for “roadmap”$"))
    expect(page).to_have_url(re.compile(r"/search/\?q=roadmap$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search/\?q=battlecard$"))
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")


def test_deal_mode_keeps_the_filters_and_sort_and_typing_keeps_the_filters(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/?q=battlecard&type=battlecard&sort=newest")
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    page.locator("details.deal-mode > summary").click()
    page.locator("#deal-stage").select_option("decide")
    page.get_by_role("button", name="Rank for this deal").click()
    expect(page).to_have_url(
        re.compile(r"/search/\?q=battlecard&type=battlecard&sort=newest&deal_stage=decide$")
    )
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")


def test_typing_after_a_refused_parameter_starts_a_fresh_search(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/?sort=loudest")
    expect(page.locator("#search-region [role=alert]")).to_contain_text("sort must be one of")
    _type(page, "battlecard")
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    expect(page).to_have_url(re.compile(r"/search/\?q=battlecard$"))
