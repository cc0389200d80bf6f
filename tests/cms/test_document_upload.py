"""Uploading documents: what the upload form refuses, and what processing stores afterwards."""

from __future__ import annotations

import sys
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from wagtail.documents import get_document_model
from wagtail.models import Collection

from cms import documents as document_services
from cms import tasks as cms_tasks
from cms.documents import document_process
from cms.extraction import pool
from cms.forms import upload_problem
from cms.models import LibraryDocument
from cms.signals import document_processed
from tests.cms.builders import (
    cut_central_directory,
    make_docx,
    make_encrypted_pdf,
    make_pdf,
    make_png,
    make_pptx,
    zip_bomb_docx,
)
from tests.factories import make_document, make_user

pytestmark = pytest.mark.django_db
Status = LibraryDocument.Status


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(is_superuser=True, is_staff=True))
    return client


def upload_single(client, name: str, content: bytes, title: str = "Uploaded"):
    return client.post(
        reverse("wagtaildocs:add"),
        {
            "title": title,
            "file": SimpleUploadedFile(name, content),
            "collection": Collection.get_first_root_node().pk,
        },
    )


def processed(filename: str, content: bytes, capture) -> LibraryDocument:
    """Create a document (as any code path would) and let its processing run."""
    with capture(execute=True):
        document = make_document(filename, content)
    document.refresh_from_db()
    return document


# --- Through the Wagtail admin ---------------------------------------------------------------


def test_pdf_uploaded_in_the_admin_has_its_text_pages_and_thumbnail_stored(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_single(
            admin_client, "pricing.pdf", make_pdf(["Enterprise pricing", "Discount rules"])
        )

    assert response.status_code == 302
    document = get_document_model().objects.get(title="Uploaded")
    assert document.extraction_status == Status.DONE
    assert "Enterprise pricing" in document.extracted_text
    assert "Discount rules" in document.extracted_text
    assert document.page_count == 2
    with document.thumbnail.open("rb") as thumbnail, Image.open(thumbnail) as image:
        assert image.format == "PNG" and image.width == 400


def test_deck_uploaded_with_the_multiple_uploader_is_processed(
    admin_client, django_capture_on_commit_callbacks
):
    content = make_pptx([("Why buy now", "Prices rise in March"), ("Proof", "Case study")])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("wagtaildocs:add_multiple"),
            {"files[]": SimpleUploadedFile("pitch.pptx", content)},
        )

    assert response.json()["success"] is True
    document = get_document_model().objects.get()
    assert document.extraction_status == Status.DONE
    assert document.page_count == 2
    assert "Prices rise in March" in document.extracted_text


@pytest.mark.parametrize("view", ["single", "multiple"])
def test_upload_over_the_size_limit_is_refused_with_a_message_naming_the_limit(
    admin_client, settings, view
):
    """One byte over the limit reads as over it: the message said "it is 1.0 MB and the
    limit is 1 MB"."""
    settings.MAX_UPLOAD_MB = 1
    pdf = make_pdf(["big"]) + b"%"
    content = pdf + b"0" * (1024 * 1024 + 1 - len(pdf))

    if view == "single":
        response = upload_single(admin_client, "big.pdf", content)
        message = response.content.decode()
    else:
        files = {"files[]": SimpleUploadedFile("big.pdf", content)}
        response = admin_client.post(reverse("wagtaildocs:add_multiple"), files)
        message = response.json()["error_message"]

    assert "“big.pdf” was not uploaded: it is 1.1 MB and the limit is 1 MB." in message
    assert not get_document_model().objects.exists()


@pytest.mark.parametrize("view", ["single", "multiple"])
def test_an_empty_file_is_refused_naming_it(admin_client, view):
    """Django's "The submitted file is empty." did not say which file, in a list of them."""
    if view == "single":
        message = upload_single(admin_client, "<b>q3.pdf", b"").content.decode()
        assert "“&lt;b&gt;q3.pdf” was not uploaded: it is empty (0 bytes)." in message
    else:
        files = {"files[]": SimpleUploadedFile("q3.pdf", b"")}
        response = admin_client.post(reverse("wagtaildocs:add_multiple"), files)
        message = response.json()["error_message"]
        assert "“q3.pdf” was not uploaded: it is empty (0 bytes)." in message
    assert "The submitted file is empty" not in message
    assert not get_document_model().objects.exists()


