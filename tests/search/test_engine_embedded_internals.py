"""What only the embedded engine has to get right: the single-writer lock and the atomic
swap of a rebuilt index, seen from another process's engine object; the facet counts that
run on a second thread."""

import os
import threading
import time

import pytest

from search.documents import SearchDocument
from search.engines import SearchUnavailable
from search.engines.embedded import EmbeddedEngine
from search.query import Audience, SearchQuery

EVERYONE = Audience(team_ids=None)


def _results(engine, text, **options):
    from django.utils import timezone

    return engine.search(SearchQuery(audience=EVERYONE, now=timezone.now(), text=text, **options))


def _search(engine, text):
    return [hit.fields["title"] for hit in _results(engine, text).hits]


def test_writer_waits_for_another_writer_to_release_the_lock(embedded_engine):
    embedded_engine.reset()
    index = embedded_engine._index_now()
    held = index.writer(heap_size=15_000_000, num_threads=1)  # another process's writer

    def release():
        time.sleep(0.3)
        held.wait_merging_threads()

    threading.Thread(target=release).start()
    started = time.monotonic()
    embedded_engine.upsert([SearchDocument(id=1, title="Patient writer")])
    assert time.monotonic() - started >= 0.25
    assert _search(embedded_engine, "patient") == ["Patient writer"]


def test_writer_gives_up_with_search_unavailable_when_the_lock_stays_taken(embedded_engine):
    embedded_engine.reset()
    embedded_engine.lock_timeout = 0.2
    held = embedded_engine._index_now().writer(heap_size=15_000_000, num_threads=1)
    try:
        with pytest.raises(SearchUnavailable, match="locked by another writer"):
            embedded_engine.upsert([SearchDocument(id=1, title="Impatient")])
    finally:
        held.wait_merging_threads()


def test_rebuild_swaps_atomically_and_other_processes_follow(embedded_engine):
    other_process = EmbeddedEngine(path=embedded_engine.root.parent)
    embedded_engine.reset()
    embedded_engine.upsert([SearchDocument(id=1, title="Old edition")])
    assert _search(other_process, "edition") == ["Old edition"]
    old_generation = (embedded_engine.root / "CURRENT").read_text()

    embedded_engine.rebuild([[SearchDocument(id=2, title="New edition")]])

    assert _search(other_process, "edition") == ["New edition"]
    generations = [p.name for p in embedded_engine.root.iterdir() if p.is_dir()]
    assert generations == [(embedded_engine.root / "CURRENT").read_text()]
    assert old_generation not in generations


def test_unreadable_index_directory_is_reported_not_raised(down_engine):
    health = down_engine.health()
    assert not health.ok
    assert "Not a directory" in health.detail


def test_an_index_built_for_other_fields_is_refused_until_a_rebuild(embedded_engine):
    """A facet added since the index was built: searching and writing say to reindex (fail
    closed, never a query against the wrong fields); ``rebuild`` makes it usable again."""
    import tantivy

    embedded_engine.reset()
    generation = (embedded_engine.root / "CURRENT").read_text()
    stale = embedded_engine.root / "g0-aaaaaa"
    stale.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    tantivy.Index(builder.build(), path=str(stale))
    (embedded_engine.root / "CURRENT").write_text("g0-aaaaaa")
    other_process = EmbeddedEngine(path=embedded_engine.root.parent)

    with pytest.raises(SearchUnavailable, match="run manage.py search_reindex"):
        _search(other_process, "anything")
    with pytest.raises(SearchUnavailable, match="built for other fields"):
        other_process.upsert([SearchDocument(id=1, title="Waits for the rebuild")])

    other_process.rebuild([[SearchDocument(id=1, title="Rebuilt edition")]])
    assert _search(other_process, "edition") == ["Rebuilt edition"]
    assert generation != (embedded_engine.root / "CURRENT").read_text()


def test_an_index_from_before_page_text_is_refused_until_a_rebuild(embedded_engine, db):
    """A generation without the pages index (built by an older version): the engine says to
    reindex rather than answer without pages; ``rebuild`` builds both."""
    import shutil

    embedded_engine.reset()
    generation = (embedded_engine.root / "CURRENT").read_text()
    shutil.rmtree(embedded_engine.root / generation / "pages")
    engine = EmbeddedEngine(path=embedded_engine.root.parent)

    with pytest.raises(SearchUnavailable, match="run manage.py search_reindex"):
        engine.upsert([SearchDocument(id=1, title="Waits for the rebuild")])

    engine.rebuild([[SearchDocument(id=1, title="Rebuilt", pages=((1, "Walrus"),))]])
    assert engine.indexed_ids() == {1}


@pytest.mark.parametrize(
    ("word", "token", "distance", "within"),
    [
        ("marzipna", "marzipan", 1, True),  # two neighbours swapped: one edit
        ("battlecrad", "battlecard", 1, True),
        ("pricing", "pricing", 0, True),
        ("pricing", "prizing", 0, False),
        ("kitten", "sitting", 2, False),  # three edits
        ("roadmap", "roadmaps", 1, True),
    ],
)
def test_typo_highlights_count_edits_as_tantivys_fuzzy_terms_do(word, token, distance, within):
    from search.engines.embedded import within_typos

    assert within_typos(word, token, distance) is within


def _facet_search(engine, text):
    return _results(engine, text, facets=("stage",))


def _staged(engine):
    engine.reset()
    engine.upsert(
        [
            SearchDocument(id=1, title="Pricing deck", terms={"stages": ("evaluate",)}),
            SearchDocument(id=2, title="Pricing sheet", terms={"stages": ("evaluate",)}),
            SearchDocument(id=3, title="Pricing story", terms={"stages": ("decide",)}),
        ]
    )


def test_facet_counts_come_from_the_counting_thread_with_the_hits(embedded_engine):
    _staged(embedded_engine)
    results = _facet_search(embedded_engine, "pricing")
    assert results.total == 3
    assert {(b.value, b.count) for b in results.facets["stage"]} == {("evaluate", 2), ("decide", 1)}


def test_a_failure_while_counting_is_search_unavailable(embedded_engine, monkeypatch):
    _staged(embedded_engine)

    def failing(searcher, facet_plan):
        raise ValueError("An IO error occurred: 'Input/output error'")

    monkeypatch.setattr(EmbeddedEngine, "_facets", staticmethod(failing))
    with pytest.raises(SearchUnavailable, match="Input/output error"):
        _facet_search(embedded_engine, "pricing")


def test_a_forked_child_counts_facets_on_threads_of_its_own(embedded_engine):
    """A process forked after searching (a worker, a server's child) inherits the pool but
    not its threads; without a fresh pool its first search would wait forever."""
    _staged(embedded_engine)
    _facet_search(embedded_engine, "pricing")  # the parent's pool now has a thread
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            counts = _facet_search(embedded_engine, "pricing").facets["stage"]
            os.write(write, str(sum(b.count for b in counts)).encode())
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        finished, _ = os.waitpid(child, os.WNOHANG)
        if finished:
            break
        time.sleep(0.05)
    else:
        os.kill(child, 9)
        os.waitpid(child, 0)
        pytest.fail("the forked child's search did not finish in 20 s")
    reported = os.read(read, 100)
    os.close(read)
    assert reported == b"3"
