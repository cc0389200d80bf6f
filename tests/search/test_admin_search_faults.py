"""The admin's search server down or not set up: marketers get a page that says so (503),
never a 500, and saving and publishing still work. Also which backend the settings pick."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from wagtail.search.backends import get_search_backend

from accounts.roles import MARKETER
from cms.models import AssetPage
from enablement.env import wagtail_search_backends
from search.admin_backend import MappedFirst, UnavailableBackend
from search.middleware import NOT_BUILT, UNAVAILABLE, UNMAPPED
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db

DOWN = "http://127.0.0.1:9"  # nothing listens on the discard port
VIEWS = ("/admin/pages/search/", "/admin/choose-page/search/", "/admin/documents/results/")
SERVERS = {"opensearch": "OPENSEARCH_TEST_URL", "elasticsearch": "ELASTICSEARCH_TEST_URL"}


def _server_url(kind: str) -> str:
    url = os.environ.get(SERVERS[kind])
    if not url:
        pytest.skip(f"{SERVERS[kind]} is not set: no {kind} server to test against")
    return url


@pytest.fixture
def marketer_client(client):
    client.force_login(make_user(role=MARKETER))
    return client


@pytest.mark.parametrize("engine", ["auto", "opensearch", "elasticsearch"])
def test_search_server_down_answers_503_saying_so(marketer_client, engine):
    backends = wagtail_search_backends(url=DOWN, engine=engine, index="down")
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        for view in VIEWS:
            response = marketer_client.get(view, {"q": "pricing"})
            assert response.status_code == 503, view
            assert response.content.decode() == UNAVAILABLE
            assert response["Retry-After"]


@pytest.mark.parametrize("engine", ["auto", "elasticsearch"])
def test_publishing_and_uploading_work_while_the_search_server_is_down(engine):
    backends = wagtail_search_backends(url=DOWN, engine=engine, index="down")
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        asset = make_asset("Published during an outage")
        asset.title = "Edited during an outage"
        asset.save_revision().publish()
        document = make_document("outage.txt", title="Uploaded during an outage")
        document.delete()
    assert AssetPage.objects.get(pk=asset.pk).title == "Edited during an outage"


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_search_before_update_index_says_how_to_build_the_index(marketer_client, kind):
    url = _server_url(kind)
    backends = wagtail_search_backends(url=url, engine=kind, index=f"never-{uuid.uuid4().hex}")
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        response = marketer_client.get("/admin/pages/search/", {"q": "pricing"})
    assert response.status_code == 503
    assert response.content.decode() == NOT_BUILT


@pytest.mark.parametrize(
    ("kind", "backend_class"),
    [("opensearch", "OpenSearch3SearchBackend"), ("elasticsearch", "Elasticsearch8SearchBackend")],
)
def test_auto_picks_wagtails_backend_for_the_server_it_finds(kind, backend_class):
    url = _server_url(kind)
    backends = wagtail_search_backends(url=url, engine="auto", index="auto")
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        assert type(get_search_backend()).__name__ == backend_class


def test_auto_with_the_server_down_stands_in_with_an_unavailable_backend():
    backends = wagtail_search_backends(url=DOWN, engine="auto", index="down")
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        assert isinstance(get_search_backend(), UnavailableBackend)


def test_without_a_search_server_the_admin_searches_the_database():
    """SQLite: Wagtail's FTS5 backend in its one-pass form; PostgreSQL: Wagtail's own."""
    expected = (
        "OnePassSQLiteSearchBackend" if connection.vendor == "sqlite" else "PostgresSearchBackend"
    )
    for url, engine in ((None, "auto"), ("http://search:9200", "embedded")):
        backends = wagtail_search_backends(url=url, engine=engine, index="x")
        with override_settings(WAGTAILSEARCH_BACKENDS=backends):
            assert type(get_search_backend()).__name__ == expected
    server = wagtail_search_backends(url="http://search:9200", engine="auto", index="assets")
    assert server["default"]["URLS"] == ["http://search:9200"]
    assert server["default"]["INDEX_PREFIX"] == "assets-wagtail-"


def _drop(prefix: str) -> None:
    backend = get_search_backend()
    names = backend.es.indices.get_alias(index=f"{prefix}*")
    for name in getattr(names, "body", names):
        backend.es.indices.delete(index=name)


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_a_page_saved_before_update_index_makes_an_index_the_admin_can_search(
    marketer_client, kind
):
    """A stack started without ``update_index``: the first page saved once made the server
    guess the index's mapping, and every admin search that found anything was a 500."""
    prefix = f"first-write-{uuid.uuid4().hex[:8]}"
    backends = wagtail_search_backends(url=_server_url(kind), engine=kind, index=prefix)
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        try:
            make_asset("Walrus pricing sheet")
            get_search_backend().get_index_for_model(AssetPage).refresh()
            response = marketer_client.get("/admin/pages/search/", {"q": "walrus"})
            assert response.status_code == 200
            assert "Walrus pricing sheet" in response.content.decode()
            _drop(prefix)  # the server loses its indexes: the next write makes them again
            make_asset("Walrus price list")
            get_search_backend().get_index_for_model(AssetPage).refresh()
            response = marketer_client.get("/admin/pages/search/", {"q": "walrus"})
            assert response.status_code == 200
            assert "Walrus price list" in response.content.decode()
        finally:
            _drop(prefix)


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_an_index_the_server_mapped_by_guessing_says_to_rebuild_it(
    marketer_client, kind, monkeypatch
):
    prefix = f"guessed-{uuid.uuid4().hex[:8]}"
    backends = wagtail_search_backends(url=_server_url(kind), engine=kind, index=prefix)
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        try:
            with monkeypatch.context() as before:  # as it was: no index made before the write
                before.setattr(MappedFirst, "_mapped", lambda self, model: None)
                make_asset("Walrus pricing sheet")
            backend = get_search_backend()
            backend.get_index_for_model(AssetPage).refresh()
            response = marketer_client.get("/admin/pages/search/", {"q": "walrus"})
            assert response.status_code == 503
            assert response.content.decode() == UNMAPPED
            call_command("update_index", verbosity=0)
            backend.get_index_for_model(AssetPage).refresh()
            response = marketer_client.get("/admin/pages/search/", {"q": "walrus"})
            assert response.status_code == 200
            assert "Walrus pricing sheet" in response.content.decode()
        finally:
            _drop(prefix)


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_a_page_published_while_the_server_was_down_is_found_after_it_returns(
    marketer_client, kind
):
    """Wagtail logs and skips a failed write to the admin's index, so the page stayed out
    of marketers' search until someone ran update_index; the scheduler now rebuilds it."""
    from search.models import AdminIndexStale

    prefix = f"missed-{uuid.uuid4().hex[:8]}"
    up = wagtail_search_backends(url=_server_url(kind), engine=kind, index=prefix)
    try:
        with override_settings(WAGTAILSEARCH_BACKENDS=up):
            call_command("update_index", verbosity=0)
        for engine in (kind, "auto"):  # a backend that failed, or one that could not ask
            down = wagtail_search_backends(url=DOWN, engine=engine, index=prefix)
            with override_settings(WAGTAILSEARCH_BACKENDS=down):
                make_asset(f"Walrus pricing sheet {engine}")
            assert AdminIndexStale.objects.exists()
        with override_settings(WAGTAILSEARCH_BACKENDS=up):
            call_command("analytics_scheduler", "--once", stdout=io.StringIO())
            assert not AdminIndexStale.objects.exists()
            get_search_backend().get_index_for_model(AssetPage).refresh()
            page = marketer_client.get("/admin/pages/search/", {"q": "walrus"}).content.decode()
            assert f"Walrus pricing sheet {kind}" in page and "Walrus pricing sheet auto" in page
    finally:
        with override_settings(WAGTAILSEARCH_BACKENDS=up):
            _drop(prefix)


def test_with_the_server_still_down_the_miss_is_kept_for_next_time():
    from search.models import AdminIndexStale
    from search.services import admin_index_catch_up

    down = wagtail_search_backends(url=DOWN, engine="elasticsearch", index="still-down")
    with override_settings(WAGTAILSEARCH_BACKENDS=down):
        make_asset("Walrus pricing sheet")
        assert admin_index_catch_up() is False
    assert AdminIndexStale.objects.exists()


def test_a_write_with_the_server_down_is_one_log_line_not_a_traceback(caplog):
    """One publish with the server down wrote 24 tracebacks to the log (retries, Wagtail's
    failed write), though the cause is one line."""
    down = wagtail_search_backends(url=DOWN, engine="elasticsearch", index="quiet")
    with override_settings(WAGTAILSEARCH_BACKENDS=down):
        make_asset("Published during an outage")
    failures = [r for r in caplog.records if r.name == "modelsearch.index"]
    assert failures and all(r.exc_info is None for r in caplog.records)
    assert "ConnectionError" in failures[0].getMessage()
