"""Login throttling (django-axes) on /login/, /admin/login/ and API keys and tokens: after
LOGIN_FAILURE_LIMIT failures the client is refused, told when to retry, even with the
right password; an unknown key or token is refused the same way, while a valid one still
opens the API (keys cannot be guessed; an integration still sending a revoked key must not
take the others at its address down). Password spraying from one address (many usernames,
a wrong password each) is refused at LOGIN_IP_FAILURE_LIMIT, that address only. With the
database locked by another writer, a sign-in answers "busy" within about a second, never
signs anyone in and never counts past the limit."""

import json
import re
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.test import Client, RequestFactory, override_settings

from accounts.roles import ENABLEMENT_LEAD, MARKETER
from accounts.throttle import client_address
from analytics.services import api_key_create
from tests.factories import PASSWORD, make_user
from tests.locks import table_held_busy
from tests.test_settings_env import manage_check

pytestmark = pytest.mark.django_db
LIMIT = settings.AXES_FAILURE_LIMIT
ADDRESS_LIMIT = settings.LOGIN_IP_FAILURE_LIMIT
ROOT = Path(__file__).resolve().parent.parent
SPRAYER, ELSEWHERE = "203.0.113.7", "198.51.100.9"


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


def _spray(client, count: int, *, start: int = 0) -> list[int]:
    """One wrong password for each of ``count`` usernames (most of them nobody's)."""
    return [
        client.post("/login/", {"username": f"sprayed{n}", "password": "Summer2026!"}).status_code
        for n in range(start, start + count)
    ]


