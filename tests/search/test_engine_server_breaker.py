"""A search server that hangs must not take the site down: after one request it did not
answer, search fails at once until a cool-down ends, then one request tries it again.

The server here is real: a local HTTP server in a thread that, depending on its ``mode``,
reads each request and never answers ("hang"), answers every request with an error status
("error"), or answers like a tiny OpenSearch holding what it was sent ("ok"). It counts the
requests that reach it, so a test can tell a request that went out from one the breaker
stopped. The engine under test is the real ``ElasticEngine`` with a 1 s timeout.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import re
import socket
import threading
import time

import pytest
from django.utils import timezone

from accounts.roles import REP
from cms.models import AssetPage
from search import services
from search.documents import SearchDocument
from search.engines import SearchUnavailable, use_engine
from search.engines.breaker import breakers_forget
from search.engines.elastic import _MAPPED_FIELDS, ANALYSIS, ElasticEngine
from search.models import PendingIndexUpdate
from search.query import Audience, SearchQuery
from search.views import UNAVAILABLE
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db

TIMEOUT = 1.0  # the engine's timeout in these tests
COOLDOWN = 1.5
FAST = 0.2  # a search the breaker refuses answers well within this
ALIAS = "breaker-test"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients use it

    def _answer(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with fake.lock:
            fake.requests += 1
        if fake.mode == "hang":
            fake.released.wait()  # the request was read; no answer ever comes
            self.close_connection = True
            return
        if fake.mode == "ok":
            status, answer = fake.opensearch(self.command, self.path.split("?")[0], body)
        else:
            status = fake.error_status
            answer = {"error": {"type": "failure", "reason": "planned"}, "status": status}
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")  # else that client refuses
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, *args):
        pass


class FakeServer:
    """See the module's docstring. ``documents``: the sources it was sent, by id."""

    def __init__(self, mode: str = "ok", error_status: int = 500):
        self.mode, self.error_status = mode, error_status
        self.requests = 0
        self.documents: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def opensearch(self, method: str, path: str, body: bytes):
        """What OpenSearch answers to the requests ``ElasticEngine`` sends (every search
        matches every document it holds; enough for a page to show a result)."""
        if path == f"/_alias/{ALIAS}":
            return 200, {f"{ALIAS}-1": {"aliases": {ALIAS: {}}}}
        if path == f"/{ALIAS}/_mapping":
            properties = {name: {} for name in _MAPPED_FIELDS}
            mappings = {"properties": properties, "_meta": {"analysis": ANALYSIS}}
            return 200, {f"{ALIAS}-1": {"mappings": mappings}}
        if path == "/_bulk":
            return 200, self._bulk(body)
        if path == f"/{ALIAS}/_search":
            return 200, self._search(json.loads(body))
        if path == "/_cluster/health":
            return 200, {"status": "green"}
        if path == f"/{ALIAS}/_count":
            return 200, {"count": len(self.documents)}
        if method == "HEAD":
            return 200, None
        return 404, {"error": f"no {method} {path} in this fake", "status": 404}

    def _bulk(self, body: bytes) -> dict:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        items = []
        while lines:
            action = lines.pop(0)
            if "index" in action:
                self.documents[action["index"]["_id"]] = lines.pop(0)
            else:
                self.documents.pop(action["delete"]["_id"], None)
            items.append({next(iter(action)): {"status": 200}})
        return {"took": 1, "errors": False, "items": items}

    def _search(self, request: dict) -> dict:
        hits = [
            {"_index": f"{ALIAS}-1", "_id": key, "_score": 1.0, "_source": source}
            for key, source in self.documents.items()
        ]
        aggregations = {
            within: {"doc_count": len(hits), name: {"buckets": []}}
            for within, bucket in request.get("aggs", {}).items()
            for name in bucket.get("aggs", {})
        }
        return {
            "took": 1,
            "timed_out": False,
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits},
            "aggregations": aggregations,
        }


@pytest.fixture
def fake():
    server = FakeServer()
    yield server
    server.stop()


@pytest.fixture
def engine(fake):
    engine = ElasticEngine(
        url=fake.url, index=ALIAS, kind="opensearch", timeout=TIMEOUT, cooldown=COOLDOWN
    )
    with use_engine(engine):
        yield engine


