"""A CRM id keys a deal and sits in its addresses (/deals/<id>/, /api/v1/deals/<id>): ids no
address can carry are refused where deals come in, naming the id."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.models import Deal
from analytics.services import DealInput, deal_upsert
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("crm_id", ["..", ".", "../../admin", "ACME/../2026", "ACME/./x"])
def test_a_crm_id_with_a_dot_segment_is_refused(crm_id):
    """An outside audit: "../../admin" was taken, and My deals linked it as /deals/../../admin/,
    which the browser resolves to /admin/."""
    rep = make_user(role=REP)
    with pytest.raises(ValidationError, match="“.” or “..” between slashes"):
        deal_upsert(data=DealInput(external_id=crm_id, stage="Prospecting", owner=rep.username))
    lead = Client()
    lead.force_login(make_user(role=ENABLEMENT_LEAD))
    body = {"external_id": crm_id, "stage": "Prospecting", "owner": rep.username}
    answer = lead.post("/api/v1/deals", json.dumps(body), content_type="application/json")
    assert answer.status_code == 400 and "between slashes" in answer.json()["detail"]
    assert not Deal.objects.exists()


@pytest.mark.parametrize("crm_id", ["006A.1", "v1.2/renewal", "...", "a..b"])
def test_dots_inside_a_part_are_an_ordinary_id(crm_id):
    rep = make_user(role=REP)
    deal, _ = deal_upsert(
        data=DealInput(external_id=crm_id, stage="Prospecting", owner=rep.username, name="Mine")
    )
    client = Client()
    client.force_login(rep)
    assert client.get(f"/deals/{deal.external_id}/").status_code == 200
