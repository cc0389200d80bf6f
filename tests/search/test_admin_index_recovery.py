"""The admin's (Wagtail's) search index recovers with nobody acting: after a search outage
(a write it missed is rebuilt only once the server answers) and after the server lost its
data (a missing or nearly empty index is rebuilt), with a back-off when a rebuild fails."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from wagtail.search.backends import get_search_backend

from accounts.roles import MARKETER
from cms.models import AssetPage
from enablement.env import wagtail_search_backends
from search.admin_backend import AdminSearchUnavailable, MappedFirst
from search.engines.breaker import breakers_forget
from search.models import AdminIndexStale
from search.services import RestoreBackoff, admin_index_catch_up
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db

DOWN = "http://127.0.0.1:9"  # nothing listens on the discard port
SERVERS = {"opensearch": "OPENSEARCH_TEST_URL", "elasticsearch": "ELASTICSEARCH_TEST_URL"}


@pytest.fixture(params=sorted(SERVERS))
def server(request):
    """(kind, URL, index prefix) of a real server; its admin indexes are deleted afterwards.
    A missing URL skips, which fails the run with CI=true (tests/conftest.py)."""
    kind = request.param
    url = os.environ.get(SERVERS[kind])
    if not url:
        pytest.skip(f"{SERVERS[kind]} is not set: no {kind} server to test against")
    prefix = f"recovery-{uuid.uuid4().hex[:8]}"
    yield kind, url, prefix
    breakers_forget()  # one a test left open must not keep the clean-up from the server
    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(url, kind, prefix)):
        _drop(prefix)


def _backends(url: str, engine: str, prefix: str) -> dict:
    return wagtail_search_backends(url=url, engine=engine, index=prefix)


def _drop(prefix: str) -> None:
    """What a wiped node (or ``curl -X DELETE``) does to the admin's indexes."""
    backend = get_search_backend()
    names = backend.es.indices.get_alias(index=f"{prefix}*")
    for name in getattr(names, "body", names):
        backend.es.indices.delete(index=name)


def _refreshed() -> None:
    get_search_backend().get_index_for_model(AssetPage).refresh()


@pytest.fixture
def marketer_client(client):
    client.force_login(make_user(role=MARKETER))
    return client


def test_update_index_with_the_server_unreachable_fails_rather_than_ends_as_done():
    """``update_index`` said the stand-in backend "doesn't require rebuilding" and ended
    without error, so its caller took the outage for a rebuild."""
    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(DOWN, "auto", "down")):
        with pytest.raises(AdminSearchUnavailable):
            call_command("update_index", verbosity=0)


