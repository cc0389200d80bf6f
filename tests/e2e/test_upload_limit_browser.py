"""A marketer who picks a file over the upload limit is told so at once, naming the file and
the limit, in the document chooser's upload tab, on the upload page and on the multiple upload
page: the server refuses such a request (413) before reading it, which the chooser showed as
"Server Error 413"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from wagtail.documents import get_document_model

from accounts.roles import MARKETER
from cms.models import LibraryPage
from cms.services import roles_ensure
from tests.cms.builders import make_pdf
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def marketer(settings):
    settings.MAX_UPLOAD_MB = 2
    settings.WAGTAILDOCS_MAX_UPLOAD_SIZE = 2 * 1024 * 1024  # enablement.settings derives it
    roles_ensure()
    return make_user("mara", role=MARKETER)


def _pdf(path, size: int):
    path.write_bytes(b"%PDF-1.4\n" + b"0" * (size - 9))
    return path


@pytest.fixture
def files(tmp_path):
    return (
        _pdf(tmp_path / "board-pack.pdf", 3 * 1024 * 1024),
        _pdf(tmp_path / "one-pager.pdf", 9),
        _pdf(tmp_path / "just-over.pdf", 2 * 1024 * 1024 + 1),
    )


def _refused(page, input_selector: str, files) -> None:
    large, small, just_over = files
    field = page.locator(input_selector)
    field.set_input_files(str(large))
    alert = page.locator(".upload-too-large")
    assert (
        alert.inner_text()
        == "“board-pack.pdf” is 3 MB; a file may be at most 2 MB. Choose a smaller file."
    )
    assert field.evaluate("input => input.files.length") == 0  # nothing left to upload
    field.set_input_files(str(just_over))  # it read "is 2 MB; ... at most 2 MB"
    assert (
        alert.inner_text()
        == "“just-over.pdf” is 2.1 MB; a file may be at most 2 MB. Choose a smaller file."
    )
    field.set_input_files(str(small))
    assert alert.count() == 0 and field.evaluate("input => input.files[0].name") == "one-pager.pdf"


def test_a_file_over_the_limit_is_refused_in_the_chooser_and_on_the_upload_page(
    page, marketer, files
):
    login(page, marketer.username, PASSWORD)
    library = LibraryPage.objects.get(depth=2)
    page.goto(f"/admin/pages/add/cms/assetpage/{library.pk}/")
    page.locator("#id_document-chooser").get_by_role("button", name="Choose a document").click()
    page.locator(".modal-dialog").get_by_role("tab", name="Upload").click()
    _refused(page, ".modal-dialog input[type=file]", files)

    page.goto("/admin/documents/add/")
    _refused(page, "form[enctype] input[name=file]", files)


def test_a_file_over_the_limit_is_refused_on_the_multiple_upload_page_before_it_is_sent(
    page, marketer, files, tmp_path
):
    """Wagtail's multiple uploader checks each file against WAGTAILDOCS_MAX_UPLOAD_SIZE when
    it is chosen or dropped; the others still upload."""
    large = files[0]
    small = tmp_path / "price-list.pdf"
    small.write_bytes(make_pdf(["Price list"]))
    login(page, marketer.username, PASSWORD)
    sent = []
    page.on("request", lambda request: sent.append(request.method))
    page.goto("/admin/documents/multiple/add/")
    sent.clear()

    page.locator("#fileupload").set_input_files([str(large), str(small)])

    refused = page.locator("#upload-list > li.upload-failure")
    expect(refused.locator(".left")).to_contain_text("board-pack.pdf")
    expect(refused.locator(".error_messages")).to_have_text(
        "This file is too big. Maximum filesize 2.0\u00a0MB."
    )
    expect(page.locator("#upload-list > li.upload-success")).to_contain_text("price-list.pdf")
    assert sent.count("POST") == 1  # the small file only
    assert list(get_document_model().objects.values_list("title", flat=True)) == ["price-list"]
