"""SEARCH_ENGINE=auto against real servers: the engine asks the server what it is, then talks
to it with the right client (the elasticsearch client refuses OpenSearch)."""

import os
import uuid

import pytest
from django.test import override_settings
from django.utils import timezone

from search.documents import SearchDocument
from search.engines import SearchUnavailable, engine_from_settings
from search.engines.elastic import ElasticEngine, detect_kind
from search.query import Audience, SearchQuery

pytestmark = [pytest.mark.engine, pytest.mark.service]

SERVERS = [("OPENSEARCH_TEST_URL", "opensearch"), ("ELASTICSEARCH_TEST_URL", "elasticsearch")]


def _url(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set: no server to detect")
    return url


def _with_credentials(url: str) -> str:
    """The same URL with a user and password in it (the test nodes ignore them)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://ci-user:s3cret@{rest}"


@pytest.fixture
def index_name():
    return f"test-detect-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(("variable", "kind"), SERVERS)
def test_auto_detects_the_server_and_searches_it(variable, kind, index_name):
    url = _url(variable)
    with override_settings(SEARCH_URL=url, SEARCH_ENGINE="auto", SEARCH_INDEX=index_name):
        engine = engine_from_settings()
    assert isinstance(engine, ElasticEngine)
    try:
        engine.refresh = True
        engine.reset()  # a first start: there is no index yet
        engine.upsert([SearchDocument(id=7, title="Detected pricing deck")])
        query = SearchQuery(audience=Audience(team_ids=None), now=timezone.now(), text="pricing")
        assert [hit.asset_id for hit in engine.search(query).hits] == [7]
        assert engine.name == kind
        health = engine.health()
        assert (health.ok, health.engine) == (True, kind)
    finally:
        for index in engine.transport.aliases(index_name):
            engine.transport.delete(index)


@pytest.mark.parametrize(("variable", "kind"), SERVERS)
def test_detection_reads_credentials_in_the_url(variable, kind):
    assert detect_kind(_with_credentials(_url(variable))) == kind


def test_elasticsearch_client_pointed_at_opensearch_is_unavailable_not_a_crash():
    url = _url("OPENSEARCH_TEST_URL")
    engine = ElasticEngine(url=url, index="never-created", kind="elasticsearch", timeout=5)
    with pytest.raises(SearchUnavailable, match="elasticsearch"):
        engine.search(SearchQuery(audience=Audience(team_ids=None), now=timezone.now()))
    assert engine.health().ok is False


def test_unreachable_server_is_unavailable_without_leaking_the_password():
    engine = ElasticEngine(url="http://ci-user:s3cret@127.0.0.1:9", index="x", timeout=1)
    health = engine.health()
    assert health.ok is False and "no search server answers" in health.detail
    assert "s3cret" not in health.detail and "ci-user:***@" in health.detail
    with pytest.raises(SearchUnavailable) as caught:
        engine.search(SearchQuery(audience=Audience(team_ids=None), now=timezone.now()))
    assert "s3cret" not in str(caught.value)


def test_a_server_that_is_not_a_search_engine_is_unavailable_not_a_crash():
    import http.server
    import threading

    class NotSearch(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html>a login page</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotSearch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = ElasticEngine(url=f"http://127.0.0.1:{server.server_port}", index="x", timeout=2)
        with pytest.raises(SearchUnavailable, match="no search server answers at"):
            engine.search(SearchQuery(audience=Audience(team_ids=None), now=timezone.now()))
    finally:
        server.shutdown()