def test_a_miss_stays_marked_while_the_server_is_unreachable_and_is_rebuilt_once_it_is_back(
    server, marketer_client
):
    """The audit: a title change published with the server frozen; the scheduler's catch-up
    ran while it was still frozen, said it had rebuilt the index and dropped the mark, and
    the admin's search kept the old title with nothing retrying."""
    kind, url, prefix = server
    up = _backends(url, kind, prefix)
    with override_settings(WAGTAILSEARCH_BACKENDS=up):
        asset = make_asset("Walrus pricing sheet")
        call_command("update_index", verbosity=0)
    for engine in ("auto", kind):  # one that could not ask which server, one whose write failed
        with override_settings(WAGTAILSEARCH_BACKENDS=_backends(DOWN, engine, prefix)):
            asset.title = f"Walrus price list {engine}"
            asset.save_revision().publish()
            assert AdminIndexStale.objects.exists()
            assert admin_index_catch_up() is False
            assert AdminIndexStale.objects.exists(), f"{engine}: the mark went with no rebuild"
    with override_settings(WAGTAILSEARCH_BACKENDS=up):
        assert admin_index_catch_up() is True
        assert not AdminIndexStale.objects.exists()
        _refreshed()
        response = marketer_client.get("/admin/pages/search/", {"q": "walrus"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Walrus price list {kind}" in page
    assert "Walrus pricing sheet" not in page


def test_with_the_servers_breaker_open_the_miss_stays_until_it_answers_again(
    server, marketer_client, monkeypatch
):
    """The audit's own sequence on one server: it stopped answering (the process's breaker
    for it open, and ``auto`` not yet told which server it is), a title change published,
    the catch-up run meanwhile; then the server answers again."""
    from search.admin_backend import _breaker

    kind, url, prefix = server
    up = _backends(url, "auto", prefix)
    with override_settings(WAGTAILSEARCH_BACKENDS=up):
        asset = make_asset("Walrus pricing sheet")
        call_command("update_index", verbosity=0)
        monkeypatch.setattr("search.admin_backend._detected", {})  # a scheduler just started
        _breaker(url)._failed(TimeoutError("frozen"))  # what one unanswered request does
        asset.title = "Walrus price list"
        asset.save_revision().publish()
        assert AdminIndexStale.objects.exists()
        assert admin_index_catch_up() is False
        assert AdminIndexStale.objects.exists()
        breakers_forget()  # the server answers again (its cool-down over)
        assert admin_index_catch_up() is True
        _refreshed()
        page = marketer_client.get("/admin/pages/search/", {"q": "walrus"}).content.decode()
    assert "Walrus price list" in page and "Walrus pricing sheet" not in page


def test_indexes_lost_by_the_server_are_rebuilt_with_every_page(server, marketer_client):
    """A wiped node: the document index missing (searches answered 503) and the page index
    made again by the next publish holding that page alone (searches found "1 page", no
    error), until someone ran ``update_index``. No write was missed, so nothing was marked."""
    kind, url, prefix = server
    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(url, kind, prefix)):
        for number in range(1, 5):
            make_asset(f"Walrus deck {number}")
        make_document("walrus.txt", title="Walrus battlecard")
        call_command("update_index", verbosity=0)
        assert admin_index_catch_up() is False  # fit: left alone
        _drop(prefix)
        make_asset("Walrus deck 5")  # Wagtail makes the page index again, with this page
        _refreshed()
        assert not AdminIndexStale.objects.exists()
        assert admin_index_catch_up() is True
        _refreshed()
        pages = marketer_client.get("/admin/pages/search/", {"q": "walrus"})
        documents = marketer_client.get("/admin/documents/results/", {"q": "walrus"})
        assert admin_index_catch_up() is False  # rebuilt once, not at every tick
    assert pages.status_code == 200
    for number in range(1, 6):
        assert f"Walrus deck {number}" in pages.content.decode()
    assert documents.status_code == 200
    assert "Walrus battlecard" in documents.content.decode()


def test_a_rebuild_that_fails_waits_for_its_turn(server, monkeypatch, caplog):
    """A server that answers but refuses the rebuild (a full disk) is not sent a whole
    rebuild at every tick: as the rep index's (``RestoreBackoff``), and the log says why and
    when the next attempt is due."""
    kind, url, prefix = server
    attempts = []

    def refused(self, model, items):
        attempts.append(model)
        raise RuntimeError("cluster_block_exception: disk usage exceeded flood-stage watermark")

    backoff = RestoreBackoff(first=timedelta(seconds=30), cap=timedelta(minutes=15))
    now = timezone.now()
    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(url, kind, prefix)):
        make_asset("Walrus deck")
        with monkeypatch.context() as full:
            full.setattr(MappedFirst, "add_items", refused)
            assert admin_index_catch_up(backoff=backoff, now=now) is False
            assert attempts and backoff.failures == 1
            tried = len(attempts)
            assert admin_index_catch_up(backoff=backoff, now=now + timedelta(seconds=29)) is False
            assert len(attempts) == tried  # not due yet: not tried
            later = now + timedelta(seconds=30)
            assert admin_index_catch_up(backoff=backoff, now=later) is False
            assert len(attempts) > tried and backoff.failures == 2
            assert backoff.next_at == later + timedelta(seconds=60)
            logged = [
                r.getMessage() for r in caplog.records if "could not be rebuilt" in r.getMessage()
            ]
            assert len(logged) == 2
            assert logged[1].startswith(
                "the admin search index could not be rebuilt (2 failed attempt(s) in a row): "
                "RuntimeError: cluster_block_exception: disk usage exceeded"
            )
            assert "the next attempt is due in 60 s" in logged[1]
        assert admin_index_catch_up(backoff=backoff, now=backoff.next_at) is True
        assert backoff.failures == 0 and backoff.next_at is None
    with override_settings(WAGTAILSEARCH_BACKENDS=_backends(DOWN, kind, prefix)):
        AdminIndexStale.objects.create(pk=1, marked_at=timezone.now())
        assert admin_index_catch_up(backoff=backoff, now=now) is False
        assert backoff.failures == 0  # a server that does not answer is not a failed rebuild
