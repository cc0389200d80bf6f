"""Wagtail admin: marketing's content-request backlog (status, owner, stage x pillar cell,
votes, the asset that answers it). Saving goes through
``analytics.content_requests.content_request_update``, which notifies the askers when a
request is done or declined."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.admin.ui.tables import Column
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import CreateView, EditView, SnippetViewSet

from analytics.content_requests import (
    EDITABLE,
    content_request_create,
    content_request_update,
    content_requests_backlog,
    open_requests_by_cell,
)
from analytics.models import ContentRequest
from cms.admin_governance import COVERAGE_NOTES_HOOK


def _changes(form) -> dict:
    return {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}


class ContentRequestEditView(EditView):
    def save_instance(self):
        current = ContentRequest.objects.get(pk=self.object.pk)
        return content_request_update(content_request=current, **_changes(self.form))


class ContentRequestCreateView(CreateView):
    """Marketing records a request it heard elsewhere (merged like a rep's)."""

    def save_instance(self):
        asked, _ = content_request_create(
            user=self.request.user, text=self.form.cleaned_data["text"], source="marketing"
        )
        return content_request_update(content_request=asked, **_changes(self.form))


class ContentRequestViewSet(SnippetViewSet):
    model = ContentRequest
    icon = "help"
    menu_label = "Content requests"
    menu_order = 250
    add_to_admin_menu = True
    url_prefix = "analytics/requests"
    edit_view_class = ContentRequestEditView
    add_view_class = ContentRequestCreateView
    list_display = [
        "text",
        "status",
        Column("vote_count", label="Votes", sort_key="vote_count"),
        "owner",
        "stage",
        "pillar",
        "created_at",
    ]
    list_filter = ["status", "owner", "stage", "pillar"]
    list_export = ["text", "status", "vote_count", "owner", "stage", "pillar", "created_at"]
    export_headings = {"vote_count": "Votes"}
    search_fields = ["text"]
    panels = [
        FieldPanel("text"),
        FieldPanel("private_note"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("status"), FieldPanel("owner")]),
                FieldRowPanel([FieldPanel("stage"), FieldPanel("pillar")]),
                FieldPanel("fulfilled_by"),
                FieldPanel("decline_reason"),
            ],
            heading="Answer",
        ),
    ]

    def get_queryset(self, request):
        return content_requests_backlog()


register_snippet(ContentRequestViewSet)


@hooks.register(COVERAGE_NOTES_HOOK)
def open_requests_note() -> dict[tuple[int, int], tuple[str, str]]:
    """The coverage matrix shows each cell's open requests, linked to them in the backlog."""
    backlog = reverse("wagtailsnippets_analytics_contentrequest:list")
    return {
        (stage_id, pillar_id): (
            f"{count} open request{'s' if count != 1 else ''}",
            f"{backlog}?{urlencode({'stage': stage_id, 'pillar': pillar_id})}",
        )
        for (stage_id, pillar_id), count in open_requests_by_cell().items()
    }
