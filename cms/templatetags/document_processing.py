"""``{% document_processing_status_notice document %}``: a document's processing status, its
reason and "Process again" where it applies (``cms.document_status``), for the admin pages
that show a document to someone who may edit it or the page that uses it; and
``{% page_file_review_note page %}``, the line the moderation mail adds about the file."""

from django import template

from cms.document_status import document_processing_status, document_review_note

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
