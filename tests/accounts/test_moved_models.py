"""Team moved from cms to accounts, SearchEvent and SearchClick from analytics to search,
without touching a row: a database migrated before the move keeps its teams, members, search
events and the permissions its groups hold, and they arrive under the new app."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Team
from accounts.roles import ENABLEMENT_LEAD
from search.models import SearchClick, SearchEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVES = [("accounts", None), ("cms", "0004_document_pages_transcripts_protected_status")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _labels(model: str) -> list[str]:
    return sorted(ContentType.objects.filter(model=model).values_list("app_label", flat=True))


def test_rows_and_granted_permissions_survive_the_moves():
    member = make_user("member")
    team = Team.objects.create(name="EMEA")
    team.members.add(member)
    search = SearchEvent.objects.create(query="roi", result_count=0, latency_ms=1.0)
    SearchClick.objects.create(search=search, position=1)
    lead = Group.objects.get(name=ENABLEMENT_LEAD)
    assert lead.permissions.filter(codename="change_team").exists()

    _migrate(BEFORE_THE_MOVES)
    assert _labels("team") == ["cms"] and _labels("searchevent") == ["analytics"]
    assert lead.permissions.get(codename="change_team").content_type.app_label == "cms"

    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())
    assert _labels("team") == ["accounts"]
    assert _labels("searchevent") == _labels("searchclick") == ["library_search"]
    granted = lead.permissions.get(codename="change_team")
    assert granted == Permission.objects.get(
        content_type__app_label="accounts", codename="change_team"
    )
    assert list(Team.objects.get(pk=team.pk).members.all()) == [member]
    assert SearchEvent.objects.get(pk=search.pk).clicks.count() == 1
