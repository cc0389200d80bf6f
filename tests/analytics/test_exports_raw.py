"""The raw log is the user's: events, deal history and deals for a date range, as CSV (and
Parquet), with the documented columns, formulas neutralised, leads only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
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
    assert body.startswith("\ufeff")  # the byte-order mark Excel needs
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


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


# --- Date ranges, numbers and types --------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "what=events&start=2026-01-01&end=9999-12-31",
        "what=history&start=2026-01-01&end=9999-12-31",
        "what=deals&start=2026-01-01&end=9999-12-31&format=parquet",
    ],
)
def test_a_to_date_with_no_day_after_it_is_a_form_error_naming_to(raw, query):
    page = _lead().get(f"/analytics/export/?{query}")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert (
        "To: 9999-12-31 is past the last day an export can end on, 9999-12-30."
        in page.content.decode()
    )


def test_the_last_day_an_export_can_end_on_exports(raw):
    rows = _csv(_lead().get("/analytics/export/?what=events&start=2024-06-01&end=9999-12-30"))
    assert [r["idempotency_key"] for r in rows] == ["e-june", "e-july"]


def test_a_date_that_is_not_one_names_its_field_on_the_form(raw):
    page = _lead().get("/analytics/export/?what=events&start=2026-02-30&end=2026-03-01x")
    text = page.content.decode()
    assert "From: enter a date as YYYY-MM-DD." in text
    assert "To: enter a date as YYYY-MM-DD." in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--from=2026-03-01", "--to=9999-12-31"], "--to: 9999-12-31 is past the last day"),
        (["--from=2026-03-01", "--to=2026-02-30"], "--to: '2026-02-30' is not a date"),
        (["--from=2026-02-30", "--to=2026-03-01"], "--from: '2026-02-30' is not a date"),
    ],
)
def test_export_command_names_the_option_with_a_bad_date(raw, options, message):
    with pytest.raises(CommandError) as error:
        call_command("export_analytics", "events", *options, stdout=io.StringIO())
    assert str(error.value).startswith(message)


@pytest.fixture
def negative(raw):
    walk_deal("X3", ["discover", "lost"], amount=-500, currency="EUR", name="-1+2 Acme")
    walk_deal("X4", ["discover", "won"], amount=70, currency="GBP")  # no GBP rate
    return raw


def test_negative_amounts_are_numbers_in_csv_and_text_starting_with_minus_is_not(negative):
    deals = _csv(_lead().get("/analytics/export/?what=deals&start=2024-06-01&end=2024-06-30"))
    x3 = next(r for r in deals if r["deal_id"] == "X3")
    assert (x3["amount"], x3["amount_reporting"]) == ("-500.00", "-1000.00")
    assert x3["name"] == "'-1+2 Acme"  # a formula would not run in a spreadsheet


def _parquet(query: str):
    import pyarrow.parquet as pq

    response = _lead().get(f"/analytics/export/?{query}&format=parquet")
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    return pq.read_table(io.BytesIO(response.content))


def test_parquet_columns_have_their_documented_types(negative):
    import pyarrow as pa

    events = _parquet("what=events&start=2024-05-01&end=2024-06-30")
    types = dict(zip(events.column_names, events.schema.types, strict=True))
    assert types["event_id"] == types["asset_id"] == types["share_link_id"] == pa.int64()
    assert types["occurred_at"] == types["received_at"] == pa.timestamp("us", tz="UTC")
    assert types["kind"] == types["metadata"] == pa.string()
    may = events.to_pylist()[0]
    assert may["occurred_at"] == datetime(2024, 5, 20, 12, tzinfo=UTC)
    assert isinstance(may["event_id"], int) and may["asset_id"] == negative.pk
    assert (may["share_link_id"], may["metadata"]) == (None, "{}")

    history = _parquet("what=history&start=2024-05-01&end=2024-05-31")
    assert history.schema.field("entered_at").type == pa.timestamp("us", tz="UTC")

    deals = _parquet("what=deals&start=2024-06-01&end=2024-06-30")
    types = dict(zip(deals.column_names, deals.schema.types, strict=True))
    assert types["amount"] == types["amount_reporting"] == pa.decimal128(38, 2)
    assert types["close_date"] == types["created_date"] == pa.date32()
    assert types["has_stage_history"] == pa.bool_()
    rows = {row["deal_id"]: row for row in deals.to_pylist()}
    assert (rows["X1"]["amount"], rows["X1"]["amount_reporting"]) == (
        Decimal("100.00"),
        Decimal("200.00"),
    )
    assert (rows["X3"]["amount"], rows["X3"]["amount_reporting"]) == (
        Decimal("-500.00"),
        Decimal("-1000.00"),
    )
    assert (rows["X4"]["amount"], rows["X4"]["amount_reporting"]) == (Decimal("70.00"), None)
    assert rows["X1"]["close_date"] == date(2024, 6, 30)
    assert rows["X1"]["has_stage_history"] is True
    assert rows["X3"]["name"] == "-1+2 Acme"  # Parquet is no spreadsheet: text as it is


def test_the_readme_lists_every_column_with_its_type():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for what, columns in SCHEMAS.items():
        line = next(line for line in readme.splitlines() if line.startswith(f"| {what} | `"))
        assert re.findall(r"`(\w+)` (\w+)", line) == [(n, c.type) for n, c in columns.items()]
