"""The admin's search server hanging costs one timeout per process, not one per admin search
or save: after a request it did not answer, the admin's searches answer "unavailable" at once
and its index writes are remembered for the catch-up, until the cool-down ends.

The server is the real local one of ``test_engine_server_breaker`` in its "hang" mode (it
reads each request and never answers, and counts them); the backends are Wagtail's own,
chosen by the project's settings, with a 1 s timeout.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts.roles import MARKETER, REP
from enablement.env import wagtail_search_backends
from search.engines import use_engine
from search.engines.elastic import ElasticEngine
from search.middleware import UNAVAILABLE
from search.models import AdminIndexStale
from search.views import UNAVAILABLE as REP_UNAVAILABLE
from tests.factories import make_asset, make_user
from tests.search.test_engine_server_breaker import TIMEOUT, FakeServer, timed

pytestmark = pytest.mark.django_db

VIEWS = ("/admin/pages/search/", "/admin/choose-page/search/", "/admin/documents/results/")


@pytest.fixture
def hung():
    server = FakeServer(mode="hang")
    yield server
    server.stop()


@pytest.fixture
def marketer_client(client):
    client.force_login(make_user(role=MARKETER))
    return client


def _backends(url: str, engine: str) -> dict:
    backends = wagtail_search_backends(url=url, engine=engine, index="hung")
    backends["default"]["TIMEOUT"] = TIMEOUT
    return backends


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch", "auto"])
def test_a_hung_server_costs_one_timeout_then_the_admin_says_unavailable_at_once(
    marketer_client, hung, engine
):
    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(hung.url, engine)):
        first, took = timed(marketer_client.get, "/admin/pages/search/", {"q": "pricing"})
        assert first.status_code == 503 and first.content.decode() == UNAVAILABLE
        assert took >= TIMEOUT * 0.9  # it waited for the server once
        sent = hung.requests

        for view in VIEWS:
            response, took = timed(marketer_client.get, view, {"q": "pricing"})
            assert response.status_code == 503 and response.content.decode() == UNAVAILABLE
            assert took < TIMEOUT * 0.9, (view, took)  # no wait (nor a request: below)
        asset = make_asset("Published while the search server hangs")

        assert asset.live
        assert AdminIndexStale.objects.exists()  # the catch-up rebuilds the admin's index
        assert hung.requests == sent  # nothing more reached the server: nothing waited for it


@pytest.fixture
def rep_client():
    client = Client()
    client.force_login(make_user(role=REP))
    return client


@pytest.fixture
def rep_engine(hung):
    """The rep search's engine on the same server, configured as settings make it."""
    engine = ElasticEngine(
        url=hung.url,
        index="hung",
        kind="opensearch",
        timeout=TIMEOUT,
        cooldown=settings.SEARCH_COOLDOWN_SECONDS,
    )
    with use_engine(engine):
        yield engine


def _admin_search(client):
    return timed(client.get, "/admin/pages/search/", {"q": "pricing"})


def _rep_search(client):
    return timed(client.get, "/search/", {"q": "pricing"})


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_after_the_admin_found_the_server_hung_rep_search_is_unavailable_at_once(
    marketer_client, rep_client, hung, rep_engine, engine
):
    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(hung.url, engine)):
        response, took = _admin_search(marketer_client)
        assert response.status_code == 503 and took >= TIMEOUT * 0.9
        sent = hung.requests

        response, took = _rep_search(rep_client)
    assert response.status_code == 503
    assert REP_UNAVAILABLE in response.content.decode()
    assert took < TIMEOUT * 0.9  # no wait for the server the admin found hung
    assert hung.requests == sent


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_after_rep_search_found_the_server_hung_the_admin_says_unavailable_at_once(
    marketer_client, rep_client, hung, rep_engine, engine
):
    response, took = _rep_search(rep_client)
    assert response.status_code == 503 and took >= TIMEOUT * 0.9
    sent = hung.requests

    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(hung.url, engine)):
        response, took = _admin_search(marketer_client)
    assert response.status_code == 503 and response.content.decode() == UNAVAILABLE
    assert took < TIMEOUT * 0.9  # no wait for the server the rep search found hung
    assert hung.requests == sent
