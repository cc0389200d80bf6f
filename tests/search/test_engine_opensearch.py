"""The behavioural suite on a real OpenSearch node (OPENSEARCH_TEST_URL; CI starts one with
`.ci/opensearch.sh start`)."""

import pytest

from search.engines.elastic import ElasticEngine
from tests.search.conftest import server_engine
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
