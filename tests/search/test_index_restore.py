"""An embedded index that is corrupt or missing answers "search is unavailable" (page 503,
API 503 with Retry-After), never "nothing matches", records no search (so no content gap),
and is rebuilt from the database by the scheduler's ``index_restore``; a search server that
merely does not answer is never rebuilt for it. A new library with no index and no asset is
legitimately empty, on every engine. A rebuild that fails is tried again with a back-off, not
at every tick. (A server index deleted is in the behaviour suite: tests/search/engine_suite.py.)"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.roles import REP
from analytics.management.commands import analytics_scheduler
from analytics.management.commands.analytics_scheduler import search_catch_up
from search import services
from search.engines import IndexCorrupt, IndexMissing, SearchUnavailable, use_engine
from search.engines.elastic import ElasticEngine
from search.engines.embedded import EmbeddedEngine
from search.models import PendingIndexUpdate, SearchEvent
from search.selectors import search_gaps
from search.services import RestoreBackoff
from tests.factories import make_asset, make_user
from tests.search.conftest import run_search, server_engine, server_index_delete, titles

pytestmark = pytest.mark.django_db
SERVERS = [("OPENSEARCH_TEST_URL", "opensearch"), ("ELASTICSEARCH_TEST_URL", "elasticsearch")]

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


@pytest.fixture(params=["embedded", *(kind for _, kind in SERVERS)])
def new_engine(request):
    """An engine that has never built an index, on each engine (servers: a fresh alias)."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded_engine")
    variable = dict((kind, variable) for variable, kind in SERVERS)[request.param]
    return server_engine(variable, request.param, request)


def test_a_new_library_with_no_index_is_empty_then_finds_its_first_asset(
    new_engine, db, client, django_capture_on_commit_callbacks
):
    from accounts.roles import REP
    from tests.factories import make_user

    rep = make_user("newcomer", role=REP)
    with use_engine(new_engine):
        assert new_engine.health().missing
        assert run_search(rep, "roadmap").total == 0  # an empty library is empty
        assert new_engine.health().documents == 0
        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Roadmap briefing")
        assert titles(run_search(rep, "roadmap")) == ["Roadmap briefing"]


def test_a_first_publish_into_a_new_library_with_no_index_makes_it(
    new_engine, db, django_capture_on_commit_callbacks
):
    from accounts.roles import REP
    from tests.factories import make_user

    with use_engine(new_engine):
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
            backoff = _backoff()
            search_catch_up(backoff=backoff, now=T0)  # as the scheduler's tick
            assert backoff.failures == 0  # nothing tried, so nothing failed
            with pytest.raises(SearchUnavailable):
                engine.search(query())
    assert "rebuilding" not in caplog.text and "could not be rebuilt" not in caplog.text


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


# --- a rebuild that fails: back-off -------------------------------------------------------------
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _backoff() -> RestoreBackoff:
    return RestoreBackoff(first=timedelta(seconds=30), cap=timedelta(minutes=15))


def _failures_logged(caplog) -> list[tuple[str, str]]:
    """(delay in seconds, due at) of each "could not be rebuilt" line."""
    pattern = r"could not be rebuilt .*the next attempt is due in (\d+) s, at [\d-]+ ([\d:]+) UTC"
    return [
        re.search(pattern, record.getMessage()).groups()
        for record in caplog.records
        if "could not be rebuilt" in record.getMessage()
    ]


