"""Bounded requests: bodies over the limit are refused (413) before anything reads them, for
anonymous callers too; XLSX deal imports are measured for zip bombs before they are opened."""

import io
import json
import zipfile

import pytest
from django.test import Client, override_settings

from accounts.roles import ENABLEMENT_LEAD
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
    assert "larger than this server accepts" in response.content.decode()


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
