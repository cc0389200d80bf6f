"""Bulk requests to Elasticsearch and OpenSearch are bounded in size: a node refuses a body over
its http.max_content_length (100 MB by default), and a rebuild once sent each batch of 500
assets as one request, so 40 long reports (3 MB of text each) made every rebuild fail with a
413. Measured against the real nodes CI starts, with the bound made small."""

import json

import pytest

from search.documents import SearchDocument
from search.engines import elastic
from tests.search.conftest import server_engine

NODES = [("OPENSEARCH_TEST_URL", "opensearch"), ("ELASTICSEARCH_TEST_URL", "elasticsearch")]


def _operations(count: int, size: int) -> list[dict]:
    operations = [{"delete": {"_index": "a", "_id": "0"}}]
    for number in range(1, count + 1):
        operations.append({"index": {"_index": "a", "_id": str(number)}})
        operations.append({"id": number, "file_text": "wörd " * (size // 6)})
    return operations


def test_bodies_stay_under_the_bound_and_keep_each_action_with_its_source(monkeypatch):
    monkeypatch.setattr(elastic, "BULK_MAX_BYTES", 10_000)
    operations = _operations(12, 3_000)
    bodies = list(elastic.bulk_bodies(operations))
    assert len(bodies) > 1 and all(len(body) <= 10_000 for body in bodies)
    lines = [json.loads(line) for body in bodies for line in body.splitlines()]
    assert lines == operations
    for body in bodies:  # every body starts with an action; a source follows its action
        first = json.loads(body.splitlines()[0])
        assert "index" in first or "delete" in first


def test_a_document_larger_than_the_bound_goes_alone(monkeypatch):
    monkeypatch.setattr(elastic, "BULK_MAX_BYTES", 10_000)
    bodies = list(elastic.bulk_bodies(_operations(3, 30_000)))
    sizes = [len(body.splitlines()) for body in bodies]
    assert sizes == [1, 2, 2, 2]  # the delete, then each oversized document in its own request


def test_nothing_to_send_sends_nothing():
    assert list(elastic.bulk_bodies([])) == []


def _documents(count: int) -> list[SearchDocument]:
    page = "walrus quarterly revenue " * 200  # about 5 KB
    return [
        SearchDocument(id=n, title=f"Report {n}", file_text=page, pages=((1, page),))
        for n in range(1, count + 1)
    ]


def _counting(engine, monkeypatch) -> list[int]:
    sizes = []
    real = engine.transport.bulk

    def bulk(body, refresh):
        sizes.append(len(body))
        return real(body, refresh)

    monkeypatch.setattr(engine.transport, "bulk", bulk)
    return sizes


@pytest.mark.engine
@pytest.mark.service
@pytest.mark.parametrize(("variable", "kind"), NODES)
def test_a_rebuild_and_an_update_over_the_bound_are_sent_in_parts(
    variable, kind, request, monkeypatch
):
    engine = server_engine(variable, kind, request)
    monkeypatch.setattr(elastic, "BULK_MAX_BYTES", 64 * 1024)
    sizes = _counting(engine, monkeypatch)
    assert engine.rebuild([_documents(40)]) == 40
    assert len(sizes) >= 3 and max(sizes) <= 64 * 1024
    assert engine.indexed_ids() == set(range(1, 41))
    sizes.clear()
    engine.upsert([SearchDocument(id=n, title=f"Update {n}") for n in range(41, 2041)])
    assert len(sizes) >= 2 and max(sizes) <= 64 * 1024
    assert engine.indexed_ids() == set(range(1, 2041))


@pytest.mark.engine
@pytest.mark.service
@pytest.mark.parametrize(("variable", "kind"), NODES)
def test_a_rebuild_that_fails_midway_leaves_the_live_index_and_no_half_built_one(
    variable, kind, request
):
    engine = server_engine(variable, kind, request)
    engine.rebuild([_documents(3)])
    (live,) = engine.transport.aliases(engine.alias)

    def batches():
        yield _documents(5)
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        engine.rebuild(batches())
    assert engine.transport.aliases(engine.alias) == [live]
    assert set(engine.transport.client.indices.get(index=f"{engine.alias}-*")) == {live}
    assert engine.indexed_ids() == {1, 2, 3}


@pytest.mark.engine
@pytest.mark.service
@pytest.mark.django_db
@pytest.mark.parametrize(("variable", "kind"), NODES)
def test_a_wiped_server_index_is_rebuilt_from_the_database(variable, kind, request):
    from search.engines import use_engine
    from search.services import index_rebuild, index_restore
    from tests.factories import make_asset

    engine = server_engine(variable, kind, request)
    with use_engine(engine):
        asset = make_asset("Walrus pricing sheet")
        index_rebuild()
        assert engine.health().documents == 1
        for index in engine.transport.aliases(engine.alias):  # the server lost its data
            engine.transport.delete(index)
        assert engine.health().missing
        assert index_restore() == 1
        assert engine.indexed_ids() == {asset.pk}
        assert index_restore() is None  # nothing lost: nothing done


@pytest.mark.engine
@pytest.mark.service
@pytest.mark.parametrize(("variable", "kind"), NODES)
def test_a_write_to_an_index_gone_makes_none_on_the_server(variable, kind, request):
    """Else the write made the server create an index by that name, guessing its mapping and
    holding only what was written (a health check made it empty before that). Whether this
    process last saw the index (the write's ``require_alias``) or not (its alias check), the
    write is ``IndexMissing`` and the server holds nothing by that name; ``reset`` (a new
    library) or a rebuild makes the index, with its mapping."""
    from search.engines import IndexMissing

    engine = server_engine(variable, kind, request)
    engine.rebuild([_documents(1)])
    for index in engine.transport.aliases(engine.alias):  # the server lost its data
        engine.transport.delete(index)
    for _ in range(2):  # as last seen, then asked afresh
        with pytest.raises(IndexMissing):
            engine.upsert(_documents(2))
        with pytest.raises(IndexMissing):
            engine.delete([1])
        assert not engine.transport.exists(engine.alias)
    assert engine.health().missing
    assert not engine.transport.exists(engine.alias)
    engine.reset()
    engine.upsert(_documents(2))
    assert engine.transport.aliases(engine.alias)
    assert elastic._MAPPED_FIELDS <= set(engine.transport.mapping(engine.alias)["properties"])
    assert engine.indexed_ids() == {1, 2}


@pytest.mark.engine
@pytest.mark.service
@pytest.mark.django_db
@pytest.mark.parametrize(("variable", "kind"), NODES)
def test_a_server_index_built_for_other_fields_is_rebuilt_from_the_database(
    variable, kind, request
):
    """After an upgrade that adds a searchable field the server's index lacks it: refused
    (search unavailable) until rebuilt, which the scheduler's ``index_restore`` now does."""
    from search.engines import SearchUnavailable, use_engine
    from search.services import index_restore
    from tests.factories import make_asset

    engine = server_engine(variable, kind, request)
    transport = engine.transport
    older = f"{engine.alias}-older"
    transport.create(older, {"mappings": {"properties": {"id": {"type": "long"}}}})
    transport.update_aliases([{"add": {"index": older, "alias": engine.alias}}])
    with use_engine(engine):
        asset = make_asset("Walrus pricing sheet")
        assert engine.health().outdated
        with pytest.raises(SearchUnavailable, match="run manage.py search_reindex"):
            engine.upsert(_documents(1))

        assert index_restore() == 1
        assert not engine.health().outdated
        assert engine.indexed_ids() == {asset.pk}
        assert index_restore() is None


@pytest.mark.service
@pytest.mark.django_db
@pytest.mark.parametrize(("variable", "kind"), NODES)
def test_a_server_index_with_the_old_text_analysis_is_rebuilt_from_the_database(
    variable, kind, request
):
    """An index from before 2026-12-07 has every field but splits words as Lucene's standard
    tokenizer does ("99.95" one word): refused as outdated, not searched with words its
    terms are not, until the scheduler rebuilds it."""
    from accounts.roles import REP
    from search.engines import SearchUnavailable, use_engine
    from search.services import index_restore
    from tests.factories import make_asset, make_user
    from tests.search.conftest import run_search, titles

    engine = server_engine(variable, kind, request)
    transport = engine.transport
    body = elastic.index_body()
    del body["mappings"]["_meta"]
    older = f"{engine.alias}-older"
    transport.create(older, body)
    transport.update_aliases([{"add": {"index": older, "alias": engine.alias}}])
    with use_engine(engine):
        asset = make_asset("Uptime report", summary="99.95% of syncs")
        assert engine.health().outdated
        with pytest.raises(SearchUnavailable, match="splits or stems words otherwise"):
            engine.upsert(_documents(1))

        assert index_restore() == 1
        assert not engine.health().outdated
        assert engine.indexed_ids() == {asset.pk}
        user = make_user("rep", role=REP)
        assert titles(run_search(user, "99.95")) == ["Uptime report"]
