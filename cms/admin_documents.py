"""What marketers see of document processing in the Wagtail admin.

- Reports > "Document processing": every document the user may edit or choose, with its
  processing status, the reason when it failed, its page count and when it was processed,
  filterable by status, with "Process again" for documents that failed, were processed, or
  are stuck ("Processing — no progress since …": pending past
  ``cms.documents.processing_stuck_after``, e.g. after their worker was killed).
- A dashboard panel listing the documents the user manages that could not be processed, so
  a failed upload is noticed without opening the report.
"""

from __future__ import annotations

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.reports import ReportView
from wagtail.documents import get_document_model

from cms.document_status import (
    NEEDS_ATTENTION,
    document_can_retry,
    document_needs_attention,
    document_policy,
    processing_status_label,
)
from cms.documents import document_reprocess, documents_processing_for_user
from cms.extraction import extension_of
from cms.models import LibraryDocument
from cms.tasks import document_schedule_processing

REPORT_PERMISSIONS = ["add", "change", "choose"]
Status = LibraryDocument.Status


class ProcessingFilterSet(WagtailFilterSet):
    extraction_status = django_filters.ChoiceFilter(
        label=_("Processing status"), choices=Status.choices, empty_label=_("Any status")
    )

    class Meta:
        model = LibraryDocument
        fields = ["extraction_status"]


class ActionsColumn(Column):
    """A "Process again" button (Wagtail's own w-action controller posts it)."""

    cell_template_name = "cms/admin/document_processing_actions_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["retry_url"] = reverse("cms_document_reprocess", args=[instance.pk])
        context["can_retry"] = document_can_retry(instance)
        return context


class DocumentProcessingReportView(ReportView):
    page_title = _("Document processing")
    header_icon = "doc-full-inverse"
    index_url_name = "cms_document_processing"
    index_results_url_name = "cms_document_processing_results"
    filterset_class = ProcessingFilterSet
    any_permission_required = REPORT_PERMISSIONS
    default_ordering = "-created_at"
    no_results_message = _("No documents match.")
    list_export = ["title", "file", "extraction_status", "extraction_error", "page_count"]
    export_headings = {"extraction_status": _("Status"), "extraction_error": _("Details")}
    columns = [
        TitleColumn("title", label=_("Document"), url_name="wagtaildocs:edit", sort_key="title"),
        Column(
            "file_type", label=_("Type"), accessor=lambda doc: extension_of(doc.file.name).upper()
        ),
        StatusTagColumn(
            "extraction_status",
            label=_("Processing"),
            accessor=processing_status_label,
            primary=document_needs_attention,
            sort_key="extraction_status",
        ),
        Column("extraction_error", label=_("Details")),
        Column("page_count", label=_("Pages")),
        DateColumn("processed_at", label=_("Processed"), sort_key="processed_at"),
        DateColumn("created_at", label=_("Uploaded"), sort_key="created_at"),
        ActionsColumn("actions", label=""),
    ]

    @property
    def permission_policy(self):
        return document_policy()

    def get_base_queryset(self):
        return documents_processing_for_user(user=self.request.user)


class DocumentsNeedingAttentionPanel(Component):
    """Dashboard panel: documents the user manages that could not be read: failed, or
    protected by a password (latest five)."""

    name = "documents_needing_attention"
    template_name = "cms/admin/documents_needing_attention_panel.html"
    order = 120

    def __init__(self, documents):
        self.documents = documents

    def get_context_data(self, parent_context):
        return {
            "documents": self.documents,
            "report_url": reverse("cms_document_processing")
            + f"?extraction_status={Status.FAILED}",
        }


@require_POST
def document_reprocess_view(request, document_id: int):
    """Process a document again (after a timeout, once a limit was raised, or when it is
    stuck); refused while it is pending and may still be being processed. Answers back to
    where it was pressed (``next``: the report, the document's edit page, an asset's editor),
    else to the report."""
    document = get_object_or_404(get_document_model(), pk=document_id)
    if not document_policy().user_has_permission_for_instance(request.user, "change", document):
        raise PermissionDenied
    back = get_valid_next_url_from_request(request) or reverse("cms_document_processing")
    if not document_reprocess(document_id=document.pk):
        messages.error(
            request,
            _("“%(title)s” is still being processed; try again if it makes no progress.")
            % {"title": document},
        )
        return redirect(back)
    document_schedule_processing(document_id=document.pk)
    messages.success(request, _("“%(title)s” is being processed again.") % {"title": document})
    return redirect(back)


class ProcessingReportMenuItem(MenuItem):
    def is_shown(self, request):
        return document_policy().user_has_any_permission(request.user, REPORT_PERMISSIONS)


@hooks.register("register_admin_urls")
def register_document_processing_urls():
    view = DocumentProcessingReportView
    return [
        path(
            "reports/document-processing/",
            view.as_view(),
            name="cms_document_processing",
        ),
        path(
            "reports/document-processing/results/",
            view.as_view(results_only=True),
            name="cms_document_processing_results",
        ),
        path(
            "reports/document-processing/<int:document_id>/process-again/",
            document_reprocess_view,
            name="cms_document_reprocess",
        ),
    ]


@hooks.register("register_reports_menu_item")
def register_document_processing_menu_item():
    return ProcessingReportMenuItem(
        _("Document processing"),
        reverse("cms_document_processing"),
        name="document-processing",
        icon_name="doc-full-inverse",
        order=750,
    )


@hooks.register("construct_homepage_panels")
def add_documents_needing_attention_panel(request, panels):
    if not document_policy().user_has_any_permission(request.user, REPORT_PERMISSIONS):
        return
    failed = documents_processing_for_user(user=request.user).filter(
        extraction_status__in=NEEDS_ATTENTION
    )
    failed = list(failed.order_by("-created_at")[:5])
    if failed:
        panels.append(DocumentsNeedingAttentionPanel(failed))
