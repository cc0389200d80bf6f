"""A document's processing status as the admin shows it, in one place: the Document
processing report, the document's edit page and the asset editor's "File or link" panel all
read it from here, so they say the same thing and offer "Process again" on the same rule.

Showing the status is the caller's permission question (the edit page and the asset editor
are open only to those who may edit the document or the page); offering "Process again" is
asked here, as the action itself asks it (``cms.admin_documents.document_reprocess_view``):
only someone who may change the document is offered it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from wagtail.documents import get_document_model
from wagtail.permissions import policy_registry

from cms.documents import document_stuck_since
from cms.models import LibraryDocument

Status = LibraryDocument.Status
NEEDS_ATTENTION = (Status.FAILED, Status.PROTECTED)  # their text could not be read


def document_policy():
    """Wagtail's collection permission policy for documents (looked up once apps are ready)."""
    return policy_registry.get_by_type(get_document_model())


def processing_status_label(document: LibraryDocument) -> str:
    """The status as shown, "Processing — no progress since …" for a stuck document."""
    since = document_stuck_since(document=document)
    if since is None:
        return document.get_extraction_status_display()
    shown = formats.date_format(timezone.localtime(since), "SHORT_DATETIME_FORMAT")
    return _("Processing — no progress since %(time)s") % {"time": shown}


def document_needs_attention(document: LibraryDocument) -> bool:
    """Its text could not be read (failed, protected), or its processing is stuck."""
    return document.extraction_status in NEEDS_ATTENTION or bool(
        document_stuck_since(document=document)
    )


def document_can_retry(document: LibraryDocument) -> bool:
    """Whether "Process again" applies: a document that failed or was processed, or one
    stuck pending (``cms.documents.document_reprocess`` refuses the others)."""
    retryable = document.extraction_status in (Status.FAILED, Status.DONE)
    return retryable or document_stuck_since(document=document) is not None


@dataclass(frozen=True)
class ProcessingStatus:
    """What the admin says of one document's processing. ``label`` is the report's status;
    ``reason`` the failure's reason or processing's notes (plain text, escaped when shown);
    ``unreadable`` when reps cannot search its text because it could not be read;
    ``retry_url`` the "Process again" action, empty when it is not offered to this user."""

    label: str
    reason: str
    unreadable: bool
    pending: bool
    stuck: bool
    retry_url: str


def document_processing_status(*, document: LibraryDocument, user) -> ProcessingStatus:
    """``document``'s processing status for ``user``, who the caller knows may see it."""
    may_retry = document_can_retry(document) and document_policy().user_has_permission_for_instance(
        user, "change", document
    )
    label = processing_status_label(document)
    if document.extraction_status == Status.DONE and document.extraction_error:
        label = _("Processed with notes")
    return ProcessingStatus(
        label=label,
        reason=document.extraction_error,
        unreadable=document.extraction_status in NEEDS_ATTENTION,
        pending=document.extraction_status == Status.PENDING,
        stuck=document_stuck_since(document=document) is not None,
        retry_url=reverse("cms_document_reprocess", args=[document.pk]) if may_retry else "",
    )


def document_review_note(document: LibraryDocument | None) -> str:
    """One plain-text line for the mail asking reviewers to approve a page that uses
    ``document``: that its file could not be read and why, or that it is still being read
    (a rep's submission is mailed before its file is read); "" otherwise."""
    if document is None:
        return ""
    if document.extraction_status in NEEDS_ATTENTION:
        reason = document.extraction_error.strip()
        return _(
            "Its file “%(title)s”: %(status)s. %(reason)sReps cannot search its text; ask for "
            "a readable copy before approving."
        ) % {
            "title": document.title,
            "status": document.get_extraction_status_display(),
            "reason": f"{reason} " if reason else "",
        }
    if document.extraction_status == Status.PENDING:
        return _(
            "Its file “%(title)s” is still being read: the page's editor shows whether it "
            "could be, and the reason if not."
        ) % {"title": document.title}
    return ""
