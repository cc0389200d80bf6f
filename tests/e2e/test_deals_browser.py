"""My deals in a browser: a rep opens a deal and gets recommendations for its stage without
typing anything; the deal panel loads inside a CRM's frame from an allowed origin and is
refused from any other."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from accounts.roles import REP
from analytics.services import DealInput, deal_upsert
from enablement.env import csp_frame_ancestors
from search.engines import use_engine
from search.engines.embedded import EmbeddedEngine
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deals(tmp_path):
    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        rep = make_user("rita", role=REP)
        make_asset("Discovery questions", stages=("discover",), summary="Ask these first.")
        make_asset("Pricing proposal template", stages=("decide",), summary="For proposals.")
        make_asset("Company overview", stages=("evaluate",), summary="Who we are.")
        for external_id, name, stage in [
            ("006P", "Globex expansion", "Proposal/Price Quote"),
            ("006Q", "Initech pilot", "Prospecting"),
        ]:
            deal_upsert(
                data=DealInput(external_id=external_id, name=name, stage=stage, owner=rep.username)
            )
        yield


def test_a_rep_opens_a_deal_and_gets_recommendations_for_its_stage(page, deals):
    login(page, "rita", PASSWORD)
    page.get_by_role("link", name="My deals").click()
    page.get_by_role("link", name="Globex expansion").click()
    expect(page.locator("#deal-facts")).to_contain_text("Proposal/Price Quote")
    first = page.locator("#recommendations > li").first
    expect(first).to_contain_text("Pricing proposal template")
    expect(first.locator(".reason")).to_contain_text(["Decide stage"])
    first.get_by_role("button", name="Used in this deal").click()
    expect(page.locator(".messages")).to_contain_text("Pricing proposal template used in")
    expect(page.locator("#touches")).to_contain_text("Pricing proposal template · Used in deal")

    page.get_by_role("link", name="My deals").click()
    page.get_by_role("link", name="Initech pilot").click()
    expect(page.locator("#recommendations > li").first).to_contain_text("Discovery questions")


def test_a_rep_shares_from_a_deal_and_copies_the_link_without_leaving_the_deal(page, deals):
    """An outside audit: each share left the deal for the list of links, and sharing again
    made one more identical link. Now the deal lists its links to copy, and the card offers
    the link already made."""
    login(page, "rita", PASSWORD)
    page.goto("/deals/006P/")
    card = page.locator("#recommendations > li").first
    expect(card).to_contain_text("Pricing proposal template")
    card.get_by_role("button", name="Share with the buyer").click()
    expect(page).to_have_url(re.compile(r"/deals/006P/#link-\d+$"))
    expect(page.locator(".messages")).to_contain_text("New link #")
    row = page.locator("#deal-links > li")
    expect(row).to_have_count(1)
    expect(row.locator("input.share-url")).to_have_value(re.compile(r"^http.*/s/"))
    expect(row).to_be_in_viewport()  # the page opened at the link
    card = page.locator("#recommendations > li").first
    expect(card.locator(".in-deal")).to_contain_text("Shared")
    expect(card.get_by_role("button", name="Share with the buyer")).to_have_count(0)
    card.get_by_role("link", name="Your buyer link to Pricing proposal template").click()
    expect(row).to_be_in_viewport()


class _CrmPage(BaseHTTPRequestHandler):
    """A stand-in for a CRM page that frames the deal panel."""

    frame_url = ""

    def do_GET(self):  # noqa: N802 - the http.server API
        frame = f'<iframe src="{self.frame_url}" width="900" height="600"></iframe>'
        body = f"<!doctype html><title>CRM</title>{frame}"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def crm_pages(live_server):
    """Two CRM pages on other origins of the same host (so the session cookie goes along,
    as it does for a CRM on the same site): the first is allowed to frame the panel."""
    handler = type("Handler", (_CrmPage,), {"frame_url": f"{live_server.url}/deals/006P/"})
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://localhost:{server.server_address[1]}" for server in servers]
    for server in servers:
        server.shutdown()


def test_the_deal_panel_embeds_only_from_an_allowed_origin(page, deals, crm_pages, settings):
    allowed, other = crm_pages
    settings.DEAL_EMBED_CSP = csp_frame_ancestors(settings.CONTENT_SECURITY_POLICY, [allowed])
    login(page, "rita", PASSWORD)
    refusals = []
    page.on("console", lambda message: refusals.append(message.text))

    page.goto(f"{allowed}/")
    frame = page.frame_locator("iframe")
    expect(frame.locator("#deal-name")).to_have_text("Globex expansion")
    expect(frame.locator("#recommendations > li").first).to_contain_text("Pricing proposal")
    assert not [text for text in refusals if "frame-ancestors" in text]

    page.goto(f"{other}/")
    page.wait_for_load_state("load")
    for _ in range(50):  # Chromium reports the refusal on the console once it refused
        if [text for text in refusals if "frame-ancestors" in text]:
            break
        page.wait_for_timeout(100)
    assert [text for text in refusals if "frame-ancestors" in text]
    expect(frame.locator("#deal-name")).to_have_count(0)
