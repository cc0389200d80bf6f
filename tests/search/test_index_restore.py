"""An embedded index that is corrupt or missing answers "search is unavailable" (page 503,
API 503 with Retry-After), never "nothing matches", records no search (so no content gap),
and is rebuilt from the database by the scheduler's ``index_restore``; a search server that
merely does not answer is never rebuilt for it. A new library with no index and no asset is
legitimately empty."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from analytics.management.commands.analytics_scheduler import search_catch_up
from search import services
from search.engines import IndexCorrupt, IndexMissing, SearchUnavailable, use_engine
from search.engines.elastic import ElasticEngine
from search.engines.embedded import EmbeddedEngine
from search.models import PendingIndexUpdate, SearchEvent
from search.selectors import search_gaps
from tests.factories import make_asset
from tests.search.conftest import run_search, titles

pytestmark = pytest.mark.django_db

PAGE_MESSAGE = "Search is unavailable right now"
API_ANSWER = {"detail": "search is unavailable; try again shortly"}


def _corrupt(engine: EmbeddedEngine) -> None:
    """What the audit did: random bytes in the live generation's metadata, terms, postings
    and stored documents, written in place."""
    generation = engine.root / (engine.root / "CURRENT").read_text()
    for path in generation.iterdir():
        if path.name == "meta.json" or path.suffix in (".term", ".idx", ".store"):
            path.write_bytes(os.urandom(max(path.stat().st_size, 64)))


def _searches_answer_unavailable(client, rep) -> None:
    client.force_login(rep)
    page = client.get("/search/", {"q": "roadmap"})
    assert page.status_code == 503 and PAGE_MESSAGE in page.content.decode()
    api = client.get("/api/v1/search", {"q": "roadmap"})
    assert (api.status_code, api.json()) == (503, API_ANSWER)
    assert api["Retry-After"] == str(settings.SEARCH_COOLDOWN_SECONDS)
    assert client.get("/search/suggest/", {"q": "road"}).status_code == 503


def _nothing_recorded() -> None:
    services.search_events_flush()
    assert not SearchEvent.objects.exists()
    gaps = search_gaps(since=timezone.now() - timedelta(days=90))
    assert gaps["zero_results"] == []


def test_a_corrupt_index_answers_unavailable_until_the_scheduler_rebuilds_it(
    active_engine, library, client, caplog
):
    assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"  # held open
    _corrupt(active_engine)
    restarted = EmbeddedEngine(path=active_engine.root.parent)  # the web process, restarted
    with use_engine(restarted):
        with pytest.raises(IndexCorrupt):
            run_search(library.outsider, "roadmap")
        _searches_answer_unavailable(client, library.outsider)
        _nothing_recorded()
        # the scheduler's engine opened the index before the damage: its check reads the disk
        health = active_engine.health()
        assert (health.ok, health.corrupt, health.missing) == (False, True, False)

        with caplog.at_level(logging.INFO):
            search_catch_up()

        assert "the search index is corrupt" in caplog.text
        assert "rebuilding it from the database" in caplog.text
        assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"
        page = client.get("/search/", {"q": "roadmap"})
        assert page.status_code == 200 and "Roadmap briefing" in page.content.decode()
        assert services.index_restore() is None  # healed: nothing more to do


def test_a_missing_index_answers_unavailable_records_no_gap_and_is_rebuilt(
    active_engine, library, client, caplog, tmp_path, django_capture_on_commit_callbacks
):
    shutil.move(active_engine.root.parent, tmp_path / "moved-away")  # mv data/search-index
    with pytest.raises(IndexMissing):
        run_search(library.outsider, "roadmap")
    _searches_answer_unavailable(client, library.outsider)
    _nothing_recorded()
    assert active_engine.health().missing
    with django_capture_on_commit_callbacks(execute=True):  # a publish meanwhile waits
        asset = make_asset("Penguin roadmap addendum")
    assert PendingIndexUpdate.objects.filter(asset_id=asset.pk).exists()
    assert not (active_engine.root / "CURRENT").exists()  # no index of one asset

    with caplog.at_level(logging.INFO):
        search_catch_up()

    assert "the search index is missing" in caplog.text
    found = titles(run_search(library.outsider, "roadmap"))
    assert {"Roadmap briefing", "Penguin roadmap addendum"} <= set(found)
    assert not PendingIndexUpdate.objects.exists()
    api = client.get("/api/v1/search", {"q": "roadmap"})
    assert api.status_code == 200 and api.json()["total"] == len(found)


def test_a_new_library_with_no_index_is_empty_then_finds_its_first_asset(
    embedded_engine, db, client, django_capture_on_commit_callbacks
):
    from accounts.roles import REP
    from tests.factories import make_user

    rep = make_user("newcomer", role=REP)
    with use_engine(embedded_engine):
        assert embedded_engine.health().missing
        assert run_search(rep, "roadmap").total == 0  # an empty library is empty
        assert embedded_engine.health().documents == 0
        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Roadmap briefing")
        assert titles(run_search(rep, "roadmap")) == ["Roadmap briefing"]


def test_a_first_publish_into_a_new_library_with_no_index_makes_it(
    embedded_engine, db, django_capture_on_commit_callbacks
):
    from accounts.roles import REP
    from tests.factories import make_user

    with use_engine(embedded_engine):
        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Roadmap briefing")
        assert not PendingIndexUpdate.objects.exists()
        assert titles(run_search(make_user(role=REP), "roadmap")) == ["Roadmap briefing"]


def test_an_unreachable_server_is_not_rebuilt(db, monkeypatch, caplog):
    """Down is not corrupt: a request that failed says nothing about the index it holds."""
    from tests.search.test_engine_server_breaker import ALIAS, TIMEOUT, FakeServer, query

    def rebuild():
        raise AssertionError("rebuilt an index because its server did not answer")

    monkeypatch.setattr(services, "index_rebuild", rebuild)
    make_asset("Roadmap briefing")
    fake = FakeServer(mode="error", error_status=503)
    failing = ElasticEngine(url=fake.url, index=ALIAS, kind="opensearch", timeout=TIMEOUT)
    fake.stop()
    gone = ElasticEngine(url=fake.url, index=ALIAS, kind="opensearch", timeout=TIMEOUT)
    for engine in (failing, gone):
        with use_engine(engine), caplog.at_level(logging.INFO):
            health = engine.health()
            assert (health.ok, health.corrupt, health.missing) == (False, False, False)
            assert services.index_restore() is None
            with pytest.raises(SearchUnavailable):
                engine.search(query())
    assert "rebuilding" not in caplog.text


class PanicException(BaseException):
    """As pyo3 raises a Rust panic (its class is not importable by name)."""


def test_a_panic_inside_tantivy_is_search_unavailable_and_reopens_the_index(
    active_engine, library, client, monkeypatch
):
    """Files overwritten under a process that holds them open made tantivy panic ("range
    start index ... out of range"): a BaseException, which escaped as a 500."""
    assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"

    def panic(*args, **kwargs):
        raise PanicException("range start index 18446744073709551437 out of range")

    with monkeypatch.context() as patch:
        patch.setattr(EmbeddedEngine, "_hits", panic)
        with pytest.raises(SearchUnavailable, match="tantivy panicked"):
            run_search(library.outsider, "roadmap")
        client.force_login(library.outsider)
        assert client.get("/search/", {"q": "roadmap"}).status_code == 503
    assert active_engine._stamp is None  # the next search opens the files afresh
    assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"
