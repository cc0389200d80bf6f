"""Deal ids are normalised the same way by the webhook, the import and the events API, and
over-long values are reported by row and field on SQLite and PostgreSQL alike (CI runs this
file on both)."""

import io
import json

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD
from analytics.imports import deal_import_file
from analytics.models import Deal, UsageEvent
from analytics.services import api_key_create
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db
HEADER = "Opportunity ID,Opportunity Name,Stage,Industry,Amount Currency\n"


@pytest.fixture
def lead_key():
    return api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]


def _post(url, body, key):
    return Client().post(
        url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def _import(text: str):
    return deal_import_file(io.BytesIO(text.encode()), "report.csv")


def test_webhook_with_surrounding_spaces_updates_the_same_deal(lead_key):
    first = _post("/api/v1/deals", {"external_id": "006A", "stage": "Prospecting"}, lead_key)
    assert first.status_code == 201
    again = _post("/api/v1/deals", {"external_id": " 006A\t", "stage": "Needs Analysis"}, lead_key)
    assert again.status_code == 200
    assert list(Deal.objects.values_list("external_id", "stage")) == [("006A", "Needs Analysis")]
    stages = _post("/api/v1/deals/%20006A%20/stages", {"stage": "Closed Won"}, lead_key)
    assert stages.status_code == 200 and stages.json()["outcome"] == "won"


def test_import_and_webhook_and_events_agree_on_ids(lead_key):
    _import(HEADER + " 006B ,Acme,Prospecting,Retail,\n")
    assert (
        _post(
            "/api/v1/deals", {"external_id": "006B", "stage": "Needs Analysis"}, lead_key
        ).status_code
        == 200
    )
    assert Deal.objects.get().external_id == "006B"
    asset = make_asset("Deck")
    event = {
        "idempotency_key": "e1",
        "kind": "asset_presented",
        "asset_id": asset.pk,
        "deal_id": " 006B ",
    }
    response = _post("/api/v1/events", {"events": [event]}, lead_key)
    assert response.status_code == 200
    assert UsageEvent.objects.get().deal.external_id == "006B"


def test_import_reports_over_long_fields_by_row_and_column_and_keeps_the_rest():
    long_id, long_industry = "X" * 150, "Y" * 150
    report = _import(
        HEADER
        + f"{long_id},Too long id,Prospecting,Retail,\n"
        + f"006C,Fine,Prospecting,{long_industry},\n"
        + "006D,Bad currency,Prospecting,Retail,US Dollar\n"
        + "006E,Fine too,Prospecting,Retail,EUR\n"
    )
    assert [(row, column) for row, column, _ in report.errors] == [
        (2, "Opportunity ID"),
        (3, "Industry"),
        (4, "Amount Currency"),
    ]
    assert "150 characters" in report.errors[0][2] and "at most 100" in report.errors[0][2]
    assert list(Deal.objects.values_list("external_id", flat=True)) == ["006E"]


def test_history_import_reports_an_over_long_id_by_row():
    report = deal_import_file(
        io.BytesIO(
            (
                "Opportunity ID,Stage,Last Modified\n" + "Z" * 120 + ",Prospecting,2024-05-01\n"
            ).encode()
        ),
        "history.csv",
        kind="history",
    )
    assert [(row, column) for row, column, _ in report.errors] == [(2, "Opportunity ID")]


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "N" * 300), ("account", "A" * 256), ("industry", "I" * 101), ("currency", "DOLLARS")],
)
def test_webhook_refuses_over_long_fields_by_name_and_stores_nothing(lead_key, field, value):
    body = {"external_id": "006L", "stage": "Prospecting", field: value}
    response = _post("/api/v1/deals", body, lead_key)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}: is {len(value)} characters long")
    assert not Deal.objects.exists()
