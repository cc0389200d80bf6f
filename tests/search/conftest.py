"""Search test fixtures: engines under test, a small library with restrictions, helpers.

Engines: the embedded engine always; OpenSearch at OPENSEARCH_TEST_URL and Elasticsearch at
ELASTICSEARCH_TEST_URL (CI starts both with .ci/opensearch.sh and .ci/elasticsearch.sh). A
missing URL skips those tests, and with CI=true a skip fails the run. Server indices get a
unique name per test run and are deleted afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.roles import MARKETER, REP
from cms.models import Competitor, Industry, LibraryDocument, Persona, Product
from search import services
from search.engines import use_engine
from search.engines.breaker import breakers_forget
from search.engines.elastic import ElasticEngine
from search.engines.embedded import EmbeddedEngine
from search.query import SearchQuery, audience_for
from tests.factories import make_asset, make_document, make_section, make_team, make_user

RUN_ID = uuid.uuid4().hex[:8]


def server_engine(url_variable: str, kind: str, request) -> ElasticEngine:
    url = os.environ.get(url_variable)
    if not url:
        pytest.skip(f"{url_variable} is not set: no {kind} server to test against")
    name = re.sub(r"[^a-z0-9_-]+", "-", f"test-{RUN_ID}-{request.node.name.lower()}")[:80]
    engine = ElasticEngine(url=url, index=name, kind=kind, refresh=True, timeout=30)
    request.addfinalizer(lambda: _drop_server_index(engine))
    return engine


def server_index_delete(engine: ElasticEngine) -> None:
    """What an operator's ``curl -X DELETE <server>/<index>`` does to the index behind
    ``engine``'s alias (its alias goes with it). The engine's own state is left as it was:
    its process learns of it only by asking the server."""
    indexes = engine.transport.aliases(engine.alias)
    assert indexes, f"no index behind {engine.alias} to delete"
    for index in indexes:
        engine.transport.delete(index)


def _drop_server_index(engine: ElasticEngine) -> None:
    transport = engine.transport
    for index in transport.aliases(engine.alias):
        transport.delete(index)


@pytest.fixture(autouse=True)
def _fresh_synonyms():
    """The synonym cache outlives a test's database rollback: start and end each test clean."""
    from search.selectors import synonym_sets_clear

    synonym_sets_clear()
    yield
    synonym_sets_clear()


@pytest.fixture(autouse=True)
def _search_breakers_forgotten():
    """Each test starts with no search server's breaker open: one opened by a test against a
    server that is down must not answer for the next test's server (each process keeps one
    per URL, for the engine and the admin's backends: ``search.engines.breaker``)."""
    breakers_forget()
    yield
    breakers_forget()


def set_synonyms(text: str) -> None:
    """What a marketer saves under Settings > Search synonyms."""
    from search.models import SearchSynonyms

    setting = SearchSynonyms.load()
    setting.synonyms = text
    setting.full_clean()
    setting.save()


@pytest.fixture
def embedded_engine(tmp_path):
    """On tmpfs when the machine has one: tantivy fsyncs every commit, which is slow on disk
    and proves nothing here."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        directory = Path(tempfile.mkdtemp(prefix="search-test-", dir=shm))
        yield EmbeddedEngine(path=directory / "index")
        shutil.rmtree(directory, ignore_errors=True)
    else:
        yield EmbeddedEngine(path=tmp_path / "index")


@pytest.fixture
def active_engine(embedded_engine):
    """The embedded engine, empty, as the process's engine."""
    embedded_engine.reset()
    with use_engine(embedded_engine):
        yield embedded_engine