def test_spraying_one_address_locks_that_address_out_and_says_so():
    user = make_user()
    sprayer = Client(REMOTE_ADDR=SPRAYER)
    assert _spray(sprayer, ADDRESS_LIMIT - 1) == [200] * (ADDRESS_LIMIT - 1)
    assert _spray(sprayer, 1, start=ADDRESS_LIMIT)[0] == 429
    refused = sprayer.post("/admin/login/", {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    page = refused.content.decode()
    assert "from your network address have failed recently" in page
    assert "paused for every account" in page and "Try again after" in page
    assert "_auth_user_id" not in sprayer.session
    elsewhere = Client(REMOTE_ADDR=ELSEWHERE)
    assert elsewhere.post("/login/", {"username": "sprayed1", "password": "x"}).status_code == 200
    assert (
        elsewhere.post("/login/", {"username": user.username, "password": PASSWORD}).status_code
        == 302
    )


def test_the_address_lockout_page_does_not_say_whether_a_username_exists():
    user = make_user()
    sprayer = Client(REMOTE_ADDR=SPRAYER)
    _spray(sprayer, ADDRESS_LIMIT)
    pages = [
        sprayer.post("/login/", {"username": name, "password": "x"})
        for name in (user.username, "nobody-at-all")
    ]
    assert [page.status_code for page in pages] == [429, 429]
    assert len({re.sub(r"\d", "", page.content.decode()) for page in pages}) == 1


def test_a_sprayer_naming_other_addresses_in_x_forwarded_for_is_still_paused():
    """With no proxy in front (PROXY_COUNT 0) the header is the client's own word."""
    sprayer = Client(REMOTE_ADDR=SPRAYER)
    codes = [
        sprayer.post(
            "/login/",
            {"username": f"sprayed{n}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        ).status_code
        for n in range(ADDRESS_LIMIT)
    ]
    assert codes[-1] == 429


@override_settings(PROXY_COUNT=1)
def test_behind_a_proxy_each_client_is_counted_at_its_own_address():
    """Every request comes from the proxy (REMOTE_ADDR): counting that address would pause
    the whole company after one sprayer."""
    colleague = make_user()
    proxy = "10.0.0.2"
    sprayer = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {SPRAYER}")
    assert _spray(sprayer, ADDRESS_LIMIT)[-1] == 429
    office = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    response = office.post("/login/", {"username": colleague.username, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "192.0.2.1", "10.0.0.2"),
        (1, "192.0.2.1, 203.0.113.7", "203.0.113.7"),
        (2, "192.0.2.1, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.2"),  # fewer entries than proxies: the connection's
        (1, "not-an-address", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_the_client_address_is_what_the_outermost_proxy_saw(proxies, forwarded, address):
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.2")
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    with override_settings(PROXY_COUNT=proxies):
        assert client_address(request) == address


def test_an_office_behind_one_address_with_a_few_typos_is_not_locked_out():
    people = [make_user() for _ in range((ADDRESS_LIMIT - 1) // 2)]
    office = Client(REMOTE_ADDR=SPRAYER)
    for person in people:
        for _ in range(2):
            assert (
                office.post(
                    "/login/", {"username": person.username, "password": "typo"}
                ).status_code
                == 200
            )
    for person in people:
        response = Client(REMOTE_ADDR=SPRAYER).post(
            "/login/", {"username": person.username, "password": PASSWORD}
        )
        assert response.status_code == 302, person.username


def test_signing_in_to_an_account_one_holds_does_not_clear_what_the_address_sprayed():
    own = make_user()
    sprayer = Client(REMOTE_ADDR=SPRAYER)
    first = ADDRESS_LIMIT // 2
    _spray(sprayer, first)
    assert (
        Client(REMOTE_ADDR=SPRAYER)
        .post("/login/", {"username": own.username, "password": PASSWORD})
        .status_code
        == 302
    )
    rest = _spray(sprayer, ADDRESS_LIMIT - first, start=first)
    assert rest[:-1] == [200] * (ADDRESS_LIMIT - first - 1) and rest[-1] == 429


def test_the_username_lockout_page_speaks_of_the_account_not_the_address():
    user = make_user()
    client = Client()
    for _ in range(LIMIT):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    page = client.post("/login/", {"username": user.username, "password": "wrong"})
    assert page.status_code == 429
    assert "For your account's safety" in page.content.decode()
    assert "network address" not in page.content.decode()


@pytest.mark.parametrize(
    ("value", "says"),
    [("many", "must be an integer"), (str(LIMIT - 1), f"must be at least {LIMIT}")],
)
def test_a_malformed_address_limit_stops_startup_naming_it(value, says, tmp_path):
    limits = {"LOGIN_FAILURE_LIMIT": str(LIMIT), "LOGIN_IP_FAILURE_LIMIT": value}
    result = manage_check(limits, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"LOGIN_IP_FAILURE_LIMIT {says}" in result.stderr


def _timed_post(client, url, data, **extra):
    started = time.monotonic()
    response = client.post(url, data, **extra)
    return response, time.monotonic() - started


@contextmanager
def _sign_in_writes_held():
    """Another writer holds what a sign-in writes: SQLite's one lock on the whole database;
    on PostgreSQL, a lock on each table it writes (a correct password writes no failure)."""
    from axes.models import AccessLog
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    tables = [AccessAttempt]
    if connection.vendor != "sqlite":
        tables += [AccessLog, Session, get_user_model()]
    with ExitStack() as held:
        for table in tables:
            held.enter_context(table_held_busy(table))
        yield


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_signing_in_on_a_locked_database_answers_busy_at_once_and_signs_nobody_in(url):
    """The database's busy timeout is 20 s here too: the sign-in gives up after about one."""
    user = make_user()
    client = Client()
    with _sign_in_writes_held():
        for password in ("wrong", PASSWORD):
            response, took = _timed_post(
                client,
                url,
                {"username": user.username, "password": password},
                HTTP_ACCEPT="text/html",
            )
            assert response.status_code == 503 and took < 2.5, (password, took)
            assert int(response["Retry-After"]) > 0
            assert "send it again in a few seconds" in response.content.decode()
            assert settings.SESSION_COOKIE_NAME not in response.cookies
        guess, took = _timed_post(
            Client(),
            "/api/v1/events",
            "{}",
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer ea_guess",
        )
        assert guess.status_code == 503 and took < 2.5
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.exists()  # the failure under the lock was never written
    assert client.post(url, {"username": user.username, "password": PASSWORD}).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_lets_no_attempt_past_the_limit():
    """A failure that cannot be written is no answer either (503 whatever the password), and
    a client at the limit is refused, saying when to retry, without writing anything."""
    user = make_user()
    client = Client()
    for _ in range(LIMIT - 1):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    with table_held_busy(AccessAttempt):
        for _ in range(3):
            response, _ = _timed_post(
                client, "/login/", {"username": user.username, "password": "wrong"}
            )
            assert response.status_code == 503
    assert (
        client.post("/login/", {"username": user.username, "password": "wrong"}).status_code == 429
    )
    with table_held_busy(AccessAttempt):
        response, took = _timed_post(
            client, "/login/", {"username": user.username, "password": PASSWORD}
        )
    assert response.status_code == 429 and took < 2.5
    assert "Try again after" in response.content.decode()
    assert "_auth_user_id" not in client.session


def _connection_wait() -> str:
    """How long this connection's writes wait for a lock (SQLite's busy_timeout in ms,
    PostgreSQL's lock_timeout)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA busy_timeout")
        else:
            cursor.execute("SHOW lock_timeout")
        return str(cursor.fetchone()[0])


def test_a_sign_in_puts_the_connections_own_wait_back_when_it_finishes():
    """Only the sign-in is impatient: the next request on the same connection waits as
    configured (SQLITE_BUSY_TIMEOUT_SECONDS; PostgreSQL's lock_timeout)."""
    user = make_user()
    configured = _connection_wait()
    Client().post("/login/", {"username": user.username, "password": "wrong"})
    Client().post("/login/", {"username": user.username, "password": PASSWORD})
    assert _connection_wait() == configured
    if connection.vendor == "sqlite":
        assert configured == str(settings.DATABASES["default"]["OPTIONS"]["timeout"] * 1000)


def test_signing_in_without_a_request_from_a_client_leaves_the_wait_alone(client):
    """``force_login`` (a test, a shell) shortened the wait to 1 s until some later request
    happened to end; that request's end then ran one query more than the same request
    without it."""
    configured = _connection_wait()
    client.force_login(make_user())
    assert _connection_wait() == configured
