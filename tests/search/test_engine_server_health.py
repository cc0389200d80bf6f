"""A server engine's health check is cheap once the index is known to be current: the
scheduler asks it every 30 s (``search.services.index_restore``). It sent six requests each
time (the cluster's status, the alias twice, the mapping, the index's existence and its
count); the alias and mapping are checked once per process, as a search does, and an index
gone or built for other fields is still found (tests/search/test_engine_server_bulk.py, on
real servers). Counted on the local server of ``test_engine_server_breaker``."""

from __future__ import annotations

import pytest

from search.engines.elastic import ElasticEngine
from tests.search.test_engine_server_breaker import ALIAS, TIMEOUT, FakeServer, query


@pytest.fixture
def fake():
    server = FakeServer()
    yield server
    server.stop()


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_a_health_check_of_a_current_index_costs_one_request(fake, kind):
    engine = ElasticEngine(url=fake.url, index=ALIAS, kind=kind, timeout=TIMEOUT)
    engine.health()  # the first one checks the alias and the mapping
    for _ in range(3):
        before = fake.requests
        health = engine.health()
        assert (health.ok, health.documents, health.outdated) == (True, 0, False)
        assert fake.requests == before + 1


def test_after_a_search_the_first_health_check_costs_one_request(fake):
    engine = ElasticEngine(url=fake.url, index=ALIAS, kind="opensearch", timeout=TIMEOUT)
    engine.search(query())
    before = fake.requests
    assert engine.health().ok
    assert fake.requests == before + 1
