"""What processing stores page by page, the page previews search will show, video transcripts,
the statuses marketers see, and ``manage.py extract_text`` for support staff."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from cms.documents import document_page_preview, document_page_texts, document_process
from cms.extraction import ExtractionError
from cms.models import LibraryDocument, LibraryDocumentPage
from search.documents import document_for_asset
from tests.cms.builders import (
    FIXTURES,
    make_docx,
    make_encrypted_pdf,
    make_pdf,
    make_pptx,
    write,
)
from tests.cms.test_document_admin import REPORT_URL
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db
Status = LibraryDocument.Status


def processed(filename: str, content: bytes, capture) -> LibraryDocument:
    with capture(execute=True):
        document = make_document(filename, content)
    document.refresh_from_db()
    return document


def pages_of(document) -> list[tuple[int, str]]:
    return [(page.number, page.text) for page in document_page_texts(document_id=document.pk)]


# --- Pages stored with the document ---------------------------------------------------------


def test_pdf_pages_are_stored_with_their_numbers_beside_the_whole_text(
    django_capture_on_commit_callbacks,
):
    document = processed(
        "plan.pdf",
        make_pdf(["Territory plan", "Quota by region", ""]),
        django_capture_on_commit_callbacks,
    )

    assert pages_of(document) == [(1, "Territory plan"), (2, "Quota by region"), (3, "")]
    assert document.extracted_text == "Territory plan\n\nQuota by region"


def test_each_slide_is_a_page_with_its_notes(django_capture_on_commit_callbacks):
    content = make_pptx(
        [("Why now", "Prices rise"), ("Proof", "Case study")], notes="Ask about budget"
    )
    document = processed("pitch.pptx", content, django_capture_on_commit_callbacks)

    assert pages_of(document) == [
        (1, "Why now\nPrices rise"),
        (2, "Proof\nCase study\nAsk about budget"),
    ]


def test_documents_without_pages_store_none(django_capture_on_commit_callbacks):
    document = processed("card.docx", make_docx(["Battlecard"]), django_capture_on_commit_callbacks)

    assert document.extracted_text == "Battlecard" and pages_of(document) == []


def test_a_new_file_replaces_the_pages_of_the_old_one(django_capture_on_commit_callbacks):
    document = processed(
        "a.pdf", make_pdf(["Old one", "Old two", "Old three"]), django_capture_on_commit_callbacks
    )

    with django_capture_on_commit_callbacks(execute=True):
        document.file.save("b.pdf", ContentFile(make_pdf(["New only"])), save=False)
        document.save()

    assert pages_of(document) == [(1, "New only")]
    assert LibraryDocumentPage.objects.count() == 1


def test_pages_of_a_replaced_file_go_before_the_new_file_is_processed(
    django_capture_on_commit_callbacks, monkeypatch
):
    from cms import tasks as cms_tasks

    document = processed("a.pdf", make_pdf(["Old one"]), django_capture_on_commit_callbacks)
    monkeypatch.setattr(cms_tasks, "document_schedule_processing", lambda **kw: None)

    document.file.save("b.pdf", ContentFile(make_pdf(["New"])), save=False)
    document.save()

    assert pages_of(document) == []
    document.refresh_from_db()
    assert document.extraction_status == Status.PENDING


def test_processing_again_keeps_one_set_of_pages(django_capture_on_commit_callbacks):
    document = processed("a.pdf", make_pdf(["One", "Two"]), django_capture_on_commit_callbacks)

    document_process(document_id=document.pk)

    assert pages_of(document) == [(1, "One"), (2, "Two")]


def test_a_new_file_that_fails_keeps_none_of_the_old_files_pages(
    django_capture_on_commit_callbacks,
):
    """The pages belong to the file: a failed reading of the same file keeps them
    (test_document_upload), a new file that cannot be read has none."""
    document = processed("a.pdf", make_pdf(["One"]), django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        document.file.save("b.pdf", ContentFile(b"%PDF-1.4 garbage"), save=False)
        document.save()

    document.refresh_from_db()
    assert document.extraction_status == Status.FAILED and pages_of(document) == []
    assert document.extracted_text == ""


def test_deleting_a_document_deletes_its_pages(django_capture_on_commit_callbacks):
    document = processed("a.pdf", make_pdf(["One"]), django_capture_on_commit_callbacks)

    document.delete()

    assert not LibraryDocumentPage.objects.exists()


# --- Page previews -------------------------------------------------------------------------


def test_a_pdf_page_preview_is_drawn_at_the_width_asked(django_capture_on_commit_callbacks):
    document = processed("plan.pdf", make_pdf(["One", "Two"]), django_capture_on_commit_callbacks)

    png = document_page_preview(document_id=document.pk, number=2, width=320)

    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.width == 320
    with pytest.raises(ExtractionError, match="no page 3"):
        document_page_preview(document_id=document.pk, number=3)


def test_documents_that_are_not_pdfs_have_no_page_preview(django_capture_on_commit_callbacks):
    deck = processed("d.pptx", make_pptx([("T", "B")]), django_capture_on_commit_callbacks)

    assert document_page_preview(document_id=deck.pk, number=1) is None
    assert document_page_preview(document_id=987654, number=1) is None


# --- Statuses --------------------------------------------------------------------------------


def test_a_password_protected_deck_is_marked_protected_and_shown_for_attention(
    client, django_capture_on_commit_callbacks
):
    document = processed(
        "locked.pptx",
        (FIXTURES / "protected-deck.pptx").read_bytes(),
        django_capture_on_commit_callbacks,
    )
    client.force_login(make_user(is_superuser=True, is_staff=True))

    assert document.extraction_status == Status.PROTECTED
    report = client.get(REPORT_URL + "?extraction_status=protected").content.decode()
    assert "locked.pptx" in report and "Protected by a password" in report
    assert "locked.pptx" in client.get(reverse("wagtailadmin_home")).content.decode()


def test_a_scanned_pdf_is_done_with_a_note_saying_it_has_no_text_layer(
    django_capture_on_commit_callbacks, settings
):
    from tests.cms.builders import make_scanned_pdf

    settings.EXTRACTION_OCR_PAGES = 0  # as on a server without Tesseract
    document = processed(
        "scan.pdf", make_scanned_pdf([["Signed contract"]]), django_capture_on_commit_callbacks
    )

    assert document.extraction_status == Status.DONE
    assert document.extraction_error.startswith("No text layer: this PDF looks scanned")


# --- Video transcripts ---------------------------------------------------------------------


def test_a_videos_transcript_makes_its_words_searchable(django_capture_on_commit_callbacks):
    transcript = processed(
        "webinar.vtt", (FIXTURES / "webinar.vtt").read_bytes(), django_capture_on_commit_callbacks
    )
    video = make_asset(
        "Launch webinar", external_url="https://video.example.com/launch", transcript=transcript
    )

    assert transcript.extraction_status == Status.DONE
    assert "one super package" in document_for_asset(video.pk).file_text


def test_processing_a_transcript_again_reindexes_its_video(
    django_capture_on_commit_callbacks, monkeypatch
):
    from search import tasks as search_tasks

    transcript = processed(
        "w.vtt", (FIXTURES / "webinar.vtt").read_bytes(), django_capture_on_commit_callbacks
    )
    video = make_asset("Webinar", external_url="https://video.example.com/w", transcript=transcript)
    scheduled = []
    monkeypatch.setattr(
        search_tasks, "index_schedule", lambda *, asset_ids: scheduled.append(asset_ids)
    )

    document_process(document_id=transcript.pk)

    assert scheduled == [[video.pk]]


def test_a_transcript_must_be_a_captions_file():
    pdf = make_document("notes.pdf", make_pdf(["x"]))
    video = make_asset("Webinar", external_url="https://video.example.com/w", publish=False)
    video.transcript = pdf

    with pytest.raises(ValidationError, match="WebVTT"):
        video.clean()


# --- manage.py extract_text ------------------------------------------------------------------


def run_command(*args) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("extract_text", *map(str, args), stdout=out)
    except SystemExit as exit:
        return out.getvalue(), exit.code
    return out.getvalue(), 0


def test_extract_text_prints_status_notes_and_text_page_by_page(
    tmp_path, django_assert_num_queries
):
    path = write(tmp_path, "plan.pdf", make_pdf(["Territory plan", "Quota by region"]))

    with django_assert_num_queries(0):  # it never touches the database
        output, code = run_command(path)

    assert code == 0
    assert output.startswith("Status: done\nPages: 2\nCharacters: 31\n")
    assert (
        "--- Page 1 ---\nTerritory plan" in output and "--- Page 2 ---\nQuota by region" in output
    )


def test_extract_text_json_is_one_object(tmp_path):
    path = write(tmp_path, "pitch.pptx", make_pptx([("Why now", "Prices rise")], notes="Budget"))

    output, code = run_command(path, "--json")

    result = json.loads(output)
    assert code == 0
    assert {"status", "notes", "pages", "characters", "text"} <= set(result)
    assert result["status"] == "done" and result["pages"] == 1 and result["notes"] == []
    assert result["text"] == "Why now\nPrices rise\nBudget"
    assert result["characters"] == len(result["text"])
    assert result["page_texts"] == [{"number": 1, "text": "Why now\nPrices rise\nBudget"}]


def test_extract_text_applies_the_upload_checks_and_bounds(tmp_path, settings):
    renamed = write(tmp_path, "invoice.pdf", b"<html>not a pdf</html>")
    locked = write(
        tmp_path, "locked.pdf", make_encrypted_pdf(["x"], user_password="pw", algorithm="AES-128")
    )
    settings.EXTRACTION_MAX_PAGES = 1
    long = write(tmp_path, "long.pdf", make_pdf(["One", "Two"]))

    refused, refused_code = run_command(renamed, "--json")
    protected, protected_code = run_command(locked, "--json")
    limited, _ = run_command(long, "--json")

    assert refused_code == 1 and json.loads(refused)["status"] == "refused"
    assert "is not a PDF" in json.loads(refused)["notes"][0]
    assert protected_code == 1 and json.loads(protected)["status"] == "protected"
    assert json.loads(limited)["notes"] == ["Only the first 1 of 2 pages were read for search."]


def test_extract_text_names_a_missing_file(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="is not a file"):
        call_command("extract_text", str(tmp_path / "nope.pdf"))
