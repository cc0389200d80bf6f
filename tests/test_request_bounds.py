"""Bounded requests: bodies over the limit are refused (413) before anything reads them, for
anonymous callers too; XLSX deal imports are measured for zip bombs before they are opened."""

import io
import json
import zipfile

import pytest
from django.test import Client, override_settings

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.imports import ImportError_, deal_import_file
from analytics.models import Deal
from tests.factories import make_user

pytestmark = pytest.mark.django_db
LIMIT = 64 * 1024


@pytest.fixture
def spool_watch(monkeypatch):
    """Fails the test if any upload is spooled to a temporary file."""
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    def refuse(*args, **kwargs):
        raise AssertionError("an upload was written to a temporary file")

    monkeypatch.setattr(TemporaryFileUploadHandler, "new_file", refuse)


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "BOUNDARY"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@override_settings(MAX_REQUEST_BYTES=LIMIT, FILE_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize("url", ["/admin/documents/multiple/add/", "/analytics/import/", "/login/"])
def test_an_anonymous_oversized_post_is_refused_before_it_is_read(url, spool_watch):
    body, content_type = _multipart(LIMIT * 2)
    response = Client().generic("POST", url, body, content_type=content_type)
    assert response.status_code == 413
    # an upload is told the file limit (the request limit adds 1 MB for the form around it)
    assert "larger than the 50 MB a file may be" in response.content.decode()


@override_settings(MAX_REQUEST_BYTES=LIMIT, FILE_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_leads_oversized_deal_import_is_refused_by_size(spool_watch):
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    body, content_type = _multipart(LIMIT * 2)
    assert (
        client.generic("POST", "/analytics/import/", body, content_type=content_type).status_code
        == 413
    )
    assert not Deal.objects.exists()


@override_settings(MAX_REQUEST_BYTES=LIMIT)
def test_an_oversized_api_body_gets_a_json_413():
    body = json.dumps({"events": [], "pad": "x" * LIMIT * 2})
    response = Client().post("/api/v1/events", body, content_type="application/json")
    assert response.status_code == 413 and "larger" in response.json()["detail"]


def _bomb_xlsx() -> bytes:
    """A valid-looking workbook whose sheet unpacks to 40 MB from a few dozen KB."""
    from openpyxl import Workbook

    buffer = io.BytesIO()
    book = Workbook()
    book.active.append(["Opportunity ID", "Stage"])
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"</sheetData>", b"<!--" + b" " * 40_000_000 + b"--></sheetData>"
                )
            target.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_an_xlsx_zip_bomb_is_refused_before_it_is_opened():
    bomb = _bomb_xlsx()
    assert len(bomb) < 200_000
    with pytest.raises(ImportError_, match="zip bomb"):
        deal_import_file(io.BytesIO(bomb), "deals.xlsx")
    assert not Deal.objects.exists()


# --- NUL characters -------------------------------------------------------------------------
# PostgreSQL stores no NUL in text: a search with one was spooled, then every later flush failed
# on it (no search recorded for anyone since); a deal page or a dashboard filter was a 500.

NUL_URLS = [
    "/search/?q=road%00map",
    "/search/suggest/?q=ro%00ad",
    "/api/v1/search?q=road%00map",
    "/search/?stage%00=discover",
    "/library/?q=a%00b",
    "/deals/D%001/",
    "/analytics/assets/?q=a%00b",
    "/analytics/assets.csv?segment=a%00b",
    "/analytics/search-gaps/?q=a%00b",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_an_address_or_parameter_with_a_nul_character_is_a_400_naming_it(url):
    from search.models import SearchEvent

    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    response = client.get(url)
    assert response.status_code == 400
    text = response.json()["detail"] if url.startswith("/api/") else response.content.decode()
    where = "address" if "/deals/" in url else "parameter"
    assert f"The {where}" in text and "holds a NUL character" in text
    assert not SearchEvent.objects.exists()


def test_a_form_field_with_a_nul_character_is_a_400_and_nothing_saved():
    from analytics.models import ContentRequest

    client = Client()
    client.force_login(make_user(role=REP))
    response = client.post("/analytics/requests/", {"text": "road\x00map"})
    assert response.status_code == 400
    assert "parameter 'text' holds a NUL character" in response.content.decode()
    assert not ContentRequest.objects.exists()


def test_the_text_percent_zero_zero_is_searched_like_any_other(client):
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    assert client.get("/search/?q=100%2500").status_code == 200  # q is "100%00"
