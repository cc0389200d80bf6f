"""``{% document_processing_status_notice document %}``: a document's processing status, its
reason and "Process again" where it applies (``cms.document_status``), for the admin pages
that show a document to someone who may edit it or the page that uses it; and
``{% page_file_review_note page %}``, the line the moderation mail adds about the file;
``{% documents_listing_notice documents %}``, above Wagtail's documents listing, which has no
status column: those of the listed documents that could not be read, and how many are still
being read."""

from django import template

from cms.document_status import (
    NEEDS_ATTENTION,
    Status,
    document_processing_status,
    document_review_note,
)

register = template.Library()


@register.inclusion_tag("cms/admin/document_processing_status.html", takes_context=True)
def document_processing_status_notice(context, document, *, where: str = "document", user=None):
    """``where`` is "document" on its edit page, "asset" in an asset's editor (which names
    the document and links to it). ``user`` is the request's unless given (a panel's template
    is rendered without the request)."""
    user = user or context["request"].user
    return {
        "document": document,
        "status": document_processing_status(document=document, user=user),
        "where": where,
    }


@register.simple_tag
def page_file_review_note(page) -> str:
    """For Wagtail's "submitted for approval" mails, to the page's reviewers:
    ``document_review_note`` of the page's file (an asset's), "" for other pages."""
    return document_review_note(getattr(page, "document", None))


@register.inclusion_tag("cms/admin/documents_listing_notice.html")
def documents_listing_notice(documents):
    """``documents`` are the rows the listing shows (the user may see them there); no query."""
    documents = list(documents or [])
    return {
        "unreadable": [d for d in documents if d.extraction_status in NEEDS_ATTENTION],
        "pending": sum(d.extraction_status == Status.PENDING for d in documents),
    }