@pytest.fixture
def down_engine(tmp_path):
    """An embedded engine whose index directory cannot exist (its parent is a file)."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    return EmbeddedEngine(path=blocker / "index", lock_timeout=0.1)


def run_search(user, text: str = "", now=None, **options):
    from search.selectors import search_run

    query = SearchQuery(
        audience=audience_for(user), now=now or timezone.now(), text=text, **options
    )
    return search_run(query=query)


def titles(results) -> list[str]:
    return [hit.fields["title"] for hit in results.hits]


def facet(results, name: str) -> dict[str, int]:
    return {bucket.value: bucket.count for bucket in results.facets.get(name, [])}


def publish(page) -> None:
    page.save_revision().publish()


@pytest.fixture
def library(db, django_capture_on_commit_callbacks):
    """A small library indexed through the real signals (publish -> task on commit).

    Teams: emea, na. Reps: ``insider`` (emea), ``na_rep`` (na), ``outsider`` (no team).
    ``restricted`` lives in the EMEA-only section; ``nobody`` is in the EMEA section but
    restricted to na, so only managers see it.
    """
    with django_capture_on_commit_callbacks(execute=True):
        lib = _build_library()
    LibraryDocument.objects.filter(pk=lib.pdf.pk).update(
        extracted_text="Appendix: quarterly kaleidoscope savings for the CFO.",
        extraction_status=LibraryDocument.Status.DONE,
    )
    services.index_assets(asset_ids=[lib.case_study.pk])
    return lib


def _terms():
    return SimpleNamespace(
        acme=Competitor.objects.create(name="Acme"),
        globex=Competitor.objects.create(name="Globex"),
        fintech=Industry.objects.create(name="Fintech"),
        cfo=Persona.objects.create(name="CFO"),
        widget=Product.objects.create(name="Widget Cloud"),
    )


def _build_library():
    emea, na = make_team("EMEA"), make_team("North America")
    terms = _terms()
    lib = SimpleNamespace(emea=emea, na=na, terms=terms)
    lib.insider = make_user("insider", role=REP, teams=[emea])
    lib.na_rep = make_user("na_rep", role=REP, teams=[na])
    lib.outsider = make_user("outsider", role=REP)
    lib.marketer = make_user("marketer", role=MARKETER)
    lib.battlecard = make_asset(
        "Acme battlecard",
        asset_type="battlecard",
        stages=("decide",),
        pillars=("why-buy-you",),
        summary="How we win against Acme in competitive deals.",
        body="<p>Acme undercuts on list price; lead with total cost.</p>",
        competitors=[terms.acme],
        industries=[terms.fintech],
        owner=lib.marketer,
    )
    lib.pricing = make_asset(
        "Price list overview",
        asset_type="deck",
        stages=("evaluate",),
        pillars=("why-buy",),
        summary="Every price we quote, by plan.",
        products=[terms.widget],
    )
    lib.roadmap = make_asset(
        "Roadmap briefing",
        asset_type="deck",
        stages=("discover",),
        summary="Where the product goes next.",
    )
    lib.mention = make_asset(
        "Analyst notes",
        asset_type="one-pager",
        stages=("discover",),
        summary="Notes from analysts.",
        body="<p>The analysts asked about our roadmap twice.</p>",
    )
    section = make_section("EMEA only", teams=[emea])
    lib.restricted = make_asset(
        "Zephyrine secret plan",
        parent=section,
        asset_type="deck",
        stages=("decide",),
        pillars=("why-buy-now",),
        summary="Only EMEA sees the zephyrine plan against Globex.",
        competitors=[terms.globex],
    )
    lib.nobody = make_asset(
        "Quixotic merger memo", parent=section, teams=[na], summary="Managers only."
    )
    lib.pdf = make_document("case-study.pdf", b"%PDF-1.4 placeholder", title="Case study file")
    lib.case_study = make_asset(
        "Globex case study",
        asset_type="case-study",
        stages=("onboard",),
        summary="A customer story.",
        document=lib.pdf,
    )
    lib.hostile = make_asset(
        "<script>alert('title')</script> Hostile deck",
        asset_type="deck",
        summary="<b>bold</b> claims about onerror handlers",
        body="<p>&lt;img src=x onerror=alert(1)&gt; pricing handlers</p>",
    )
    lib.draft = make_asset("Unreleased launch plan", publish=False, summary="Not yet.")
    lib.soon_expiring = make_asset(
        "Limited offer sheet",
        summary="Valid for a short time.",
        expire_at=timezone.now() + timedelta(hours=1),
    )
    return lib
