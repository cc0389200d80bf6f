"""Deleting a team that restricts content is refused (it would open the content to everyone),
in the admin, in its bulk delete and in code; the refusal says where the team is used."""

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from accounts.models import Team
from accounts.roles import ENABLEMENT_LEAD, REP
from cms.selectors import asset_visible_to
from tests.factories import make_asset, make_section, make_team, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_client():
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


def test_admin_refuses_to_delete_a_team_that_restricts_an_asset_and_says_where(lead_client):
    team = make_team("EMEA")
    asset = make_asset("EMEA pricing", teams=[team])
    outsider = make_user(role=REP)
    url = reverse("wagtailsnippets_accounts_team:delete", args=[team.pk])
    response = lead_client.post(url, follow=True)
    assert Team.objects.filter(pk=team.pk).exists()
    message = " ".join(str(m) for m in response.context["messages"])
    assert "EMEA pricing" in message and "cannot be deleted" in message
    assert not asset_visible_to(outsider, asset)


def test_admin_bulk_delete_refuses_teams_in_use(lead_client):
    used, unused = make_team("Partners"), make_team("Old team")
    make_section("Partner portal", teams=[used])
    url = (
        reverse("wagtail_bulk_action", args=("accounts", "team", "delete"))
        + f"?id={used.pk}&id={unused.pk}"
    )
    response = lead_client.post(url, follow=True)
    assert Team.objects.filter(pk=used.pk).exists()
    assert "Partner portal" in " ".join(str(m) for m in response.context["messages"])


def test_a_team_named_only_by_an_unpublished_draft_is_in_use_too():
    team = make_team("Draft team")
    asset = make_asset("Deck")
    asset.restricted_teams.set([team])
    asset.save_revision()  # a draft restriction, not yet published
    asset.restricted_teams.set([])
    with pytest.raises(ProtectedError, match="Deck"), transaction.atomic():
        team.delete()


def test_deleting_in_code_is_refused_too():
    team = make_team("APAC")
    make_asset("APAC deck", teams=[team])
    with pytest.raises(ProtectedError, match="APAC deck"), transaction.atomic():
        team.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        Team.objects.filter(pk=team.pk).delete()
    assert Team.objects.filter(pk=team.pk).exists()


def test_a_team_nobody_uses_can_be_deleted(lead_client):
    team = make_team("Unused")
    lead_client.post(reverse("wagtailsnippets_accounts_team:delete", args=[team.pk]))
    assert not Team.objects.filter(pk=team.pk).exists()
