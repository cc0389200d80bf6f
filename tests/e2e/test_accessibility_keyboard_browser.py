"""Accessibility audit findings, checked in a real browser: the library filters wait for the
keyboard user, the search page has one h1 and its headings in order, the notification e-mail
radios are a named group, "Copy link" keeps focus and says it copied, the suggestions hold no
links, Back keeps focus on the results, and a failed sign-in is announced."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from search import services
from search.engines import SearchUnavailable
from tests.e2e.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
COUNT = ".result-count"


def _mark_page(page):
    page.evaluate("window.samePage = true")  # gone if the browser loads another page


def _still_same_page(page) -> bool:
    return page.evaluate("window.samePage === true")


def _headings(page) -> list[tuple[str, str]]:
    """The page's headings as assistive technology lists them (hidden ones left out)."""
    found = page.evaluate("""() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
        .filter(h => h.getClientRects().length || h.classList.contains('visually-hidden'))
        .filter(h => !h.closest('details:not([open]) > :not(summary)'))
        .map(h => [h.tagName.toLowerCase(), h.textContent.trim()])""")
    return [tuple(heading) for heading in found]


# --- 1. Library filters (WCAG 3.2.2) -------------------------------------------------------------


def test_arrow_keys_on_a_library_filter_do_not_reload_and_apply_filters_applies(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/")
    _mark_page(page)
    select = page.locator("#filter-type")
    select.focus()
    select.press("ArrowDown")
    page.wait_for_timeout(500)  # a submit would have started loading by now
    assert _still_same_page(page)
    expect(select).to_be_focused()
    chosen = select.input_value()
    assert chosen  # the arrow moved off "Any type"
    assert "type=" not in page.url
    select.press("ArrowDown")
    page.wait_for_timeout(300)
    assert _still_same_page(page)
    expect(select).to_be_focused()
    select.press("ArrowUp")  # back to the first type
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(rf"[?&]type={chosen}(&|$)"))
    expect(page.locator("#filter-type")).to_have_value(chosen)


