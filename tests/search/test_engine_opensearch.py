"""The behavioural suite on a real OpenSearch node (OPENSEARCH_TEST_URL; CI starts one with
`.ci/opensearch.sh start`)."""

import pytest

from search.engines.elastic import ElasticEngine
from tests.search.conftest import server_engine, server_index_delete
from tests.search.engine_suite import EngineSuite

pytestmark = [pytest.mark.django_db, pytest.mark.engine, pytest.mark.service]


class TestOpenSearchEngine(EngineSuite):
    @pytest.fixture
    def engine(self, request):
        return server_engine("OPENSEARCH_TEST_URL", "opensearch", request)

    @pytest.fixture
    def broken_engine(self):
        return ElasticEngine(
            url="http://127.0.0.1:9", index="unreachable", kind="opensearch", timeout=1
        )

    @pytest.fixture
    def index_deleted(self, engine):
        return lambda: server_index_delete(engine)


def test_an_index_whose_mapping_lacks_a_field_is_refused_until_a_rebuild(request, db):
    """A facet added since the server index was built: the engine says to reindex instead of
    letting the server guess a mapping; ``rebuild`` builds one with every field."""
    from search.documents import SearchDocument
    from search.engines import SearchUnavailable

    engine = server_engine("OPENSEARCH_TEST_URL", "opensearch", request)
    transport = engine.transport
    old = f"{engine.alias}-old"
    transport.create(old, {"mappings": {"properties": {"id": {"type": "long"}}}})
    transport.update_aliases([{"add": {"index": old, "alias": engine.alias}}])

    with pytest.raises(SearchUnavailable, match="run manage.py search_reindex"):
        engine.upsert([SearchDocument(id=1, title="Waits for the rebuild")])

    engine.rebuild([[SearchDocument(id=1, title="Rebuilt")]])
    engine.upsert([SearchDocument(id=2, title="Written after the rebuild")])
    assert engine.indexed_ids() == {1, 2}
