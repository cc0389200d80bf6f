"""In Chromium: every page the library serves (rep portal, buyer page, dashboard, Wagtail's
admin, the API docs) carries a Content-Security-Policy, runs no inline or third-party script,
trips no policy violation, and loads nothing from another host."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.usage import share_link_create
from search.engines import use_engine
from search.engines.embedded import EmbeddedEngine
from tests.analytics.helpers import walk_deal
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_asset, make_document, make_section, make_user

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def site(tmp_path):
    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        rep = make_user("rita", role=REP)
        make_user("leo", role=ENABLEMENT_LEAD, is_superuser=True)
        section = make_section("Pricing")
        asset = make_asset(
            "Pricing deck",
            parent=section,
            document=make_document("pricing.txt", b"prices"),
            review_by=None,
        )
        deal = walk_deal("006CSP", ["discover"], owner=rep.username)
        _, token = share_link_create(user=rep, asset=asset, deal=deal)
        yield {"asset": asset, "section": section, "token": token}


def _watch(page, live_server_url):
    """Record every request to another host, and each response's CSP header."""
    own = urlparse(live_server_url).netloc
    outside, headers = [], {}
    page.add_init_script(RECORD_VIOLATIONS)

    def on_request(request):
        netloc = urlparse(request.url).netloc
        if request.url.startswith(("http://", "https://")) and netloc != own:
            outside.append(request.url)

    def on_response(response):
        if response.request.resource_type == "document":
            headers[response.url] = response.headers.get("content-security-policy", "")

    page.on("request", on_request)
    page.on("response", on_response)
    return outside, headers


def _visit(page, url: str) -> None:
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    assert response.status < 500, (url, response.status)
    violations = page.evaluate("window.__csp")
    assert violations == [], (url, violations)


def _assert_policy(headers: dict) -> None:
    assert headers
    for url, policy in headers.items():
        assert "script-src 'self'" in policy, url
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0], url


def test_rep_pages_and_the_buyer_page(page, live_server, site):
    outside, headers = _watch(page, live_server.url)
    page.goto("/login/")
    page.wait_for_load_state()
    assert page.evaluate("window.__csp") == []
    login(page, "rita", PASSWORD)
    for url in (
        "/",
        site["section"].url,
        site["asset"].url,
        "/search/?q=pricing",
        "/analytics/share-links/",
        f"/s/{site['token']}/",
    ):
        _visit(page, url)
    page.goto(site["asset"].url)
    page.select_option("#share-form select[name=deal]", index=1)  # after "Choose a deal…"
    page.click("#share-form button[type=submit]")
    page.wait_for_url("**/analytics/share-links/**")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click(".js-copy >> nth=0")
    page.wait_for_function("document.querySelector('.js-copy').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator(".share-url >> nth=0").input_value()
    assert "/s/" in copied
    _assert_policy(headers)
    assert outside == []


def test_dashboard_admin_and_api_docs(page, live_server, site):
    outside, headers = _watch(page, live_server.url)
    login(page, "leo", PASSWORD)
    for url in (
        "/analytics/",
        "/analytics/assets/",
        "/admin/",
        f"/admin/pages/{site['asset'].pk}/edit/",
        "/admin/snippets/accounts/team/",
        "/admin/analytics/api-keys/",
        "/admin/users/",
        "/api/v1/docs",
    ):
        _visit(page, url)
    page.goto(f"/admin/pages/{site['asset'].pk}/edit/")
    page.wait_for_load_state("networkidle")
    # The review date's chooser, which Wagtail starts with an inline script, still starts.
    assert page.locator("[data-csp-init=date][data-csp-started]").count() >= 1
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # Swagger UI rendered locally
    _assert_policy(headers)
    assert outside == [], outside


def test_injected_inline_and_third_party_scripts_do_not_run(page, live_server, site):
    _watch(page, live_server.url)
    login(page, "rita", PASSWORD)
    page.goto(site["asset"].url)
    page.evaluate(
        """() => {
        const inline = document.createElement("script");
        inline.textContent = "window.__inlineRan = true";
        document.body.appendChild(inline);
        const remote = document.createElement("script");
        remote.src = "https://cdn.example.com/evil.js";
        document.body.appendChild(remote);
        const handler = document.createElement("img");
        handler.setAttribute("src", "/nope.png");
        handler.setAttribute("onerror", "window.__handlerRan = true");
        document.body.appendChild(handler);
    }"""
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.__inlineRan") is None
    assert page.evaluate("window.__handlerRan") is None
    violations = page.evaluate("window.__csp")
    assert any(v.startswith("script-src") and "cdn.example.com" in v for v in violations)
    assert any(v.startswith("script-src") and "inline" in v for v in violations)
