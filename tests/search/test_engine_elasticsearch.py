"""The behavioural suite on a real Elasticsearch node (ELASTICSEARCH_TEST_URL; CI starts one
with `.ci/elasticsearch.sh start`)."""

import pytest

from search.engines.elastic import ElasticEngine
from tests.search.conftest import server_engine
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