def test_enter_on_a_library_filter_applies_it(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/")
    select = page.locator("#filter-type")
    select.focus()
    select.press("ArrowDown")
    chosen = select.input_value()
    select.press("Enter")
    expect(page).to_have_url(re.compile(rf"[?&]type={chosen}(&|$)"))


def test_a_filter_chosen_with_the_pointer_still_applies_at_once(page, library):
    """Mouse and touch users keep the instant apply: a change that follows a press on the
    select submits (the native picker is outside the page, so the press is dispatched)."""
    login(page, "rep", PASSWORD)
    page.goto("/")
    select = page.locator("#filter-type")
    select.dispatch_event("pointerdown")
    select.select_option("battlecard")
    expect(page).to_have_url(re.compile(r"[?&]type=battlecard(&|$)"))


# --- 2. One h1 on the search page ----------------------------------------------------------------


def test_search_page_has_one_h1_before_its_other_headings(page, library):
    login(page, "rep", PASSWORD)
    for url in ("/search/", "/search/?q=battlecard", "/search/?page=999", "/search/?sort=bogus"):
        page.goto(url)
        expect(page.locator("h1")).to_have_count(1)
        headings = _headings(page)
        assert headings[0] == ("h1", "Search"), (url, headings)
        levels = [int(tag[1]) for tag, _ in headings]
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (url, headings)
    page.goto("/search/?q=battlecard")
    tags = [tag for tag, _ in _headings(page)]
    assert tags[:3] == ["h1", "h2", "h3"]  # the page, "Filters", then the first facet group
    assert tags.count("h2") == 2  # "Filters" and the results


def test_search_page_keeps_one_h1_as_results_update_in_place(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/")
    _mark_page(page)
    page.locator("#search-q").press_sequentially("battlecard", delay=40)
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    expect(page.locator("h1")).to_have_count(1)
    assert _still_same_page(page)


def test_search_unavailable_page_has_one_h1(page, library):
    login(page, "rep", PASSWORD)
    with mock.patch.object(services, "rep_search", side_effect=SearchUnavailable("down")):
        response = page.goto("/search/?q=battlecard")
    assert response.status == 503
    expect(page.locator("h1")).to_have_count(1)
    assert _headings(page)[0] == ("h1", "Search unavailable")


# --- 3. Notification e-mail choice ---------------------------------------------------------------


def test_notification_email_radios_are_a_group_named_by_its_legend(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/notifications/")
    group = page.get_by_role("group", name="E-mail me")
    expect(group).to_have_count(1)
    expect(group.get_by_role("radio")).to_have_count(3)
    expect(page.locator("fieldset > legend", has_text="E-mail me")).to_have_count(1)


# --- 4. Copy link --------------------------------------------------------------------------------


def _share_link():
    from analytics.models import Deal
    from analytics.usage import share_link_create
    from cms.models import AssetPage

    rep = get_user_model().objects.get(username="rep")
    deal = Deal.objects.create(external_id="D-1", name="Globex renewal", stage="x", owner=rep)
    asset = AssetPage.objects.get(title="Roadmap briefing")  # a deck: shareable with buyers
    share_link_create(user=rep, asset=asset, deal=deal)


def test_copy_link_keeps_focus_on_the_button_and_announces_it(page, library, live_server):
    _share_link()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, "rep", PASSWORD)
    page.goto("/analytics/share-links/")
    button = page.get_by_role("button", name="Copy link")
    field = page.locator("input.share-url")
    button.focus()
    button.press("Enter")
    status = page.get_by_role("status").filter(has_text="copied")
    expect(status).to_have_text(re.compile(r"Link copied"))
    expect(status).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("button", name="Copied")).to_be_focused()
    assert page.evaluate("navigator.clipboard.readText()") == field.input_value()


def test_copy_link_without_the_clipboard_api_still_keeps_focus(page, library):
    _share_link()
    login(page, "rep", PASSWORD)
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.goto("/analytics/share-links/")
    button = page.get_by_role("button", name="Copy link")
    button.click()
    status = page.get_by_role("status").filter(has_text="Link")
    expect(status).to_have_text(re.compile(r"Link (copied|selected)"))
    if "copied" in status.inner_text():
        expect(button).to_be_focused()
    else:  # the browser would not copy: the field is selected for Ctrl+C
        expect(page.locator("input.share-url")).to_be_focused()


# --- 5. Suggestions ------------------------------------------------------------------------------


def test_suggestion_options_hold_no_links_and_a_click_opens_one(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/")
    page.locator("#search-q").press_sequentially("acme", delay=40)
    options = page.locator("#search-suggestions [role=option]")
    expect(options.first).to_be_visible()
    expect(page.locator("#search-suggestions a, #search-suggestions [tabindex]")).to_have_count(0)
    label = options.first.inner_text()
    options.first.click()
    expect(page.locator("h1")).to_have_text(label)


def test_enter_on_a_suggestion_opens_it_and_arrow_down_reopens_after_escape(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/")
    box = page.locator("#search-q")
    box.press_sequentially("acme", delay=40)
    options = page.locator("#search-suggestions [role=option]")
    expect(options.first).to_be_visible()
    box.press("Escape")
    expect(page.locator("#search-suggestions")).to_be_hidden()
    expect(box).to_have_value("acme")
    box.press("ArrowDown")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    label = options.first.inner_text()
    box.press("Enter")
    expect(page.locator("h1")).to_have_text(label)


# --- 6. Back keeps focus on the results ----------------------------------------------------------


def test_back_after_a_facet_click_puts_focus_on_the_results_heading(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/?q=battlecard")
    _mark_page(page)
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    page.locator('[data-facet=type] a[data-value="battlecard"]').click()
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    expect(page.locator("#results-heading")).to_be_focused()
    expect(page).to_have_url(re.compile(r"type=battlecard$"))
    page.go_back()
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    expect(page.locator("#results-heading")).to_be_focused()
    page.go_forward()
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    expect(page.locator("#results-heading")).to_be_focused()
    assert _still_same_page(page)


def test_back_while_typing_in_the_box_leaves_focus_in_the_box(page, library):
    login(page, "rep", PASSWORD)
    page.goto("/search/?q=battlecard")
    page.locator('[data-facet=type] a[data-value="battlecard"]').click()
    expect(page.locator(COUNT)).to_have_text("1 result for “battlecard”")
    # The address follows a frame after the paint (search.js): Back before it leaves the page.
    expect(page).to_have_url(re.compile(r"type=battlecard$"))
    page.locator("#search-q").focus()
    page.go_back()
    expect(page.locator(COUNT)).to_have_text("2 results for “battlecard”")
    expect(page.locator("#search-q")).to_be_focused()


# --- 7. Sign-in error and navigation -------------------------------------------------------------


def test_a_failed_sign_in_is_announced_and_tied_to_the_fields(page, library):
    page.goto("/login/")
    page.fill("#id_username", "rep")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("didn't match")
    for field in ("#id_username", "#id_password"):
        expect(page.locator(field)).to_have_attribute("aria-invalid", "true")
        expect(page.locator(field)).to_have_accessible_description(re.compile("didn't match"))
    login(page, "rep", PASSWORD)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(1)


# --- The "/" shortcut can be turned off (WCAG 2.1.4) ---------------------------------------------


def test_the_slash_shortcut_can_be_turned_off_and_stays_off(page, library):
    """One key alone moving focus must be possible to turn off: a speech-input user saying
    "slash" in a comment would land in the search box."""
    login(page, "rep", PASSWORD)
    page.goto("/")
    box = page.locator("#search-q")
    toggle = page.get_by_role("button", name="Press / to search")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_text("Press / to search: on")
    page.keyboard.press("/")
    expect(box).to_be_focused()
    assert box.input_value() == ""  # the key focused the box and typed nothing

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(toggle).to_have_text("Press / to search: off")
    assert "(press /)" not in box.get_attribute("placeholder")
    page.evaluate("document.activeElement.blur()")  # focus off the box and the button
    page.keyboard.press("/")
    expect(box).not_to_be_focused()

    page.goto("/search/")  # another page, the same choice
    toggle = page.get_by_role("button", name="Press / to search")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("/")
    expect(page.locator("#search-q")).not_to_be_focused()
    toggle.click()  # and back on
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    expect(page.locator("#search-q")).to_be_focused()
    assert "(press /)" in page.locator("#search-q").get_attribute("placeholder")
