"""The raw log is the user's: usage events, deal stage history and deals for a date range, as
CSV (and Parquet when pyarrow is installed), so a RevOps analyst can check any number of the
dashboard in SQL. ``SCHEMAS`` is the documented column list with each column's type (the
README repeats it); the dashboard's export page, ``manage.py export_analytics`` and the tests
use the same functions. Rows hold Python values (None when empty); each format writes them by
the column's type (``TYPES``): Parquet as typed columns, CSV as text in which every cell goes
through ``cms.exports.spreadsheet_safe`` (no formula runs; numbers pass as numbers).

Also here: the dashboard's tables as CSV, each with the rows its page shows: the asset
table's columns (the nested per-segment and per-stage figures and money without a rate
written as text), the heat map, content health's lists, the search gaps and the content
requests beside them, and an asset's numbers and weekly usage (``csv_response`` writes them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.text import slugify

from analytics.currency import Rates
from analytics.models import Deal, DealStageChange, EventKind, UsageEvent
from analytics.selectors import ASSET_FIELDS, deals_without_history
from cms.exports import CSV_BOM, CSV_CONTENT_TYPE, spreadsheet_safe

CHUNK = 5000


@dataclass(frozen=True)
class Column:
    type: str  # a key of TYPES
    meaning: str


#: Column types -> what they hold, in both formats (the export page and the README say it).
TYPES = {
    "integer": "a 64-bit integer",
    "decimal": "money with 2 places (Parquet: decimal(38, 2), exact, never a float)",
    "timestamp": "a time in UTC (Parquet: microseconds, UTC; CSV: ISO 8601 with +00:00)",
    "date": "a day (CSV: YYYY-MM-DD)",
    "boolean": "true or false",
    "json": "JSON text",
    "text": "text",
}

#: Column -> type and meaning, per export.
SCHEMAS: dict[str, dict[str, Column]] = {
    "events": {
        "event_id": Column("integer", "the event's row id (increases as events are stored)"),
        "idempotency_key": Column("text", "the sender's key; each is stored once per sender"),
        "sender": Column(
            "text",
            "who sent the key: user:<id> (a signed-in user or their personal key), key:<id> "
            "(an integration key, its id as manage.py api_keys list shows it), app (the app's "
            "own events), demo, or legacy (stored before senders were recorded, its user since "
            "deleted); sender and idempotency_key together are unique",
        ),
        "kind": Column(
            "text",
            "asset_viewed, asset_downloaded, asset_shared, buyer_opened, used_in_deal or "
            "asset_presented (the last four are touches of a deal)",
        ),
        "asset_id": Column("integer", "the asset (as in the search API and the asset table)"),
        "asset_title": Column("text", "the asset's current title"),
        "deal_id": Column("text", "the deal's CRM id (external id), empty when none"),
        "user": Column(
            "text",
            "the username of the rep who acted, empty for buyers and for an integration's "
            "events that named no rep",
        ),
        "source": Column("text", "web, api, share (a buyer's link) or demo"),
        "occurred_at": Column("timestamp", "when it happened"),
        "received_at": Column("timestamp", "when the library stored it"),
        "recorded_crm_stage": Column(
            "text",
            "the deal's CRM stage when the library stored the event (the rollups read the "
            "stage at the event's own time from the history instead)",
        ),
        "share_link_id": Column("integer", "the share link a buyer opened, if any"),
        "metadata": Column("json", "the sender's extra fields"),
    },
    "history": {
        "deal_id": Column("text", "the deal's CRM id"),
        "stage": Column("text", "the CRM stage entered"),
        "journey_stage": Column(
            "text", "the journey stage it maps to, empty for Closed Lost and unmapped"
        ),
        "entered_at": Column("timestamp", "when the deal entered it"),
    },
    "deals": {
        "deal_id": Column("text", "the CRM id"),
        "name": Column("text", "opportunity name"),
        "account": Column("text", "account name"),
        "amount": Column("decimal", "amount in the deal's own currency"),
        "currency": Column("text", "the deal's currency (ISO 4217)"),
        "amount_reporting": Column(
            "decimal",
            "amount in the reporting currency at the close-date rate, empty without a rate",
        ),
        "reporting_currency": Column("text", "the reporting currency"),
        "stage": Column("text", "current CRM stage"),
        "outcome": Column("text", "open, won or lost"),
        "close_date": Column("date", "close date (expected close date while open)"),
        "created_date": Column("date", "created date"),
        "owner": Column("text", "the owner as the CRM named them"),
        "segment": Column("text", "segment (type)"),
        "industry": Column("text", "industry"),
        "attributes": Column("json", "other CRM fields kept from imports"),
        "has_stage_history": Column(
            "boolean",
            "whether its history names a journey stage it passed through before closing "
            "(closed deals without are left out of stage-based estimates)",
        ),
    },
}

#: The last day an export range may end on: a range runs to midnight after its last day, and
#: the day after 9999-12-31 is no date.
LAST_DAY = date.max - timedelta(days=1)


def end_error(end: date) -> str:
    """Why ``end`` cannot end an export range, or "" when it can."""
    if end > LAST_DAY:
        return (
            f"{end.isoformat()} is past the last day an export can end on, {LAST_DAY.isoformat()}"
        )
    return ""


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


def event_rows(start: date, end: date) -> Iterator[tuple]:
    low, high = _range(start, end)
    rows = (
        UsageEvent.objects.filter(occurred_at__gte=low, occurred_at__lt=high)
        .order_by("occurred_at", "id")
        .values_list(
            "id",
            "idempotency_key",
            "sender",
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
        yield (*row[:-1], row[-1] or {})


def history_rows(start: date, end: date) -> Iterator[tuple]:
    low, high = _range(start, end)
    rows = (
        DealStageChange.objects.filter(entered_at__gte=low, entered_at__lt=high)
        .order_by("deal__external_id", "entered_at", "id")
        .values_list("deal__external_id", "stage", "journey_stage__name", "entered_at")
    )
    yield from rows.iterator(chunk_size=CHUNK)


CENTS = Decimal("0.01")


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
            amount.quantize(CENTS),
            currency,
            None if converted is None else Decimal(f"{converted:.2f}"),
            rates.currency,
            stage,
            outcome,
            close,
            created,
            owner,
            segment,
            industry,
            attributes or {},
            not (closed and pk in missing),
        )


def rows_for(what: str, start: date, end: date, *, without_history: bool = False):
    if what == "events":
        return event_rows(start, end)
    if what == "history":
        return history_rows(start, end)
    if what == "deals":
        return deal_rows(start, end, without_history=without_history)
    raise ValueError(f"unknown export {what!r}: choose events, history or deals")


def _json_text(value) -> str:
    return json.dumps(value, sort_keys=True)


#: How a CSV cell shows a (non-empty) value of each type; numbers stay numbers, so that
#: ``spreadsheet_safe`` passes them unchanged (a negative amount is no formula).
_CSV_TEXT: dict[str, Callable] = {
    "integer": lambda value: value,
    "text": lambda value: value,
    "decimal": lambda value: value,
    "timestamp": lambda value: value.astimezone(UTC).isoformat(),
    "date": lambda value: value.isoformat(),
    "boolean": lambda value: "true" if value else "false",
    "json": _json_text,
}


class _Echo:
    def write(self, value):
        return value


def csv_lines(what: str, rows) -> Iterator[str]:
    writer = csv.writer(_Echo())
    texts = [_CSV_TEXT[column.type] for column in SCHEMAS[what].values()]
    yield writer.writerow(list(SCHEMAS[what]))
    for row in rows:
        yield writer.writerow(
            [
                spreadsheet_safe(None if value is None else text(value))
                for text, value in zip(texts, row, strict=True)
            ]
        )


def _arrow_types() -> dict:
    import pyarrow as pa

    return {
        "integer": pa.int64(),
        "text": pa.string(),
        "decimal": pa.decimal128(38, 2),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
        "boolean": pa.bool_(),
        "json": pa.string(),
    }


def write_parquet(what: str, rows, target) -> int:
    """Write ``rows`` as one Parquet file with typed columns (``TYPES``; JSON as text, None as
    null); returns the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = _arrow_types()
    types = [column.type for column in SCHEMAS[what].values()]
    schema = pa.schema([(name, arrow[column.type]) for name, column in SCHEMAS[what].items()])
    count = 0
    with pq.ParquetWriter(target, schema) as writer:
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                count += _parquet_batch(writer, schema, types, batch)
                batch = []
        if batch or not count:
            count += _parquet_batch(writer, schema, types, batch)
    return count


