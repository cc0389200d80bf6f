"""The raw log is the user's: events, deal history and deals for a date range, as CSV (and
Parquet), with the documented columns, formulas neutralised, leads only."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.exports import SCHEMAS
from analytics.models import CurrencyRate
from tests.analytics.helpers import send_events, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw():
    asset = make_asset("=cmd|evil", stages=("evaluate",))
    CurrencyRate.objects.create(currency="EUR", valid_from=date(2024, 1, 1), rate=Decimal("2"))
    walk_deal("X1", ["discover", "evaluate", "won"], amount=100, currency="EUR", segment="SMB")
    walk_deal("X2", ["discover", "lost"], amount=50)
    send_events(
        ("e-may", "used_in_deal", asset, "X1", date(2024, 5, 20)),
        ("e-june", "asset_viewed", asset, "", date(2024, 6, 2)),
        ("e-july", "asset_viewed", asset, "", date(2024, 7, 2)),
    )
    return asset


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def _lead():
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


def test_events_for_a_date_range_with_the_documented_columns(raw):
    response = _lead().get("/analytics/export/?what=events&start=2024-05-01&end=2024-06-30")
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert list(rows[0]) == list(SCHEMAS["events"])
    assert [r["idempotency_key"] for r in rows] == ["e-may", "e-june"]  # July is outside
    may = rows[0]
    assert (may["kind"], may["deal_id"], may["occurred_at"]) == (
        "used_in_deal",
        "X1",
        "2024-05-20T12:00:00+00:00",
    )
    assert may["asset_title"] == "'=cmd|evil"  # a formula would not run in a spreadsheet
    # sent after the deal was won: the stage when stored (rollups read the history instead)
    assert may["recorded_crm_stage"] == "Closed Won"


def test_deal_history_and_deals_with_currency_and_reporting_amount(raw):
    client = _lead()
    history = _csv(client.get("/analytics/export/?what=history&start=2024-05-01&end=2024-05-31"))
    assert [(r["deal_id"], r["stage"]) for r in history] == [
        ("X1", "Prospecting"),
        ("X1", "Needs Analysis"),
        ("X2", "Prospecting"),
    ]
    deals = _csv(client.get("/analytics/export/?what=deals&start=2024-06-01&end=2024-06-30"))
    x1 = next(r for r in deals if r["deal_id"] == "X1")
    assert (x1["amount"], x1["currency"], x1["amount_reporting"]) == ("100.00", "EUR", "200.00")
    assert (x1["outcome"], x1["close_date"], x1["has_stage_history"]) == (
        "won",
        "2024-06-30",
        "true",
    )


def test_the_export_is_for_leads_only_and_checks_its_dates(raw):
    rep = Client()
    rep.force_login(make_user(role=REP))
    assert (
        rep.get("/analytics/export/?what=events&start=2024-01-01&end=2024-12-31").status_code == 403
    )
    page = _lead().get("/analytics/export/?what=events&start=2024-12-31&end=2024-01-01")
    assert (
        page.status_code == 200 and "The start date is after the end date." in page.content.decode()
    )


def test_parquet_export_holds_the_same_rows(raw):
    import pyarrow.parquet as pq

    response = _lead().get(
        "/analytics/export/?what=events&start=2024-05-01&end=2024-06-30&format=parquet"
    )
    table = pq.read_table(io.BytesIO(response.content))
    assert table.column_names == list(SCHEMAS["events"])
    assert table.column("idempotency_key").to_pylist() == ["e-may", "e-june"]


def test_export_command_writes_csv_and_parquet(raw, tmp_path):
    target = tmp_path / "deals.csv"
    call_command(
        "export_analytics", "deals", "--from=2024-01-01", "--to=2024-12-31", f"--output={target}"
    )
    rows = list(csv.DictReader(target.open()))
    assert sorted(r["deal_id"] for r in rows) == ["X1", "X2"]
    parquet = tmp_path / "history.parquet"
    call_command(
        "export_analytics",
        "history",
        "--from=2024-01-01",
        "--to=2024-12-31",
        "--format=parquet",
        f"--output={parquet}",
        stderr=io.StringIO(),
    )
    import pyarrow.parquet as pq

    assert pq.read_table(parquet).num_rows == 5