@pytest.fixture
def rep(client):
    client.force_login(make_user(role=REP))
    return client


@pytest.fixture
def indexed_asset(fake, engine, django_capture_on_commit_callbacks):
    """An asset published while the server answered: the fake holds its document."""
    with django_capture_on_commit_callbacks(execute=True):
        asset = make_asset("Pricing battlecard", summary="How we price against Acme.")
    assert str(asset.pk) in fake.documents
    return asset


def timed(call, *args, **kwargs):
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - started


def search_page(client, **headers):
    return timed(client.get, "/search/", {"q": "pricing"}, **headers)


def query() -> SearchQuery:
    return SearchQuery(audience=Audience(team_ids=None), now=timezone.now(), text="pricing")


def test_a_hung_server_costs_one_timeout_then_search_fails_at_once(fake, engine, rep):
    fake.mode = "hang"
    response, took = search_page(rep)
    assert response.status_code == 503
    assert UNAVAILABLE in response.content.decode()
    assert TIMEOUT * 0.9 <= took < TIMEOUT + 1.5
    assert fake.requests == 1

    attempts = {
        "page": lambda: rep.get("/search/", {"q": "pricing"}),
        "partial": lambda: rep.get("/search/", {"q": "pricing"}, HTTP_X_SEARCH_PARTIAL="1"),
        "api": lambda: rep.get("/api/v1/search", {"q": "pricing"}),
        "suggestions": lambda: rep.get("/search/suggest/", {"q": "pric"}),
    }
    for name, attempt in attempts.items():
        response, took = timed(attempt)
        assert response.status_code == 503, name
        assert took < FAST, name
    assert UNAVAILABLE in rep.get("/search/", {"q": "pricing"}).content.decode()
    assert fake.requests == 1  # none of them reached the server


def test_the_status_says_the_breaker_is_open_without_waiting(fake, engine):
    fake.mode = "hang"
    with pytest.raises(SearchUnavailable):
        engine.search(query())
    health, took = timed(engine.health)
    assert took < FAST
    assert health.ok is False
    assert f"the search server at {fake.url} did not answer recently" in health.detail
    assert re.search(r"it will be tried again in [12] s \(at \d\d:\d\d:\d\d\)", health.detail)
    assert fake.requests == 1


def test_after_the_cool_down_one_probe_goes_and_search_comes_back(fake, indexed_asset, rep):
    fake.mode = "hang"
    assert search_page(rep)[0].status_code == 503
    before = fake.requests

    time.sleep(COOLDOWN)
    response, took = search_page(rep)  # the probe: the server still hangs
    assert (response.status_code, fake.requests) == (503, before + 1)
    assert took >= TIMEOUT * 0.9
    response, took = search_page(rep)  # open again, for another cool-down
    assert (response.status_code, fake.requests) == (503, before + 1)
    assert took < FAST

    fake.mode = "ok"
    assert search_page(rep)[0].status_code == 503  # still cooling down
    time.sleep(COOLDOWN)
    response, took = search_page(rep)
    assert response.status_code == 200
    assert "Pricing battlecard" in response.content.decode()
    assert rep.get("/search/suggest/", {"q": "pric"}).status_code == 200
    assert rep.get("/search/", {"q": "pricing"}).status_code == 200


def test_a_refused_connection_opens_the_breaker_too(rep):
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    refused = ElasticEngine(url=url, index=ALIAS, kind="opensearch", timeout=TIMEOUT, cooldown=60)
    with use_engine(refused):
        with pytest.raises(SearchUnavailable, match="Connection ?[Rr]efused|ConnectionError"):
            refused.search(query())
        with pytest.raises(SearchUnavailable, match="did not answer recently"):
            refused.search(query())
        response = rep.get("/search/", {"q": "pricing"})
    assert response.status_code == 503
    assert UNAVAILABLE in response.content.decode()