def _parquet_batch(writer, schema, types: list[str], batch: list[tuple]) -> int:
    import pyarrow as pa

    columns = list(zip(*batch, strict=True)) if batch else [() for _ in types]
    arrays = []
    for values, kind, field in zip(columns, types, schema, strict=True):
        if kind == "json":
            values = [None if value is None else _json_text(value) for value in values]
        arrays.append(pa.array(list(values), field.type))
    writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return len(batch)


def export_response(
    *, what: str, start: date, end: date, file_format: str = "csv", without_history=False
):
    rows = rows_for(what, start, end, without_history=without_history)
    stem = f"{what}-{start.isoformat()}-{end.isoformat()}"
    if file_format == "parquet":
        buffer = io.BytesIO()
        write_parquet(what, rows, buffer)
        response = HttpResponse(buffer.getvalue(), content_type="application/vnd.apache.parquet")
        response["Content-Disposition"] = f'attachment; filename="{stem}.parquet"'
        return response
    lines = itertools.chain([CSV_BOM], csv_lines(what, rows))
    response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
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


#: After the asset table's columns: ``parts_adjusted_for_multiplicity`` (false: the segment
#: and stage parts' intervals are 95% each, with no correction for testing many of them; only
#: the verdict has one) and ``filters``, the table's filters the rows were chosen by ("none"),
#: so that a filtered file passed on says what it is.
ASSET_CSV_FIELDS = [
    *_asset_fields()[:-2],
    "revenue_without_rate",
    *_asset_fields()[-2:],
    "parts_adjusted_for_multiplicity",
    "filters",
]
#: The asset table's filters, in the order the CSV's ``filters`` cell and file name give them:
#: (query parameter, name). Segment and industry choose the deals (a view of its own), the
#: others the assets listed.
ASSET_FILTERS = (
    ("segment", "segment"),
    ("industry", "industry"),
    ("stage", "stage"),
    ("pillar", "pillar"),
    ("q", "title"),
)


