"""Upgrading to migration 0008: searches recorded earlier whose text has no searchable word
("the") stop being listed as search gaps; every search is kept."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from search.models import SearchEvent
from search.selectors import search_gaps

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("library_search", "0007_admin_index_stale")]


def _migrate(targets) -> None:
    MigrationExecutor(connection).migrate(targets)


def test_searches_recorded_before_the_upgrade_with_no_searchable_word_are_no_gaps():
    _migrate(BEFORE)
    as_recorded = {"the": 3, "of the": 1, "the pricing": 1, "soc 2 report": 1}
    for text, times in as_recorded.items():
        for _ in range(times):
            SearchEvent.objects.create(
                query=text, normalized_query=text, result_count=0, latency_ms=1
            )
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    gaps = search_gaps(since=timezone.now() - timedelta(hours=1))
    assert [gap["query"] for gap in gaps["zero_results"]] == ["soc 2 report", "the pricing"]
    assert SearchEvent.objects.count() == 6
    assert SearchEvent.objects.filter(normalized_query="").count() == 4