@pytest.mark.parametrize("status", [400, 500])
def test_an_error_answer_does_not_open_the_breaker(fake, engine, indexed_asset, rep, status):
    fake.mode, fake.error_status = "error", status
    for _ in range(3):
        before = fake.requests
        response = rep.get("/search/", {"q": "pricing"})
        assert response.status_code == 503
        assert fake.requests > before  # every search still asked the server
    with pytest.raises(SearchUnavailable) as caught:
        engine.search(query())
    assert "did not answer recently" not in str(caught.value)
    assert str(status) in str(caught.value)

    fake.mode = "ok"  # no cool-down to wait for
    response = rep.get("/search/", {"q": "pricing"})
    assert response.status_code == 200
    assert "Pricing battlecard" in response.content.decode()


def test_two_searches_at_once_after_the_cool_down_send_one_probe(fake, engine):
    fake.mode = "hang"
    with pytest.raises(SearchUnavailable):
        engine.search(query())
    time.sleep(COOLDOWN)
    before = fake.requests
    start = threading.Barrier(2)
    took = []

    def search():
        start.wait()
        started = time.perf_counter()
        with contextlib.suppress(SearchUnavailable):
            engine.search(query())
        took.append(time.perf_counter() - started)

    threads = [threading.Thread(target=search) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert fake.requests == before + 1
    assert sorted(took)[0] < FAST  # the one that was not the probe
    assert sorted(took)[1] >= TIMEOUT * 0.9


def test_index_updates_wait_for_the_catch_up_while_the_breaker_is_open(
    fake, engine, rep, monkeypatch, django_capture_on_commit_callbacks
):
    fake.mode = "hang"
    with pytest.raises(SearchUnavailable):
        engine.search(query())
    before = fake.requests

    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        asset = make_asset("Pricing launch kit", summary="Published during the hang.")
    assert time.perf_counter() - started < TIMEOUT  # the publish did not wait for the server
    assert AssetPage.objects.get(pk=asset.pk).live
    pending = PendingIndexUpdate.objects.get(asset_id=asset.pk)
    assert "did not answer recently" in pending.error
    assert fake.requests == before

    fake.mode = "ok"
    time.sleep(COOLDOWN)
    monkeypatch.setattr(services, "CATCH_UP_AFTER", datetime.timedelta(0))
    outcome = services.index_catch_up()
    assert outcome is not None and outcome.ok
    assert not PendingIndexUpdate.objects.exists()
    assert "Pricing launch kit" in rep.get("/search/", {"q": "pricing"}).content.decode()


def test_asking_a_hung_server_which_it_is_opens_the_breaker_too(fake):
    fake.mode = "hang"
    auto = ElasticEngine(url=fake.url, index=ALIAS, kind="auto", timeout=TIMEOUT, cooldown=60)
    with pytest.raises(SearchUnavailable, match="no search server answers"):
        auto.search(query())
    started = time.perf_counter()
    with pytest.raises(SearchUnavailable, match="did not answer recently"):
        auto.search(query())
    assert time.perf_counter() - started < FAST
    assert fake.requests == 1


def took_to_fail(call, *args) -> float:
    started = time.perf_counter()
    with pytest.raises(SearchUnavailable):
        call(*args)
    return time.perf_counter() - started


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_searches_wait_the_short_timeout_and_index_writes_the_long_one(fake, kind):
    """Both clients: a search gives up after ``timeout``, a bulk write after
    ``write_timeout``, and either opens the breaker."""
    write_timeout = 2.5
    engine = ElasticEngine(
        url=fake.url, index=ALIAS, kind=kind, timeout=TIMEOUT, write_timeout=write_timeout
    )
    engine.search(query())  # the alias and mapping checked while the server answers
    fake.mode = "hang"
    assert TIMEOUT * 0.9 <= took_to_fail(engine.search, query()) < write_timeout
    assert took_to_fail(engine.search, query()) < FAST

    breakers_forget()  # one breaker per server: the writer starts as a new process would
    writer = ElasticEngine(
        url=fake.url, index=ALIAS, kind=kind, timeout=TIMEOUT, write_timeout=write_timeout
    )
    fake.mode = "ok"
    writer.search(query())
    fake.mode = "hang"
    document = SearchDocument(id=7, title="Pricing battlecard")
    assert write_timeout * 0.9 <= took_to_fail(writer.upsert, [document]) < write_timeout + 1
    assert took_to_fail(writer.upsert, [document]) < FAST
