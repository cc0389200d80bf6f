"""Audit 46 through the whole upload path (sandbox, stored text, the admin report): what a
marketer and a rep notice of a cut-off PDF and of a PDF set with ligatures."""

from __future__ import annotations

import pytest

from cms.documents import document_page_texts
from cms.models import LibraryDocument
from tests.cms.builders import make_pdf
from tests.cms.test_document_admin import REPORT_URL
from tests.cms.test_document_pages import processed
from tests.cms.test_extraction_pdf import _pdf_drawn_with_ligatures
from tests.factories import make_user

pytestmark = pytest.mark.django_db
Status = LibraryDocument.Status


def test_a_cut_off_pdf_is_processed_with_a_note_the_processing_report_shows(
    client, django_capture_on_commit_callbacks
):
    whole = make_pdf([f"Chapter {number} words" for number in range(1, 6)])
    document = processed(
        "cut.pdf", whole[: len(whole) * 7 // 10], django_capture_on_commit_callbacks
    )
    client.force_login(make_user(is_superuser=True, is_staff=True))

    assert document.extraction_status == Status.DONE
    assert document.extraction_error.startswith(
        "The file is incomplete (it was cut off, perhaps while copying or uploading); the text "
        "of the pages that could be read is shown."
    )
    report = client.get(REPORT_URL).content.decode()
    assert "cut.pdf" in report and "The file is incomplete (it was cut off" in report


def test_a_pdf_set_with_ligatures_is_stored_with_the_words_a_reader_sees(
    django_capture_on_commit_callbacks,
):
    content = _pdf_drawn_with_ligatures(["The \ufb01nancial work\ufb02ow"])

    document = processed("brief.pdf", content, django_capture_on_commit_callbacks)

    assert "The financial workflow" in document.extracted_text
    pages = document_page_texts(document_id=document.pk)
    assert [page.text for page in pages] == ["The financial workflow"]
