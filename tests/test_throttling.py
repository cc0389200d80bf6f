"""Login throttling (django-axes) on /login/, /admin/login/ and API keys and tokens: after
LOGIN_FAILURE_LIMIT failures the client is refused, told when to retry, even with the
right password; an unknown key or token is refused the same way, while a valid one still
opens the API (keys cannot be guessed; an integration still sending a revoked key must not
take the others at its address down)."""

import json

import pytest
from django.conf import settings
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, MARKETER
from analytics.services import api_key_create
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_repeated_bad_passwords_lock_the_login_and_say_when_to_retry(url):
    user = make_user(role=MARKETER)
    client = Client()
    for _ in range(LIMIT - 1):
        response = client.post(url, {"username": user.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    last = client.post(url, {"username": user.username, "password": "wrong"})
    assert last.status_code == 429
    locked = client.post(url, {"username": user.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Try again after" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_do_not_lock_anyone_out():
    user = make_user()
    client = Client()
    for _ in range(LIMIT - 1):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    assert (
        client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    )


def _events(key):
    return Client().post(
        "/api/v1/events",
        json.dumps({"events": []}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_guessing_api_keys_is_throttled_and_valid_keys_still_work():
    """An outside audit: five failures from one address (one integration with a revoked key)
    locked every valid key and token at that address out for 15 minutes."""
    _, good = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")
    for number in range(LIMIT - 1):
        assert _events(f"ea_guess{number}").status_code == 401
    refused = _events("ea_last_guess")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "retry after" in refused.json()["detail"]
    assert _events(good).status_code == 200
    assert _events("ea_and_another").status_code == 429  # the good key unlocked nothing


def test_guessing_wagtail_api_tokens_on_the_search_api_is_throttled():
    from wagtail.models import APIToken

    _, token = APIToken.create_token(user=make_user(role=ENABLEMENT_LEAD), name="search")
    for number in range(LIMIT - 1):
        response = Client().get("/api/v1/search", HTTP_AUTHORIZATION=f"Bearer guess{number}")
        assert response.status_code == 401
    response = Client().get("/api/v1/search", HTTP_AUTHORIZATION="Bearer another")
    assert response.status_code == 429 and "Retry-After" in response
    found = Client().get("/api/v1/search?q=x", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert found.status_code == 200


def test_a_key_of_the_other_kind_is_refused_saying_so_and_locks_nobody_out():
    """An integration sending its API key to the search API (or a Wagtail token to the
    events API) is a configuration mistake, not a guess: neither can ever open that API."""
    from wagtail.models import APIToken

    lead = make_user(role=ENABLEMENT_LEAD)
    _, key = api_key_create(user=lead, name="crm")
    _, token = APIToken.create_token(user=lead, name="search")
    for _ in range(LIMIT + 2):
        wrong = Client().get("/api/v1/search?q=x", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert wrong.status_code == 401
        assert "An API key (ea_…) does not open this API" in wrong.json()["detail"]
        assert "Wagtail API token" in wrong.json()["detail"]
        wrong = _events(token)
        assert wrong.status_code == 401
        assert "A Wagtail API token (wagtail_…) does not open this API" in wrong.json()["detail"]
    assert _events(key).status_code == 200
    found = Client().get("/api/v1/search?q=x", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert found.status_code == 200
