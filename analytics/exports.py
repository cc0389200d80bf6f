"""The raw log is the user's: usage events, deal stage history and deals for a date range, as
CSV (and Parquet when pyarrow is installed), so a RevOps analyst can check any number of the
dashboard in SQL. ``SCHEMAS`` is the documented column list (the README repeats it); the
dashboard's export page, ``manage.py export_analytics`` and the tests use the same functions.
Every CSV cell goes through ``cms.exports.spreadsheet_safe`` (no formula runs).

Also here: the asset table's CSV columns (the nested per-segment and per-stage figures and
money without a rate written as text).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from django.http import StreamingHttpResponse

from analytics.currency import Rates
from analytics.models import Deal, DealStageChange, UsageEvent
from analytics.selectors import ASSET_FIELDS, deals_without_history
from cms.exports import spreadsheet_safe

CHUNK = 5000

#: Column -> meaning, per export. Times are ISO 8601 in UTC.
SCHEMAS: dict[str, dict[str, str]] = {
    "events": {
        "event_id": "the event's row id (increases as events are stored)",
        "idempotency_key": "the sender's key; each key is stored once",
        "kind": "asset_viewed, asset_downloaded, asset_shared, buyer_opened, used_in_deal or "
        "asset_presented (the last four are touches of a deal)",
        "asset_id": "the asset (as in the search API and the asset table)",
        "asset_title": "the asset's current title",
        "deal_id": "the deal's CRM id (external id), empty when none",
        "user": "the username of who acted, empty for buyers and integrations",
        "source": "web, api, share (a buyer's link) or demo",
        "occurred_at": "when it happened",
        "received_at": "when the library stored it",
        "recorded_crm_stage": "the deal's CRM stage when the library stored the event (the "
        "rollups read the stage at the event's own time from the history instead)",
        "share_link_id": "the share link a buyer opened, if any",
        "metadata": "the sender's extra fields, JSON",
    },
    "history": {
        "deal_id": "the deal's CRM id",
        "stage": "the CRM stage entered",
        "journey_stage": "the journey stage it maps to, empty for Closed Lost and unmapped",
        "entered_at": "when the deal entered it",
    },
    "deals": {
        "deal_id": "the CRM id",
        "name": "opportunity name",
        "account": "account name",
        "amount": "amount in the deal's own currency",
        "currency": "the deal's currency (ISO 4217)",
        "amount_reporting": "amount in the reporting currency at the close-date rate, empty "
        "without a rate",
        "reporting_currency": "the reporting currency",
        "stage": "current CRM stage",
        "outcome": "open, won or lost",
        "close_date": "close date (expected close date while open)",
        "created_date": "created date",
        "owner": "the owner as the CRM named them",
        "segment": "segment (type)",
        "industry": "industry",
        "attributes": "other CRM fields kept from imports, JSON",
        "has_stage_history": "whether its history names a journey stage it passed through "
        "before closing (closed deals without are left out of stage-based estimates)",
    },
}


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _range(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _iso(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def event_rows(start: date, end: date) -> Iterator[tuple]:
    low, high = _range(start, end)
    rows = (
        UsageEvent.objects.filter(occurred_at__gte=low, occurred_at__lt=high)
        .order_by("occurred_at", "id")
        .values_list(
            "id",
            "idempotency_key",
            "kind",
            "asset_id",
            "asset__title",
            "deal__external_id",
            "user__username",
            "source",
            "occurred_at",
            "received_at",
            "crm_stage",
            "share_link_id",
            "metadata",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK):
        *head, occurred, received, stage, link, metadata = row
        yield (
            *(value if value is not None else "" for value in head),
            _iso(occurred),
            _iso(received),
            stage,
            link or "",
            json.dumps(metadata or {}, sort_keys=True),
        )


def history_rows(start: date, end: date) -> Iterator[tuple]:
    low, high = _range(start, end)
    rows = (
        DealStageChange.objects.filter(entered_at__gte=low, entered_at__lt=high)
        .order_by("deal__external_id", "entered_at", "id")
        .values_list("deal__external_id", "stage", "journey_stage__name", "entered_at")
    )
    for deal, stage, journey, entered in rows.iterator(chunk_size=CHUNK):
        yield deal, stage, journey or "", _iso(entered)


def deal_rows(start: date, end: date, *, without_history: bool = False) -> Iterator[tuple]:
    rates = Rates.load()
    missing = set(deals_without_history().values_list("pk", flat=True))
    deals = Deal.objects.filter(close_date__gte=start, close_date__lte=end)
    if without_history:
        deals = deals.filter(pk__in=list(missing))
    fields = (
        "pk external_id name account amount currency stage outcome close_date created_date "
        "owner_name segment industry attributes"
    ).split()
    for row in (
        deals.order_by("close_date", "external_id").values_list(*fields).iterator(chunk_size=CHUNK)
    ):
        pk, external, name, account, amount, currency, stage, outcome, close = row[:9]
        created, owner, segment, industry, attributes = row[9:]
        converted = rates.convert(float(amount), currency, close)
        closed = outcome != Deal.Outcome.OPEN
        yield (
            external,
            name,
            account,
            f"{amount:.2f}",
            currency,
            "" if converted is None else f"{converted:.2f}",
            rates.currency,
            stage,
            outcome,
            _iso(close),
            _iso(created),
            owner,
            segment,
            industry,
            json.dumps(attributes or {}, sort_keys=True),
            "false" if closed and pk in missing else "true",
        )


def rows_for(what: str, start: date, end: date, *, without_history: bool = False):
    if what == "events":
        return event_rows(start, end)
    if what == "history":
        return history_rows(start, end)
    if what == "deals":
        return deal_rows(start, end, without_history=without_history)
    raise ValueError(f"unknown export {what!r}: choose events, history or deals")


class _Echo:
    def write(self, value):
        return value


def csv_lines(what: str, rows) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(list(SCHEMAS[what]))
    for row in rows:
        yield writer.writerow([spreadsheet_safe(value) for value in row])


def write_parquet(what: str, rows, target) -> int:
    """Write ``rows`` as one Parquet file (every column text, as in the CSV); returns rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(SCHEMAS[what])
    schema = pa.schema([(name, pa.string()) for name in names])
    count = 0
    with pq.ParquetWriter(target, schema) as writer:
        batch: list[tuple] = []
        for row in rows:
            batch.append(tuple("" if v is None else str(v) for v in row))
            if len(batch) >= CHUNK:
                count += _parquet_batch(writer, schema, names, batch)
                batch = []
        if batch or not count:
            count += _parquet_batch(writer, schema, names, batch)
    return count


