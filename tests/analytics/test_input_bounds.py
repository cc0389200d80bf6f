"""Values a CRM or an integration may send that no deal, event or page can hold: refused
with the field (or row and column) named, and nothing stored. Each was once accepted and
then broke something: a 500, or every later analytics refresh (found by an outside audit)."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.content_requests import content_request_create
from analytics.imports import ImportError_, deal_import_file
from analytics.models import Deal, UsageEvent
from analytics.parsing import parse_amount
from analytics.services import api_key_create
from tests.analytics.helpers import refresh, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_key():
    return api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]


def _post(url, body, key, *, raw: str | None = None):
    data = raw if raw is not None else json.dumps(body)
    return Client().post(
        url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("close_date", "9999-12-31"),
        ("close_date", "0001-01-01"),
        ("created_date", "1900-01-01"),
        ("stage_changed_at", "0001-01-01T00:00:00+14:00"),
        ("stage_changed_at", "9999-12-31T23:59:59-14:00"),
    ],
)
def test_a_deal_date_past_the_calendar_is_a_400_naming_it(lead_key, field, value):
    body = {"external_id": "P-9999", "stage": "Closed Won", field: value}
    response = _post("/api/v1/deals", body, lead_key)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}: date ")
    assert "is out of range (1970-01-01 to 2999-12-31)" in response.json()["detail"]
    assert not Deal.objects.exists()
    refresh()  # a deal closing on 9999-12-31 once failed every refresh after it


def test_a_stage_entered_past_the_calendar_is_a_400_and_the_deal_unchanged(lead_key):
    deal = walk_deal("D1", ["discover"])
    for when in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"):
        body = {"stage": "Closed Lost", "entered_at": when}
        response = _post(f"/api/v1/deals/{deal.external_id}/stages", body, lead_key)
        assert response.status_code == 400
        assert response.json()["detail"].startswith("entered_at: date ")
    deal.refresh_from_db()
    assert (deal.outcome, deal.history.count()) == ("open", 1)


def test_an_import_row_past_the_calendar_is_reported_by_row_and_column():
    report = _import(
        "Opportunity ID,Stage,Last Stage Change Date,Close Date\n"
        "A-1,Prospecting,,\n"
        "A-2,Closed Won,,9999-12-31\n"
        "A-3,Prospecting,0001-01-01T00:00:00+14:00,\n"
    )
    assert [(row, column) for row, column, _ in report.errors] == [
        (3, "Close Date"),
        (4, "Last Stage Change Date"),
    ]
    assert all("is out of range" in reason for _, _, reason in report.errors)
    assert list(Deal.objects.values_list("external_id", flat=True)) == ["A-1"]


def test_a_history_row_past_the_calendar_is_reported_by_row():
    walk_deal("D1", ["discover"])
    report = _import(
        "Opportunity ID,Stage,Date\nD1,Needs Analysis,0001-01-01T00:00:00+14:00\n",
        kind="history",
    )
    assert [(row, column) for row, column, _ in report.errors] == [(2, "Date")]


def test_a_cell_longer_than_csvs_own_limit_is_a_row_error_not_a_crash():
    report = _import(f"Opportunity ID,Stage,Opportunity Name\nL-1,Prospecting,{'x' * 200_000}\n")
    assert [(row, column) for row, column, _ in report.errors] == [(2, "Opportunity Name")]
    assert "at most 255" in report.errors[0][2]


@pytest.mark.parametrize("code", ["US", "US$", "€", "12"])
def test_a_currency_that_is_not_a_three_letter_code_is_a_400(lead_key, code):
    body = {"external_id": "C-1", "stage": "Prospecting", "currency": code}
    response = _post("/api/v1/deals", body, lead_key)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("currency: ")
    assert "is not a three-letter currency code" in response.json()["detail"]
    assert not Deal.objects.exists()


def test_a_currency_code_in_lower_case_is_stored_in_capitals_and_a_bad_one_named_by_row():
    report = _import(
        "Opportunity ID,Stage,Amount,Currency\n"
        "C-1,Prospecting,100,eur\n"
        "C-2,Prospecting,100,Euro\n"
        "C-3,Prospecting,100,E\n"
    )
    assert [(row, column) for row, column, _ in report.errors] == [(3, "Currency"), (4, "Currency")]
    assert list(Deal.objects.values_list("external_id", "currency")) == [("C-1", "EUR")]


def test_a_true_or_false_amount_cell_is_not_a_number():
    for value in (True, False):
        with pytest.raises(ValueError, match="is not a number"):
            parse_amount(value)


@pytest.mark.parametrize(
    ("url", "body", "where"),
    [
        (
            "/api/v1/deals",
            {"external_id": "P", "stage": "Prospecting", "name": "a\ud800"},
            "body.name",
        ),
        (
            "/api/v1/deals",
            {"external_id": "P", "stage": "Prospecting", "attributes": {"\ud800": "x"}},
            "body.attributes (a name)",
        ),
        (
            "/api/v1/events",
            {
                "events": [
                    {
                        "idempotency_key": "k",
                        "kind": "asset_viewed",
                        "asset_id": 1,
                        "metadata": {"a": "\ud800"},
                    }
                ]
            },
            "body.events.0.metadata.a",
        ),
        (
            "/api/v1/events",
            {
                "events": [
                    {
                        "idempotency_key": "k",
                        "kind": "asset_viewed",
                        "asset_id": 1,
                        "deal_id": "\udfff",
                    }
                ]
            },
            "body.events.0.deal_id",
        ),
    ],
)
def test_text_with_half_a_surrogate_pair_is_a_400_naming_where(lead_key, url, body, where):
    response = _post(url, body, lead_key)
    assert response.status_code == 400
    assert response.json()["detail"] == f"{where}: text with an unpaired UTF-16 surrogate"
    assert not Deal.objects.exists() and not UsageEvent.objects.exists()
    assert Client().get("/login/").status_code == 200


@pytest.mark.parametrize(
    ("url", "body", "where"),
    [
        (
            "/api/v1/deals",
            {"external_id": "P", "stage": "Prospecting", "name": "a\x00b"},
            "body.name",
        ),
        ("/api/v1/deals", {"external_id": "P\x00", "stage": "Prospecting"}, "body.external_id"),
        (
            "/api/v1/deals",
            {"external_id": "P", "stage": "Prospecting", "attributes": {"tier": "\x00"}},
            "body.attributes.tier",
        ),
        (
            "/api/v1/events",
            {
                "events": [
                    {
                        "idempotency_key": "k",
                        "kind": "asset_viewed",
                        "asset_id": 1,
                        "deal_id": "\x00",
                    }
                ]
            },
            "body.events.0.deal_id",
        ),
    ],
)
def test_text_with_a_nul_character_is_a_400_naming_where(lead_key, url, body, where):
    """PostgreSQL stores no NUL in text: each was a 500 there (SQLite stored it)."""
    response = _post(url, body, lead_key)
    assert response.status_code == 400
    assert response.json()["detail"] == f"{where}: text with a NUL character"
    assert not Deal.objects.exists() and not UsageEvent.objects.exists()


def test_an_excel_unicode_text_file_is_imported():
    """Excel's "Unicode Text" export: UTF-16 with its byte-order mark, tab-separated (it was
    read as one garbled column and refused as "missing required column(s)")."""
    text = "Opportunity ID\tStage\tOpportunity Name\nU-1\tProspecting\tMüller GmbH\n"
    report = deal_import_file(io.BytesIO(text.encode("utf-16")), "deals.txt")
    assert report.errors == []
    assert list(Deal.objects.values_list("external_id", "name")) == [("U-1", "Müller GmbH")]


def test_a_file_with_nul_bytes_is_refused_as_not_csv_text():
    data = b"Opportunity ID,Stage\nA-1,Prospecting\x00\n"
    with pytest.raises(ImportError_, match="holds NUL bytes, so it is not CSV text"):
        deal_import_file(io.BytesIO(data), "deals.csv")
    assert not Deal.objects.exists()


def test_a_nul_character_past_the_files_start_is_reported_by_row_and_column():
    filler = "".join(f"F-{n},Prospecting,Deal {n}\n" for n in range(4000))  # past 64 KB
    text = f"Opportunity ID,Stage,Opportunity Name\n{filler}N-1,Prospecting,a\x00b\n"
    report = _import(text)
    assert [(row, column) for row, column, _ in report.errors] == [(4002, "Opportunity Name")]
    assert "NUL character" in report.errors[0][2]
    assert Deal.objects.count() == 4000


def test_nan_or_infinity_in_a_body_is_a_400_and_a_whole_emoji_is_text(lead_key):
    asset = make_asset("Deck")
    for constant in ("NaN", "Infinity", "-Infinity"):
        raw = (
            '{"events": [{"idempotency_key": "k", "kind": "asset_viewed", '
            f'"asset_id": {asset.pk}, "metadata": {{"a": {constant}}}}}]}}'
        )
        response = _post("/api/v1/events", None, lead_key, raw=raw)
        assert response.status_code == 400
        assert response.json()["detail"] == (
            f"{constant} is not a JSON number (send null or a string)"
        )
    emoji = {
        "events": [
            {
                "idempotency_key": "k",
                "kind": "asset_viewed",
                "asset_id": asset.pk,
                "metadata": {"note": "\U0001f69a"},
            }
        ]
    }
    assert "\\ud83d\\ude9a" in json.dumps(emoji)  # sent as a surrogate pair, as JSON does
    assert _post("/api/v1/events", emoji, lead_key).status_code == 200
    assert UsageEvent.objects.get().metadata == {"note": "\U0001f69a"}


@pytest.mark.parametrize(
    ("url", "raw", "where"),
    [
        (
            "/api/v1/deals",
            '{"external_id": "D", "stage": "Closed Won", "stage": "Closed Lost"}',
            "body.stage",
        ),
        (
            "/api/v1/deals",
            '{"external_id": "D", "stage": "Prospecting", '
            '"attributes": {"tier": "1", "tier": "2"}}',
            "body.attributes.tier",
        ),
        (
            "/api/v1/events",
            '{"events": [{"idempotency_key": "k", "kind": "asset_viewed", "asset_id": 1, '
            '"kind": "asset_downloaded"}]}',
            "body.events.0.kind",
        ),
    ],
)
def test_a_name_given_twice_in_a_body_is_a_400_naming_where_and_nothing_is_stored(
    lead_key, url, raw, where
):
    """The last value won without a word: a deal closed as lost that the CRM sent as won."""
    response = _post(url, None, lead_key, raw=raw)
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"{where}: given more than once in one object (send it once)"
    }
    assert not Deal.objects.exists() and not UsageEvent.objects.exists()
    # The shape of the API's answer to a body it cannot read at all.
    unreadable = _post(url, None, lead_key, raw=raw[:-1])
    assert unreadable.status_code == 400 and set(unreadable.json()) == {"detail"}


def test_a_body_giving_each_name_once_is_stored_nested_objects_too(lead_key):
    body = {"external_id": "D", "stage": "Prospecting", "attributes": {"tier": "1", "region": "EU"}}
    response = _post("/api/v1/deals", body, lead_key)
    assert response.status_code == 201
    assert Deal.objects.get().attributes == {"tier": "1", "region": "EU"}


def _import(text: str, **options):
    return deal_import_file(io.BytesIO(text.encode()), "deals.csv", **options)


def test_a_share_note_or_feedback_too_long_is_named_not_blamed_on_the_deal():
    rep = make_user(role=REP)
    deal = walk_deal("D1", ["discover"], owner=rep.username)
    asset = make_asset("Deck")
    client = Client()
    client.force_login(rep)
    shared = client.post(
        f"/analytics/assets/{asset.pk}/share/",
        {"deal": deal.pk, "recipient_note": "x" * 201},
        follow=True,
    ).content.decode()
    assert "For: Ensure this value has at most 200 characters (it has 201)." in shared
    assert "Pick one of your open deals." not in shared
    told = client.post(
        f"/analytics/assets/{asset.pk}/feedback/",
        {"kind": "outdated", "text": "x" * 2001},
        follow=True,
    ).content.decode()
    assert "Text: Ensure this value has at most 2000 characters (it has 2001)." in told


def test_a_search_gap_with_a_nul_character_is_refused_and_no_request_made():
    from analytics.models import ContentRequest

    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    page = client.post("/analytics/search-gaps/", {"query": "soc\x002"})
    assert page.status_code == 400
    assert "parameter 'query' holds a NUL character" in page.content.decode()
    assert not ContentRequest.objects.exists()
    with pytest.raises(ValidationError, match="contains a NUL character"):
        content_request_create(user=make_user(role=REP), text="soc\x002", source="gap")
    assert not ContentRequest.objects.exists()