def test_the_size_limit_message_never_shows_a_size_at_or_under_the_limit(settings):
    """50 MB and one byte was refused as "it is 50.0 MB and the limit is 50 MB"; a file of
    exactly the limit is not refused for its size."""
    settings.MAX_UPLOAD_MB = 50
    limit = 50 * 1024 * 1024
    just_over = SimpleUploadedFile("x.pdf", make_pdf(["over"]))
    just_over.size = limit + 1  # the size check reads the size, not the content
    exactly = SimpleUploadedFile("x.pdf", make_pdf(["exact"]))
    exactly.size = limit

    assert upload_problem(just_over) == (
        "“x.pdf” was not uploaded: it is 50.1 MB and the limit is 50 MB."
    )
    assert upload_problem(exactly) is None


def test_the_uploaders_tell_the_file_limit_before_anything_is_sent(admin_client):
    """A file over the limit never reaches the form (the request is refused before it is
    read): the multiple uploader only said "Sorry, upload failed" (outside audit). Wagtail's
    uploaders check the size in the browser when they know the limit, and the form says it."""
    multiple = admin_client.get(reverse("wagtaildocs:add_multiple")).content.decode()
    assert f'data-max-file-size="{50 * 1024 * 1024}"' in multiple
    assert "This file is too big. Maximum filesize 50.0" in multiple
    single = admin_client.get(reverse("wagtaildocs:add")).content.decode()
    assert "Maximum filesize: 50.0" in single


def test_upload_of_a_type_outside_the_allowlist_is_refused_naming_the_type(admin_client):
    response = upload_single(admin_client, "setup.exe", b"MZ\x90\x00")

    page = response.content.decode()
    assert ".exe files are not accepted" in page
    assert "Accepted types: pdf, pptx, ppsx, potx, docx" in page
    assert not get_document_model().objects.exists()


def test_upload_whose_content_is_not_what_its_extension_says_is_refused(admin_client):
    response = upload_single(admin_client, "invoice.pdf", b"<html>not a pdf</html>")

    page = response.content.decode()
    assert "is not a PDF" in page
    # the one reason, not also Wagtail's "File extension “” is not allowed" (outside audit)
    assert "File extension" not in page
    assert not get_document_model().objects.exists()


def test_file_name_in_an_upload_error_is_escaped(admin_client):
    response = upload_single(admin_client, "<img src=x onerror=alert(1)>.exe", b"MZ")

    page = response.content.decode()
    assert "<img src=x onerror=alert(1)>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.exe" in page


def test_a_deck_cut_short_in_transfer_is_accepted_and_read_as_far_as_it_goes(
    admin_client, django_capture_on_commit_callbacks
):
    """The README's promise for a truncated Office file (recovered, marked incomplete) held
    for processing but not for the upload check, which refused it as damaged (outside audit):
    the check read the file from where the zip reader had left it."""
    whole = make_pptx([("First slide", "a"), ("Second slide", "b")])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_single(admin_client, "cut.pptx", cut_central_directory(whole))

    assert response.status_code == 302
    document = get_document_model().objects.get(title="Uploaded")
    assert "First slide" in document.extracted_text
    assert "incomplete" in document.extraction_error


# --- Processing results ----------------------------------------------------------------------


