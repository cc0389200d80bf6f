"""Upgrading to the verdict rule of migration 0017, and to the estimates of 0025 (a clock of
whole milliseconds, intervals counting shared comparison deals once): what was stored under the
old rules is recomputed by the next refresh, not kept until one of their inputs moves."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from analytics.models import RollupSnapshot
from analytics.refresh import analytics_refresh

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets) -> None:
    MigrationExecutor(connection).migrate(targets)


def _stored_as_if_by_the_old_rule() -> None:
    """The headline as an older version stored it: same inputs, another verdict."""
    row = RollupSnapshot.objects.get(key="overview", window="365d")
    row.data["content"]["verdict"] = "hurts (old rule)"
    row.save()


def _headline_verdict() -> str:
    return RollupSnapshot.objects.get(key="overview", window="365d").data["content"]["verdict"]


@pytest.mark.parametrize(
    "before", ["0016_events_without_asset_index", "0024_heatmap_counts_every_tagged_asset"]
)
def test_the_next_refresh_after_the_upgrade_recomputes_stored_verdicts(before):
    analytics_refresh()
    computed = _headline_verdict()
    _stored_as_if_by_the_old_rule()
    analytics_refresh()  # nothing moved: a refresh alone keeps what is stored
    assert _headline_verdict() == "hurts (old rule)"

    _migrate([("analytics", before)])
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    analytics_refresh()
    assert _headline_verdict() == computed
