"""Addresses and methods the API does not have: a client always gets JSON naming the problem
(never the site's pages, a redirect or a text answer), whoever it is and however it signs in."""

import json

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.services import api_key_create
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def callers():
    """Signed out, with a bearer key, and signed in (each checking CSRF like a real client)."""
    lead = make_user(role=ENABLEMENT_LEAD)
    key = api_key_create(user=lead, name="crm")[1]
    session = Client(enforce_csrf_checks=True)
    session.force_login(lead)
    return {
        "signed out": (Client(enforce_csrf_checks=True), {}),
        "key": (Client(enforce_csrf_checks=True), {"HTTP_AUTHORIZATION": f"Bearer {key}"}),
        "session": (session, {}),
    }


def _send(caller, method: str, url: str):
    client, headers = caller
    body = json.dumps({"events": []}) if method not in ("GET", "HEAD") else ""
    return client.generic(method, url, body, content_type="application/json", **headers)


@pytest.mark.parametrize(
    ("method", "url", "meant"),
    [
        ("POST", "/api/v1/events/", "/api/v1/events"),
        ("POST", "/api/v1/deals/", "/api/v1/deals"),
        ("POST", "/api/v1/deals/006A/stages/", "/api/v1/deals/006A/stages"),
        ("GET", "/api/v1/deals/mine/", "/api/v1/deals/mine"),
        ("GET", "/api/v1/analytics/assets/", "/api/v1/analytics/assets"),
    ],
)
def test_a_trailing_slash_too_many_is_a_json_404_naming_the_address(callers, method, url, meant):
    """It was Django's HTML CSRF page for a POST, the sign-in page signed out, or the site's
    HTML "Nothing here"."""
    for name, caller in callers.items():
        response = _send(caller, method, url)
        assert response.status_code == 404, name
        assert response["Content-Type"] == "application/json", name
        assert response.json() == {"detail": f"No API endpoint at {url}. Did you mean {meant}?"}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "url", ["/api/v1/nope", "/api/v1/nope/", "/api/v1/", "/api/v1", "/api/", "/api", "/api/v2/x"]
)
def test_an_unknown_api_address_is_a_json_404_never_a_redirect_or_a_page(callers, method, url):
    """Without a trailing slash it was a 301 to the address with one (a POST's body lost)."""
    for name, caller in callers.items():
        response = _send(caller, method, url)
        assert response.status_code == 404, name
        assert response.json() == {"detail": f"No API endpoint at {url}."}, name


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("GET", "/api/v1/events", "POST"),
        ("PUT", "/api/v1/events", "POST"),
        ("DELETE", "/api/v1/deals", "POST"),
        ("POST", "/api/v1/analytics/assets", "GET, HEAD"),
        ("HEAD", "/api/v1/events", "POST"),
    ],
)
def test_a_method_an_endpoint_does_not_take_is_a_json_405_with_allow(callers, method, url, allowed):
    """ninja answered "Method not allowed" as text."""
    for name, caller in callers.items():
        response = _send(caller, method, url)
        assert response.status_code == 405, name
        assert response["Allow"] == allowed
        if method != "HEAD":  # no body
            assert response.json() == {
                "detail": f"{method} is not allowed at {url}; it takes {allowed}."
            }


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize("url", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_a_method_the_api_documents_do_not_take_is_a_json_405_with_allow(callers, method, url):
    """Each was Django's HTML CSRF page (a 403), whoever asked."""
    for name, caller in callers.items():
        response = _send(caller, method, url)
        assert response.status_code == 405, name
        assert response["Allow"] == "GET, HEAD", name
        assert response.json() == {
            "detail": f"{method} is not allowed at {url}; it takes GET, HEAD."
        }, name
        assert _send(caller, "GET", url).status_code == 200, name
        assert _send(caller, "HEAD", url).status_code == 200, name


@pytest.mark.parametrize("url", ["/api/v1/deals/mine", "/api/v1/analytics/assets?window=90d"])
def test_head_answers_as_get_does_without_a_body(callers, url):
    """HEAD was a 405 wherever GET was a 200. A caller refused a GET is refused a HEAD."""
    for name, caller in callers.items():
        got, head = _send(caller, "GET", url), _send(caller, "HEAD", url)
        assert head.status_code == got.status_code == (401 if name == "signed out" else 200)
        for header in ("Content-Type", "Content-Length", "Allow", "WWW-Authenticate"):
            assert head.get(header) == got.get(header), (name, header)
    rep = Client()
    rep.force_login(make_user(role=REP))
    got, head = rep.get("/api/v1/analytics/assets"), rep.head("/api/v1/analytics/assets")
    assert head.status_code == got.status_code == 403


def test_the_sites_own_pages_still_answer_beside_the_api():
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    assert client.get("/apiary/").status_code == 404  # a page address, not the API's
    assert "text/html" in client.get("/apiary/")["Content-Type"]
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_a_head_on_the_search_api_records_no_search(callers):
    """A HEAD runs as the GET does, which records every search: an uptime check probing the
    search API with HEAD filled the searches the dashboard reports."""
    from search.models import SearchEvent

    got = _send(callers["session"], "GET", "/api/v1/search?q=pricing")
    head = _send(callers["session"], "HEAD", "/api/v1/search?q=roadmap")
    assert head.status_code == got.status_code == 200
    assert list(SearchEvent.objects.values_list("query", flat=True)) == ["pricing"]