def test_truncated_pdf_is_stored_but_marked_failed_with_a_clear_reason(
    django_capture_on_commit_callbacks,
):
    whole = make_pdf(["Page one", "Page two"])
    document = processed("broken.pdf", whole[: len(whole) // 2], django_capture_on_commit_callbacks)

    assert document.extraction_status == Status.FAILED
    assert "damaged or incomplete" in document.extraction_error
    assert document.file.storage.exists(document.file.name)
    assert document.extracted_text == "" and not document.thumbnail


def test_password_protected_pdf_is_marked_protected_asking_for_a_copy_without_password(
    django_capture_on_commit_callbacks,
):
    content = make_encrypted_pdf(["Secret"], user_password="pw", algorithm="AES-256")
    document = processed("locked.pdf", content, django_capture_on_commit_callbacks)

    assert document.extraction_status == Status.PROTECTED
    assert document.get_extraction_status_display() == "Protected by a password"
    assert "protected by a password" in document.extraction_error


def test_zip_bomb_document_fails_quickly_and_stays_stored(django_capture_on_commit_callbacks):
    started = time.monotonic()
    document = processed("bomb.docx", zip_bomb_docx(), django_capture_on_commit_callbacks)

    assert time.monotonic() - started < 10
    assert document.extraction_status == Status.FAILED
    assert "zip bomb" in document.extraction_error
    assert document.file.storage.exists(document.file.name)


def test_processing_that_exceeds_the_time_limit_is_stopped_and_reported(
    django_capture_on_commit_callbacks, settings, monkeypatch
):
    settings.EXTRACTION_TIMEOUT_SECONDS = 1
    hang = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(pool, "worker_command", lambda max_memory_mb: hang)

    started = time.monotonic()
    document = processed("slow.pdf", make_pdf(["x"]), django_capture_on_commit_callbacks)

    assert time.monotonic() - started < 6
    assert document.extraction_status == Status.FAILED
    assert document.extraction_error == "Processing took longer than 1 seconds and was stopped."


def test_page_limit_setting_bounds_what_is_read(django_capture_on_commit_callbacks, settings):
    settings.EXTRACTION_MAX_PAGES = 2
    pages = [f"Chapter{n}" for n in range(1, 5)]
    document = processed("book.pdf", make_pdf(pages), django_capture_on_commit_callbacks)

    assert document.extraction_status == Status.DONE
    assert document.page_count == 4
    assert "Chapter2" in document.extracted_text and "Chapter3" not in document.extracted_text
    assert document.extraction_error == "Only the first 2 of 4 pages were read for search."


def test_stored_file_over_the_size_limit_is_not_processed(
    django_capture_on_commit_callbacks, settings
):
    settings.MAX_UPLOAD_MB = 1
    content = make_pdf(["x"]) + b"%" + b"0" * (1024 * 1024)
    document = processed("big.pdf", content, django_capture_on_commit_callbacks)

    assert document.extraction_status == Status.FAILED
    assert "larger than 1 MB (MAX_UPLOAD_MB)" in document.extraction_error


def test_word_document_and_markdown_text_are_stored(django_capture_on_commit_callbacks):
    word = processed(
        "card.docx", make_docx(["Objection: too pricey"]), django_capture_on_commit_callbacks
    )
    notes = processed(
        "notes.md", b"# Talk track\nLead with ROI", django_capture_on_commit_callbacks
    )

    assert word.extraction_status == Status.DONE and "too pricey" in word.extracted_text
    assert notes.extraction_status == Status.DONE and "Lead with ROI" in notes.extracted_text


def test_a_type_that_is_only_stored_is_marked_unsupported_with_an_explanation(
    django_capture_on_commit_callbacks,
):
    document = processed(
        "clip.mp4", b"\x00\x00\x00\x18ftypmp42", django_capture_on_commit_callbacks
    )

    assert document.extraction_status == Status.UNSUPPORTED
    assert "Text is not extracted from .mp4 files" in document.extraction_error


def test_legacy_office_file_without_a_tika_server_is_stored_saying_how_to_make_it_searchable(
    django_capture_on_commit_callbacks, settings
):
    settings.TIKA_URL = ""
    document = processed(
        "old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", django_capture_on_commit_callbacks
    )

    assert document.extraction_status == Status.UNSUPPORTED
    assert (
        "read only when an Apache Tika server is configured (TIKA_URL)" in document.extraction_error
    )


def test_image_gets_a_thumbnail_but_no_text(django_capture_on_commit_callbacks):
    document = processed("logo.png", make_png(1000, 500), django_capture_on_commit_callbacks)

    assert document.extraction_status == Status.UNSUPPORTED
    with document.thumbnail.open("rb") as thumbnail, Image.open(thumbnail) as image:
        assert image.size == (400, 200)


# --- When processing runs --------------------------------------------------------------------


@pytest.fixture
def enqueued(monkeypatch):
    """Record processing requests instead of running them."""
    calls: list[int] = []
    monkeypatch.setattr(
        cms_tasks,
        "document_schedule_processing",
        lambda *, document_id: calls.append(document_id),
    )
    return calls


def test_editing_a_documents_title_does_not_reprocess_it_nor_lose_its_results(
    django_capture_on_commit_callbacks, enqueued
):
    document = make_document("a.txt", b"Original words")
    assert enqueued == [document.pk]
    document_process(document_id=document.pk)
    stale = LibraryDocument.objects.get(pk=document.pk)
    LibraryDocument.objects.filter(pk=document.pk).update(extracted_text="Newer results")

    stale.title = "Renamed"
    stale.save()

    stale.refresh_from_db()
    assert enqueued == [document.pk]
    assert stale.title == "Renamed" and stale.extracted_text == "Newer results"


def test_replacing_the_file_resets_the_results_and_processes_the_new_file(
    django_capture_on_commit_callbacks,
):
    document = processed("a.txt", b"First version", django_capture_on_commit_callbacks)
    old_thumbnail = document.thumbnail.name

    with django_capture_on_commit_callbacks(execute=True):
        document.file.save("b.txt", ContentFile(b"Second version"), save=False)
        document.save()

    document.refresh_from_db()
    assert document.extracted_text == "Second version"
    assert document.thumbnail.name != old_thumbnail
    assert not document.thumbnail.storage.exists(old_thumbnail)


def test_processing_twice_gives_the_same_result_and_keeps_one_thumbnail(
    django_capture_on_commit_callbacks,
):
    document = processed("deck.pdf", make_pdf(["Same"]), django_capture_on_commit_callbacks)
    first = (document.extracted_text, document.page_count, document.extraction_status)

    again = document_process(document_id=document.pk)

    assert (again.extracted_text, again.page_count, again.extraction_status) == first
    assert again.thumbnail.storage.exists(again.thumbnail.name)
    assert not document.thumbnail.storage.exists(document.thumbnail.name)


def test_a_failed_retry_of_a_file_read_before_keeps_its_text_pages_and_thumbnail(
    django_capture_on_commit_callbacks,
):
    """ "Process again" while the file is away from the store (or Tika does not answer, or
    a busy machine hits the time limit) failed, and wiped the text, pages and thumbnail
    read before: the asset dropped out of search (outside audit 47, F8)."""
    pdf = make_pdf(["Walrus tariffs", "Narwhal rebates"])
    document = processed("kept-on-failure.pdf", pdf, django_capture_on_commit_callbacks)
    read = (document.extracted_text, document.page_count, document.thumbnail.name)
    storage = document.file.storage
    storage.delete(document.file.name)

    assert document_services.document_reprocess(document_id=document.pk)
    document_process(document_id=document.pk)

    document.refresh_from_db()
    assert document.extraction_status == Status.FAILED
    assert (document.extracted_text, document.page_count, document.thumbnail.name) == read
    assert "are still used until it is processed again" in document.extraction_error
    assert document.thumbnail.storage.exists(document.thumbnail.name)
    pages = document_services.document_page_texts(document_id=document.pk)
    assert [page.text.split()[0] for page in pages] == ["Walrus", "Narwhal"]

    storage.save(document.file.name, ContentFile(pdf))  # back in the store
    document_services.document_reprocess(document_id=document.pk)
    again = document_process(document_id=document.pk)
    assert again.extraction_status == Status.DONE and again.extraction_error == ""


def test_a_file_never_read_that_fails_stores_no_results(django_capture_on_commit_callbacks):
    document = processed("never-read.pdf", b"%PDF-1.4 garbage", django_capture_on_commit_callbacks)
    assert document.extraction_status == Status.FAILED
    assert "still used" not in document.extraction_error
    assert (document.extracted_text, document.thumbnail.name) == ("", "")


def test_results_for_a_file_replaced_during_processing_are_discarded(
    django_capture_on_commit_callbacks, monkeypatch
):
    document = processed("a.txt", b"Old", django_capture_on_commit_callbacks)
    real = document_services.file_outcome

    def replace_file_meanwhile(**kwargs):
        result = real(**kwargs)
        LibraryDocument.objects.filter(pk=document.pk).update(file="documents/other.txt")
        return result

    monkeypatch.setattr(document_services, "file_outcome", replace_file_meanwhile)

    assert document_process(document_id=document.pk) is None
    assert LibraryDocument.objects.get(pk=document.pk).file.name == "documents/other.txt"


def test_unexpected_error_marks_the_document_failed_instead_of_leaving_it_pending(
    django_capture_on_commit_callbacks, monkeypatch
):
    def storage_down(document):
        raise ConnectionError("S3 unreachable")

    document = processed("a.txt", b"Hello", django_capture_on_commit_callbacks)
    monkeypatch.setattr(document_services, "_local_copy", storage_down)

    with pytest.raises(ConnectionError):
        document_process(document_id=document.pk)

    document.refresh_from_db()
    assert document.extraction_status == Status.FAILED
    assert "Processing failed unexpectedly" in document.extraction_error


def test_processing_a_deleted_document_does_nothing():
    assert document_process(document_id=987654) is None


def test_search_is_told_when_a_document_was_processed(django_capture_on_commit_callbacks):
    received = []

    def listener(sender, document, **kwargs):
        received.append((document.pk, document.extraction_status))

    document_processed.connect(listener)
    try:
        document = processed("a.txt", b"Hello", django_capture_on_commit_callbacks)
    finally:
        document_processed.disconnect(listener)

    assert received == [(document.pk, Status.DONE)]


def test_thumbnail_is_a_png_file_in_storage(django_capture_on_commit_callbacks):
    document = processed("deck.pdf", make_pdf(["Cover"]), django_capture_on_commit_callbacks)

    with document.thumbnail.open("rb") as thumbnail:
        assert thumbnail.read(8) == b"\x89PNG\r\n\x1a\n"
    assert document.thumbnail.name.startswith("thumbnails/") and document.thumbnail.name.endswith(
        ".png"
    )


def test_with_the_database_task_backend_a_worker_processes_the_upload_later(
    django_capture_on_commit_callbacks, settings, monkeypatch
):
    from django.core.management import call_command
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # The worker drops connections it considers stale; inside the test's transaction that
    # would close the test database itself, so keep the connection for this in-process run.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        document = make_document("plan.txt", b"Territory plan")

    queued = DBTaskResult.objects.filter(task_path="cms.tasks.document_process_task")
    assert [task.args_kwargs["args"] for task in queued] == [[document.pk]]
    document.refresh_from_db()
    assert document.extraction_status == Status.PENDING

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    document.refresh_from_db()
    assert document.extraction_status == Status.DONE
    assert document.extracted_text == "Territory plan"


@pytest.mark.django_db(transaction=True)  # as in production: the failed request's own transaction
def test_an_upload_to_a_media_directory_the_app_may_not_write_is_a_503_and_nothing_is_saved(
    admin_client,
):
    """`chattr +i` on the media directory (outside audit): a 500 with a traceback under
    DEBUG, the site's bare error page in production; now it says what happened."""
    import errno
    from unittest import mock

    from django.core.files.storage import FileSystemStorage

    refused = PermissionError(errno.EACCES, "Permission denied", "media/documents/pitch.pdf")
    with mock.patch.object(FileSystemStorage, "_save", side_effect=refused):
        response = upload_single(
            admin_client, "pitch.pdf", make_pdf(["Prices rise in March"]), title="Pitch"
        )

    assert response.status_code == 503 and response["Retry-After"]
    assert "The file store is not available, so nothing was saved" in response.content.decode()
    assert not get_document_model().objects.filter(title="Pitch").exists()


def test_a_file_the_disk_filled_up_under_is_not_left_half_written():
    """ENOSPC after part of the file was written: "nothing was saved" must be true on disk
    too, or the fragment holds the room the retry needs (outside audit 47, F7)."""
    import errno

    from django.core.files.base import File
    from django.core.files.storage import default_storage

    class FillsTheDisk(File):
        def chunks(self, chunk_size=None):
            yield b"x" * 4096
            raise OSError(errno.ENOSPC, "No space left on device")

    name = "documents/disk-full-fragment.txt"
    with pytest.raises(OSError) as failed:
        default_storage.save(name, FillsTheDisk(None, name="disk-full-fragment.txt"))

    assert failed.value.errno == errno.ENOSPC
    assert not default_storage.exists(name)


@pytest.mark.parametrize("control", ["\u202e", "\u2066", "\u202a"])
def test_a_file_name_holding_a_direction_control_is_refused_naming_it(control):
    """A name such as "Pricing<U+202E>fdp.txt" shows as "Pricingtxt.pdf" in the admin, in
    search and on a buyer's page."""
    upload = SimpleUploadedFile(f"Pricing{control}fdp.txt", b"Price list")
    problem = upload_problem(upload)
    assert problem.startswith("The file's name was refused: Character 8 is an invisible U+")
    assert f"U+{ord(control):04X}" in problem and problem.endswith("It was not uploaded.")


def test_a_document_titled_with_a_direction_override_is_refused_in_the_admin(admin_client):
    response = upload_single(
        admin_client, "pricing.pdf", make_pdf(["Prices"]), title="Pricing\u202efdp.exe"
    )
    assert response.status_code == 200  # the form again, saying why
    (error,) = response.context["form"].errors["title"]
    assert error.startswith("Character 8 is an invisible U+202E (RIGHT-TO-LEFT OVERRIDE)")
    assert not get_document_model().objects.exists()