def asset_filters(params: dict) -> list[tuple[str, str]]:
    """The filters in force among ``params`` (the asset table's parsed query) as (name,
    value), in ``ASSET_FILTERS`` order; unknown values were dropped before (the page names
    them), so they are not here."""
    return [(name, params[key]) for key, name in ASSET_FILTERS if params.get(key)]


def asset_filters_text(filters: list[tuple[str, str]]) -> str:
    """ "segment: SMB; title: roi", or "none"."""
    return "; ".join(f"{name}: {value}" for name, value in filters) or "none"


def asset_csv_filename(window: str, filters: list[tuple[str, str]]) -> str:
    """``asset-effectiveness-<window>.csv``, each filter in force added as ``-<name>-<value>``
    with the value in ASCII letters, digits and hyphens (40 at most), or a short digest of it
    when it has none of those (a segment in Japanese, an emoji), so that nothing of the text
    reaches the header as it was typed; the ``filters`` column gives the values exactly."""
    parts = [f"asset-effectiveness-{window}"]
    for name, value in filters:
        words = slugify(value)[:40].strip("-")
        if not words:
            words = hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:8]
        parts.append(f"{name}-{words}")
    return "-".join(parts) + ".csv"


def asset_csv_row(row: dict, *, filters: list[tuple[str, str]] = ()) -> list:
    """A row of the asset table's CSV; ``filters`` those the table was chosen by."""
    values = []
    for name in ASSET_CSV_FIELDS:
        if name == "parts_adjusted_for_multiplicity":
            values.append(False)
        elif name == "filters":
            values.append(asset_filters_text(list(filters)))
        elif name == "segment_effects":
            values.append(_effects_text(row.get("segments"), "segment"))
        elif name == "stage_effects":
            values.append(_effects_text(row.get("stages"), "stage"))
        elif name == "revenue_without_rate":
            values.append(_without_rate_text(row.get("revenue_without_rate")))
        else:
            values.append(row.get(name))
    return values


