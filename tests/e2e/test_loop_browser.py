"""The loop in a browser: a rep's search that found nothing becomes a request, another rep
backs it, marketing answers it with an asset, and both reps are told and find it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import MARKETER, REP
from analytics.models import ContentRequest, ContentRequestVote
from search.engines import use_engine
from search.engines.embedded import EmbeddedEngine
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(tmp_path):
    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        make_user("ana", role=REP)
        make_user("ben", role=REP)
        make_user("mia", role=MARKETER)
        make_asset("Roadmap briefing", summary="Where we go next.")
        yield


def _sign_out(page) -> None:
    page.context.clear_cookies()


def _ask_from_an_empty_search(page, username: str) -> None:
    login(page, username, PASSWORD)
    page.goto("/search/?q=zebra+pricing")
    expect(page.locator(".result-count")).to_have_text("0 results for “zebra pricing”")
    page.get_by_role("link", name="Ask marketing for “zebra pricing”").click()
    expect(page.locator("#id_text")).to_have_value("zebra pricing")


def test_a_request_goes_round_the_loop(page, people):
    _ask_from_an_empty_search(page, "ana")
    page.fill("#id_private_note", "Zebra Corp asked on Tuesday's call")
    page.get_by_role("button", name="Ask marketing").click()
    expect(page.locator(".messages")).to_contain_text("Asked marketing for “zebra pricing”")
    expect(page.locator("#my-requests")).to_contain_text("Zebra Corp asked")
    _sign_out(page)

    login(page, "ben", PASSWORD)
    page.goto("/analytics/requests/")
    row = page.locator("#open-requests tr", has_text="zebra pricing")
    expect(row).not_to_contain_text("Zebra Corp asked")  # ana's note is hers and marketing's
    row.get_by_role("button", name="Me too").click()
    expect(page.locator("#my-requests")).to_contain_text("zebra pricing")
    assert ContentRequestVote.objects.filter(user__username="ben").count() == 1
    _sign_out(page)

    answer = make_asset("Zebra pricing guide", summary="How we price for zebras.")
    request = ContentRequest.objects.get()
    login(page, "mia", PASSWORD)
    page.goto("/admin/analytics/requests/")
    page.get_by_role("link", name="zebra pricing").first.click()
    expect(page.locator("#id_private_note")).to_have_value("Zebra Corp asked on Tuesday's call")
    page.select_option("#id_status", "done")
    chooser = page.locator("#id_fulfilled_by-chooser")
    chooser.get_by_role("button", name="Choose a page").click()
    modal = page.locator(".modal-dialog")
    modal.locator("#id_q").fill("Zebra")
    modal.get_by_role("link", name="Zebra pricing guide").click()
    expect(chooser.locator("[data-chooser-title]")).to_contain_text("Zebra pricing guide")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator(".messages")).to_contain_text("updated")
    request.refresh_from_db()
    assert request.status == "done" and request.fulfilled_by_id == answer.pk
    _sign_out(page)

    for username in ("ana", "ben"):
        login(page, username, PASSWORD)
        page.goto("/analytics/requests/")
        expect(page.locator("#bell .bell-count")).to_have_text("1")
        page.locator("#bell").click()
        page.get_by_role("button", name=re.compile("is answered: Zebra pricing guide")).click()
        expect(page.locator("h1")).to_have_text("Zebra pricing guide")
        expect(page.locator("#bell .bell-count")).to_have_count(0)
        _sign_out(page)