def test_a_failing_rebuild_is_retried_with_a_doubling_back_off_then_starts_over(
    active_engine, library, monkeypatch, caplog
):
    """It was retried at every tick (every 30 s) for as long as it failed. Now: 30 s after
    the first failure, then twice as long each time up to 15 minutes, each failure logged
    with when the next attempt is due; the other index jobs still run meanwhile; a rebuild
    that succeeds starts over from 30 s."""
    attempts, refusing = [], [True]
    real_rebuild = services.index_rebuild

    def rebuild(**options):
        attempts.append(now)
        if refusing[0]:
            raise SearchUnavailable("opensearch rebuilding failed: cluster_block_exception")
        return real_rebuild(**options)

    monkeypatch.setattr(services, "index_rebuild", rebuild)
    caught_up = []
    monkeypatch.setattr(analytics_scheduler, "index_catch_up", lambda: caught_up.append(now))
    shutil.rmtree(active_engine.root)
    backoff = _backoff()
    ticks = [T0 + timedelta(seconds=30 * n) for n in range(92)]  # 45.5 minutes
    with caplog.at_level(logging.INFO):
        for now in ticks:
            search_catch_up(backoff=backoff, now=now)

    offsets = [int((at - T0).total_seconds()) for at in attempts]
    assert offsets == [0, 30, 90, 210, 450, 930, 1830, 2730]
    assert _failures_logged(caplog) == [
        ("30", "09:00:30"),
        ("60", "09:01:30"),
        ("120", "09:03:30"),
        ("240", "09:07:30"),
        ("480", "09:15:30"),
        ("900", "09:30:30"),  # the cap
        ("900", "09:45:30"),
        ("900", "10:00:30"),
    ]
    assert len(caught_up) == len(ticks)  # the pending updates' replay still ran at each tick
    assert active_engine.health().missing

    refusing[0] = False
    with caplog.at_level(logging.INFO):
        search_catch_up(backoff=backoff, now=T0 + timedelta(minutes=59))  # not yet due
        assert len(attempts) == 8
        now = T0 + timedelta(minutes=60, seconds=30)
        search_catch_up(backoff=backoff, now=now)
    assert "search index rebuilt with" in caplog.text
    assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"
    assert (backoff.failures, backoff.next_at) == (0, None)

    shutil.rmtree(active_engine.root)  # lost again later: the first retry is 30 s away
    refusing[0] = True
    now = T0 + timedelta(hours=2)
    search_catch_up(backoff=backoff, now=now)
    assert backoff.next_at == now + timedelta(seconds=30)


@contextlib.contextmanager
def _refusing_writes(engine):
    """The server refuses every write (a read-only cluster, as when its disk filled up)."""
    client = engine.transport.client
    client.cluster.put_settings(body={"persistent": {"cluster.blocks.read_only": True}})
    try:
        yield
    finally:
        client.cluster.put_settings(body={"persistent": {"cluster.blocks.read_only": None}})


@pytest.mark.engine
@pytest.mark.service
@pytest.mark.parametrize(("variable", "kind"), SERVERS)
def test_a_rebuild_a_server_refuses_waits_its_turn_then_restores_the_index(
    variable, kind, request, monkeypatch, caplog, client
):
    """A deleted index on a server that refuses writes: each tick's rebuild failed at once
    and was sent again at the next. Now the second attempt waits 30 s, the third 60 s; once
    the server takes writes again the next due attempt restores it and reps find the asset."""
    engine = server_engine(variable, kind, request)
    rebuilds = []
    real_rebuild = services.index_rebuild

    def counted(**options):
        rebuilds.append(options)
        return real_rebuild(**options)

    monkeypatch.setattr(services, "index_rebuild", counted)
    backoff = _backoff()
    with use_engine(engine):
        asset = make_asset("Roadmap briefing")
        services.index_rebuild()
        server_index_delete(engine)
        rebuilds.clear()
        with _refusing_writes(engine), caplog.at_level(logging.INFO):
            for seconds in (0, 10, 20, 30, 60):
                search_catch_up(backoff=backoff, now=T0 + timedelta(seconds=seconds))
        assert len(rebuilds) == 2  # at 0 s and at 30 s; 10, 20 and 60 s were not due
        assert _failures_logged(caplog) == [("30", "09:00:30"), ("60", "09:01:30")]
        assert "cluster_block_exception" in caplog.text
        health = engine.health()
        assert (health.ok, health.missing) == (False, True)
        client.force_login(make_user(role=REP))
        assert client.get("/search/", {"q": "roadmap"}).status_code == 503

        search_catch_up(backoff=backoff, now=T0 + timedelta(seconds=90))

        assert len(rebuilds) == 3 and backoff.failures == 0
        assert engine.indexed_ids() == {asset.pk}
        page = client.get("/search/", {"q": "roadmap"})
        assert page.status_code == 200 and "Roadmap briefing" in page.content.decode()
