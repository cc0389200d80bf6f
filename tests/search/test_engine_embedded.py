"""The behavioural suite on the embedded tantivy engine (always runs)."""

import shutil

import pytest

from tests.search.engine_suite import EngineSuite

pytestmark = pytest.mark.django_db


class TestEmbeddedEngine(EngineSuite):
    @pytest.fixture
    def engine(self, embedded_engine):
        return embedded_engine

    @pytest.fixture
    def broken_engine(self, down_engine):
        return down_engine

    @pytest.fixture
    def index_deleted(self, engine):
        return lambda: shutil.rmtree(engine.root)