def _parquet_batch(writer, schema, names, batch) -> int:
    import pyarrow as pa

    columns = list(zip(*batch, strict=True)) if batch else [[] for _ in names]
    table = pa.Table.from_arrays([pa.array(list(c), pa.string()) for c in columns], schema=schema)
    writer.write_table(table)
    return len(batch)


def export_response(
    *, what: str, start: date, end: date, file_format: str = "csv", without_history=False
):
    rows = rows_for(what, start, end, without_history=without_history)
    stem = f"{what}-{start.isoformat()}-{end.isoformat()}"
    if file_format == "parquet":
        from django.http import HttpResponse

        buffer = io.BytesIO()
        write_parquet(what, rows, buffer)
        response = HttpResponse(buffer.getvalue(), content_type="application/vnd.apache.parquet")
        response["Content-Disposition"] = f'attachment; filename="{stem}.parquet"'
        return response
    response = StreamingHttpResponse(csv_lines(what, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response


# --- The asset table's CSV ----------------------------------------------------------------


def _asset_fields() -> list[str]:
    return ["asset_id", "title", *ASSET_FIELDS, "segment_effects", "stage_effects"]


def _effects_text(parts: list[dict], name: str) -> str:
    """ "Enterprise: +0.120 (-0.030 to 0.270), 120 deals; SMB: ..." (blank without parts)."""
    texts = []
    for part in parts or []:
        if part.get("effect") is None:
            continue
        texts.append(
            f"{part[name]}: {part['effect']:+.3f} ({part['low']:+.3f} to {part['high']:+.3f}), "
            f"{part['treated']} deals"
        )
    return "; ".join(texts)


def _without_rate_text(money: dict) -> str:
    """{"EUR": {"influenced": 300.0, ...}} -> "EUR influenced 300.00, ..." per currency."""
    return "; ".join(
        f"{code} " + ", ".join(f"{name} {value:.2f}" for name, value in sorted(values.items()))
        for code, values in sorted((money or {}).items())
    )


ASSET_CSV_FIELDS = [*_asset_fields()[:-2], "revenue_without_rate", *_asset_fields()[-2:]]


def asset_csv_row(row: dict) -> list:
    values = []
    for name in ASSET_CSV_FIELDS:
        if name == "segment_effects":
            values.append(_effects_text(row.get("segments"), "segment"))
        elif name == "stage_effects":
            values.append(_effects_text(row.get("stages"), "stage"))
        elif name == "revenue_without_rate":
            values.append(_without_rate_text(row.get("revenue_without_rate")))
        else:
            values.append(row.get(name))
    return values
