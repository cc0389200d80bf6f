"""The behavioural suite on a real Elasticsearch node (ELASTICSEARCH_TEST_URL; CI starts one
with `.ci/elasticsearch.sh start`)."""

import pytest

from search.engines.elastic import ElasticEngine
from tests.search.conftest import server_engine, server_index_delete
from tests.search.engine_suite import EngineSuite

pytestmark = [pytest.mark.django_db, pytest.mark.engine, pytest.mark.service]


class TestElasticsearchEngine(EngineSuite):
    @pytest.fixture
    def engine(self, request):
        return server_engine("ELASTICSEARCH_TEST_URL", "elasticsearch", request)

    @pytest.fixture
    def broken_engine(self):
        return ElasticEngine(
            url="http://127.0.0.1:9", index="unreachable", kind="elasticsearch", timeout=1
        )

    @pytest.fixture
    def index_deleted(self, engine):
        return lambda: server_index_delete(engine)


def test_highlighting_avoids_the_slow_weight_matches_mode(request):
    engine = server_engine("ELASTICSEARCH_TEST_URL", "elasticsearch", request)
    engine.reset()
    name = engine.transport.aliases(engine.alias)[0]
    settings = engine.transport.client.indices.get_settings(index=name).body[name]["settings"]
    assert settings["index"]["highlight"]["weight_matches_mode"]["enabled"] == "false"
    assert settings["index"]["analysis"]["analyzer"]["title_prefix"]["tokenizer"] == "words"


def test_an_index_from_before_page_text_is_refused_until_a_rebuild(request, db):
    from search.documents import SearchDocument
    from search.engines import SearchUnavailable
    from search.engines.elastic import index_body

    engine = server_engine("ELASTICSEARCH_TEST_URL", "elasticsearch", request)
    transport = engine.transport
    body = index_body()
    del body["mappings"]["properties"]["pages"]
    old = f"{engine.alias}-old"
    transport.create(old, body)
    transport.update_aliases([{"add": {"index": old, "alias": engine.alias}}])

    with pytest.raises(SearchUnavailable, match=r"lacks the fields \['pages'\]"):
        engine.upsert([SearchDocument(id=1, title="Waits for the rebuild")])

    engine.rebuild([[SearchDocument(id=1, title="Rebuilt", pages=((1, "Walrus"),))]])
    assert engine.indexed_ids() == {1}
