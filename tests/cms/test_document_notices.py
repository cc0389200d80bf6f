"""The uploader of a file whose text could not be read is told, in the app and by e-mail,
with a link to the document's edit page; nobody else, and not twice for the same outcome."""

from __future__ import annotations

import errno
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.documents import get_document_model

from accounts.roles import MARKETER, REP
from cms import documents as document_services
from cms.document_notices import NOTICE_KIND, document_unreadable_notify
from cms.documents import (
    AUTOMATIC_RETRIES,
    STORE_DOWN_RETRIES,
    document_process,
    documents_stuck_retry,
    processing_stuck_after,
)
from cms.models import LibraryDocument
from notifications.models import Notification
from tests.cms.builders import make_encrypted_pdf, make_pdf
from tests.factories import make_user

pytestmark = pytest.mark.django_db
Status = LibraryDocument.Status


def upload_as(user, name: str, content: bytes, capture):
    client = Client()
    client.force_login(user)
    with capture(execute=True):
        response = client.post(
            reverse("wagtaildocs:add_multiple"), {"files[]": SimpleUploadedFile(name, content)}
        )
    assert response.json()["success"] is True
    return client, get_document_model().objects.get()


def test_a_marketer_who_uploads_a_protected_pdf_is_told_why_with_a_link_to_it(
    django_capture_on_commit_callbacks,
):
    marketer = make_user("maya", role=MARKETER)
    locked = make_encrypted_pdf(["Secret"], user_password="pw", algorithm="AES-256")

    client, document = upload_as(marketer, "locked.pdf", locked, django_capture_on_commit_callbacks)

    told = Notification.objects.get(user=marketer, kind=NOTICE_KIND)
    assert told.text.startswith("“locked.pdf” is protected by a password")
    assert document.extraction_error in told.text
    assert "Reps cannot search its text" in told.text
    assert told.url == reverse("wagtaildocs:edit", args=[document.pk])
    assert any("protected by a password" in message.subject for message in mail.outbox)
    page = client.get(told.url).content.decode()
    assert "Protected by a password." in page


def test_an_upload_that_was_processed_tells_nobody(django_capture_on_commit_callbacks):
    marketer = make_user(role=MARKETER)

    upload_as(marketer, "fine.pdf", make_pdf(["Hello"]), django_capture_on_commit_callbacks)

    assert not Notification.objects.filter(kind=NOTICE_KIND).exists()


def failed_document(uploader, title="Broken deck", reason="The PDF is damaged.") -> LibraryDocument:
    document = get_document_model().objects.create(title=title, uploaded_by_user=uploader)
    LibraryDocument.objects.filter(pk=document.pk).update(
        extraction_status=Status.FAILED, extraction_error=reason
    )
    document.refresh_from_db()
    return document


def test_processing_again_with_the_same_outcome_does_not_repeat_an_unread_notice():
    marketer = make_user(role=MARKETER)
    document = failed_document(marketer)

    assert document_unreadable_notify(document=document) is True
    assert document_unreadable_notify(document=document) is False
    Notification.objects.update(read_at="2026-01-01T00:00:00Z")
    assert document_unreadable_notify(document=document) is True  # news again once read


def test_an_uploader_who_may_not_change_the_document_is_not_told_here():
    """A rep's field material: the rep cannot open the admin; analytics tells them."""
    rep = make_user(role=REP)

    assert document_unreadable_notify(document=failed_document(rep)) is False
    assert not Notification.objects.filter(kind=NOTICE_KIND).exists()


def test_the_notice_escapes_the_documents_title_in_the_list(client):
    marketer = make_user(role=MARKETER)
    document_unreadable_notify(document=failed_document(marketer, title="<b>x</b>"))
    client.force_login(marketer)

    page = client.get("/notifications/").content.decode()

    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


def test_the_multiple_upload_page_says_files_are_processed_after_upload_and_failures_told(
    client,
):
    client.force_login(make_user(role=MARKETER))

    page = client.get(reverse("wagtaildocs:add_multiple")).content.decode()

    assert "After upload, each file is processed" in page
    assert "you are notified with the reason" in page
    assert reverse("cms_document_processing") in page
    assert 'id="fileupload"' in page  # Wagtail's own uploader is still there


# --- Processing that ended without results -------------------------------------------------


def _uploaded(uploader, name: str = "plan.txt") -> LibraryDocument:
    document = get_document_model()(title=name, uploaded_by_user=uploader)
    document.file.save(name, ContentFile(b"the plan"), save=False)
    document.save()
    return document


def _fails_with(monkeypatch, error: Exception) -> None:
    def fail(document):
        raise error

    monkeypatch.setattr(document_services, "_local_copy", fail)


def test_the_uploader_is_told_when_processing_failed_unexpectedly(monkeypatch):
    marketer = make_user(role=MARKETER)
    document = _uploaded(marketer)
    _fails_with(monkeypatch, RuntimeError("a bug"))

    with pytest.raises(RuntimeError):
        document_process(document_id=document.pk)

    told = Notification.objects.get(user=marketer, kind=NOTICE_KIND)
    assert told.text.startswith("“plan.txt” could not be processed: Processing failed unexpectedly")


def test_with_the_store_down_the_uploader_is_told_when_the_retries_stop_not_at_each(monkeypatch):
    marketer = make_user(role=MARKETER)
    document = _uploaded(marketer)
    _fails_with(monkeypatch, OSError(errno.EIO, "Input/output error"))

    with pytest.raises(OSError):
        document_process(document_id=document.pk)
    assert not Notification.objects.filter(kind=NOTICE_KIND).exists()  # tried again later

    LibraryDocument.objects.filter(pk=document.pk).update(
        extraction_status=Status.PENDING, automatic_retries=STORE_DOWN_RETRIES
    )
    with pytest.raises(OSError):
        document_process(document_id=document.pk)  # the last automatic try
    told = Notification.objects.get(user=marketer, kind=NOTICE_KIND)
    assert "The file store did not answer" in told.text


def test_the_uploader_is_told_of_a_document_that_never_finished_processing():
    marketer = make_user(role=MARKETER)
    document = _uploaded(marketer)
    long_ago = timezone.now() - processing_stuck_after() - timedelta(minutes=1)
    LibraryDocument.objects.filter(pk=document.pk).update(
        extraction_status=Status.PENDING, queued_at=long_ago, automatic_retries=AUTOMATIC_RETRIES
    )

    assert documents_stuck_retry() == []

    told = Notification.objects.get(user=marketer, kind=NOTICE_KIND)
    assert "Processing never finished: the worker stopped" in told.text
