"""Who is told when a document's file could not be read (failed, or protected by a
password): the person who uploaded it, in the app and by e-mail as they chose, with a link to
the document's edit page, which says why and offers "Process again"
(``cms.document_status``). The multiple-upload page only says "Upload successful": files are
processed after the upload, and a failure seconds later is news to the uploader.

Only an uploader who may still change the document is told (they can act on it, and the
reason is about a file they manage); a rep whose upload came from the field cannot open the
admin, and is told by the field-material code (``analytics``) in words for a rep. A document
processed again with the same outcome does not repeat an unread notification.
"""

from __future__ import annotations

from django.urls import reverse

from cms.document_status import NEEDS_ATTENTION, Status, document_policy
from cms.models import LibraryDocument
from notifications.models import Notification
from notifications.services import notify

NOTICE_KIND = "document_not_processed"


def document_unreadable_text(document: LibraryDocument) -> str:
    """What the uploader reads: the document, that its text could not be read, and why."""
    if document.extraction_status == Status.PROTECTED:
        what = f"“{document.title}” is protected by a password, so its text could not be read"
    else:
        what = f"“{document.title}” could not be processed"
    reason = document.extraction_error.strip()
    return (
        f"{what}{': ' + reason if reason else '.'} Reps cannot search its text; open the "
        "document to see what to do or to process it again."
    )


def document_unreadable_notify(*, document: LibraryDocument) -> bool:
    """After ``document`` was processed: tell its uploader when its text could not be read.
    True when someone was told."""
    if document.extraction_status not in NEEDS_ATTENTION:
        return False
    uploader = document.uploaded_by_user
    if uploader is None or not uploader.is_active:
        return False
    if not document_policy().user_has_permission_for_instance(uploader, "change", document):
        return False
    url = reverse("wagtaildocs:edit", args=[document.pk])
    text = document_unreadable_text(document)
    unread = Notification.objects.filter(
        user=uploader, kind=NOTICE_KIND, url=url, text=text[:500], read_at__isnull=True
    )
    if unread.exists():
        return False
    return bool(notify(users=[uploader], kind=NOTICE_KIND, text=text, url=url))