# --- The dashboard's other tables ---------------------------------------------------------


def _cell(value):
    """A value of a dashboard table as a CSV cell: a time in UTC (ISO 8601 with +00:00), a day
    as YYYY-MM-DD, anything else as it is, then through ``spreadsheet_safe``."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    elif isinstance(value, date):
        value = value.isoformat()
    return spreadsheet_safe(value)


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    """``rows`` (lists in the order of ``header``) as a CSV download named ``filename``,
    UTF-8 with its byte-order mark (``cms.exports.CSV_BOM``: Excel needs it)."""
    response = HttpResponse(CSV_BOM, content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


HEATMAP_CSV_FIELDS = [
    "stage",
    "pillar",
    "verdict",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "q_value",
    "mde",
    "live_assets",
    "deals_used",
    "usable_deals",
    "comparison_deals",
]
#: The cell's estimate and ``deals_used`` count every asset tagged with its stage and pillar
#: that deals used, archived or unpublished ones too; its ``assets`` only the live ones.
_HEATMAP_KEYS = {"live_assets": "assets"}


def heatmap_csv_rows(grid: dict) -> Iterator[list]:
    """A row per cell of ``selectors.heatmap_grid``, stage by stage, pillar by pillar; the
    verdict in the map's words ("not a pipeline stage" for a stage no deal is in before it
    closes). ``live_assets`` is the map's asset count, what reps can use in the cell now; the
    estimate and ``deals_used`` count every tagged asset (``_HEATMAP_KEYS``)."""
    for row in grid["rows"]:
        for pillar, cell in zip(grid["pillars"], row["cells"], strict=True):
            if cell.get("pipeline") is False:
                verdict = "not a pipeline stage"
            else:
                verdict = cell.get("verdict") or "not enough data"
            numbers = [cell.get(_HEATMAP_KEYS.get(name, name)) for name in HEATMAP_CSV_FIELDS[3:]]
            yield [row["stage"]["name"], pillar["name"], verdict, *numbers]


#: Content health's lists: name in the CSV's address -> (list of ``content_health()``,
#: columns).
HEALTH_CSV = {
    "unused": ("unused", ["asset_id", "title", "first_published_at"]),
    "not-used-yet": ("not_used_yet", ["asset_id", "title", "first_published_at"]),
    "stale": ("stale", ["asset_id", "title", "review_by", "owner"]),
    "expired-in-open-deals": ("expired_in_open_deals", ["asset_id", "title", "open_deals"]),
}
_HEALTH_KEYS = {"asset_id": "pk"}


def health_csv_rows(items: list[dict], fields: list[str]) -> Iterator[list]:
    for item in items:
        yield [item.get(_HEALTH_KEYS.get(name, name)) for name in fields]


#: A search gap: what reps typed (most often), how many searches, the normalised text the
#: searches are grouped by.
SEARCH_GAP_CSV_FIELDS = ["query", "searches", "normalized_query"]
SEARCH_GAP_CSV = {"zero-results": "zero_results", "no-click": "no_click"}


def search_gap_csv_rows(gaps: list[dict]) -> Iterator[list]:
    for gap in gaps:
        yield [gap["typed"], gap["searches"], gap["query"]]


REQUEST_CSV_FIELDS = ["request_id", "request", "status", "votes", "asked_by", "asked_at"]


def request_csv_rows(requests) -> Iterator[list]:
    """Rows of ``content_requests_backlog`` (with ``vote_count``)."""
    for request in requests:
        asker = request.requested_by.get_username() if request.requested_by else ""
        status = request.get_status_display()
        yield [request.pk, request.text, status, request.vote_count, asker, request.created_at]


#: A week of an asset's usage: its Monday, then the events of each kind.
WEEKLY_CSV_FIELDS = ["week_starting", *EventKind.values]


def weekly_csv_rows(weeks: list[dict]) -> Iterator[list]:
    """Rows of ``selectors.asset_usage_weeks``."""
    for week in weeks:
        yield [week["week"], *(week.get(kind, 0) for kind in EventKind.values)]
