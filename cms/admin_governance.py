"""Governance in Wagtail's admin: the taxonomy snippets, the "Needs review" and "Coverage
matrix" reports, and the rule that Wagtail's own document URLs serve files only to content
managers.

Reports are Wagtail ReportViews, so each has CSV and XLSX export. Only content managers
(marketers, enablement leads, admins) see them; reps never reach the admin at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.reports import ReportView
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from accounts.models import Team
from accounts.people import person_name
from accounts.roles import user_manages_content
from cms import selectors
from cms.models import BuyerStage, Pillar
from cms.taxonomy import facets

# --- Taxonomy snippets ------------------------------------------------------------------------


def _taxonomy_viewset(taxonomy, icon: str, ordered: bool = False) -> type[SnippetViewSet]:
    """A snippet listing for one taxonomy; ordered taxonomies show their sort order."""
    attrs = {
        "model": taxonomy,
        "icon": icon,
        "list_display": ["name", "slug"] + (["sort_order"] if ordered else []),
        "search_fields": ["name"],
        "ordering": ["sort_order", "name"] if ordered else ["name"],
    }
    return type(f"{taxonomy.__name__}ViewSet", (SnippetViewSet,), attrs)


class TaxonomyGroup(SnippetViewSetGroup):
    """Everything editors classify assets by, under one "Taxonomy" menu."""

    menu_label = "Taxonomy"
    menu_icon = "tag"
    menu_order = 250
    items = (
        *(_taxonomy_viewset(item.term_model, item.icon, ordered=item.ordered) for item in facets()),
        _taxonomy_viewset(Team, "group"),
    )


register_snippet(TaxonomyGroup)

_TERM_MODELS = frozenset(item.term_model for item in facets())


@hooks.register("before_delete_snippet")
def _refuse_deleting_teams_in_use(request, instances):
    """Deleting a team that still restricts content would open that content to everyone:
    refuse (single and bulk delete) and say which pages use it."""
    teams = [item for item in instances if isinstance(item, Team)]
    if not teams:
        return None
    usage = selectors.team_usage([team.pk for team in teams])
    if not usage:
        return None
    names = ", ".join(f"“{team}”" for team in teams)
    shown = "; ".join(usage[:20]) + (f"; and {len(usage) - 20} more" if len(usage) > 20 else "")
    messages.error(
        request,
        f"{names} cannot be deleted while it restricts content: {shown}. "
        "Remove the team from these pages first.",
    )
    return redirect(reverse("wagtailsnippets_accounts_team:list"))


@hooks.register("before_delete_snippet")
def _refuse_deleting_terms_in_use(request, instances):
    """Deleting a taxonomy term still in use would strip it from every asset tagged with it
    (Wagtail's confirmation counts none: the tags are many-to-many) and from deal history:
    refuse, on the confirmation page, its POST and the bulk delete, and say what uses it."""
    terms = [item for item in instances if type(item) in _TERM_MODELS]
    if not terms:
        return None
    model = type(terms[0])
    usage = selectors.term_usage(model, [term.pk for term in terms])
    if not usage:
        return None
    names = ", ".join(f"“{term}”" for term in terms)
    messages.error(
        request,
        f"{names} cannot be deleted while it is in use: {'; '.join(usage)}. "
        "Take it off these assets first; one that deals or requests record stays "
        "(rename it instead).",
    )
    return redirect(reverse(terms[0].snippet_viewset.get_url_name("list")))


@hooks.register("insert_global_admin_js")
def _admin_widgets_without_inline_script():
    """Starts the admin widgets whose inline scripts the Content-Security-Policy blocks."""
    return format_html('<script src="{}" defer></script>', static("cms/admin_csp.js"))


@hooks.register("insert_global_admin_js")
def _upload_limit_in_the_browser():
    """Refuses a file over the upload limit when it is chosen (``cms/upload_limit.js``)."""
    return format_html(
        '<script src="{}" data-max-bytes="{}" data-max-mb="{}" defer></script>',
        static("cms/upload_limit.js"),
        settings.MAX_UPLOAD_MB * 1024 * 1024,
        settings.MAX_UPLOAD_MB,
    )


# --- Wagtail's document URLs ---------------------------------------------------------------


@hooks.register("before_serve_document")
def _documents_only_for_content_managers(document, request):
    """/documents/<id>/<name> is Wagtail's editor-facing URL and ignores asset restrictions,
    so it serves content managers only; reps download via /assets/<id>/download/.

    Everyone else gets the 404 a wrong id or name gets, signed in or not: a 403, or a login
    page, for only the documents that exist would tell a guesser which ids do. (A content
    manager whose session ended signs in again in the admin.) Registered before Wagtail's own
    hook (``cms`` comes first in INSTALLED_APPS), so a collection's login or password form is
    never shown to anyone but content managers either."""
    if not user_manages_content(request.user):
        raise Http404("No such document")
    return None


# --- Reports ---------------------------------------------------------------------------------


def _owner_label(user) -> str:
    if user is None:
        return ""
    name = person_name(user)
    return f"{name} <{user.email}>" if user.email else name


class ContentManagerReport(ReportView):
    """A report only content managers may open."""

    def dispatch(self, request, *args, **kwargs):
        if not user_manages_content(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AssetListReport(ContentManagerReport):
    """A list of assets with their owner and review date, linking to the page editor."""

    results_template_name = "cms/reports/asset_list_results.html"
    list_export = ["title", "section", "owner", "review_by", "asset_type"]
    export_headings = {
        "title": "Asset",
        "section": "Section",
        "owner": "Owner",
        "review_by": "Review by",
        "asset_type": "Type",
    }

    def to_row_dict(self, item):
        parent = item.get_parent()
        return {
            "title": item.title,
            "section": parent.title if parent else "",
            "owner": _owner_label(item.owner),
            "review_by": item.review_by,
            "asset_type": str(item.asset_type or ""),
        }


#: Other apps put assets in the needs-review queue through this Wagtail hook: a function
#: ``(user) -> {asset id: (note, url)}`` (analytics: assets enough reps called outdated);
#: the url is empty where ``user``, who reads the report, may not open it.
NEEDS_REVIEW_HOOK = "needs_review_flags"


def _needs_review_flags(user) -> dict[int, tuple[str, str]]:
    flags = {}
    for provider in hooks.get_hooks(NEEDS_REVIEW_HOOK):
        flags.update(provider(user))
    return flags


class NeedsReviewReport(AssetListReport):
    """Live assets whose review date has passed, oldest review date first, and the assets
    other apps flag for review (``NEEDS_REVIEW_HOOK``) with their note."""

    page_title = "Needs review"
    header_icon = "time"
    index_url_name = "cms_governance:needs_review"
    export_filename = "assets-needing-review"
    no_results_message = "No live asset is past its review date."

    def get_filtered_queryset(self):
        self.flags = _needs_review_flags(self.request.user)
        return selectors.assets_needing_review(flagged_ids=list(self.flags))

    def decorate_paginated_queryset(self, object_list):
        for asset in object_list:
            asset.review_note = self.flags.get(asset.pk)
        return object_list


class CoverageCellReport(AssetListReport):
    """The live assets of one coverage matrix cell: ?stage=<slug>&pillar=<slug>."""

    header_icon = "table"
    index_url_name = "cms_governance:coverage_cell"
    export_filename = "coverage-cell-assets"
    no_results_message = "No live asset covers this stage and pillar."

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.stage = BuyerStage.objects.filter(slug=request.GET.get("stage", "")).first()
        self.pillar = Pillar.objects.filter(slug=request.GET.get("pillar", "")).first()

    def get_page_title(self):
        if self.stage is None or self.pillar is None:
            return "Coverage cell"
        return f"Coverage: {self.stage.name} × {self.pillar.name}"

    def get_index_url(self):
        return self.request.get_full_path()

    def get_filtered_queryset(self):
        if self.stage is None or self.pillar is None:
            raise Http404(
                f"Unknown coverage cell: stage {self.request.GET.get('stage', '')!r}, "
                f"pillar {self.request.GET.get('pillar', '')!r}"
            )
        return selectors.assets_filter(
            selectors.assets_live(), {"stage": [self.stage.slug], "pillar": [self.pillar.slug]}
        ).order_by("title")


#: Other apps add a note to coverage cells through this Wagtail hook: a function
#: ``() -> {(stage id, pillar id): (note, url)}`` (analytics: the open content requests).
COVERAGE_NOTES_HOOK = "coverage_cell_notes"


@dataclass
class CoverageCell:
    stage: str
    pillar: str
    live_assets: int
    url: str
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.live_assets == 0

    @property
    def notes_text(self) -> str:
        """The notes as the export's one cell: "2 open requests; …"."""
        return "; ".join(text for text, _ in self.notes)


class CoverageMatrixReport(ContentManagerReport):
    """Stages x pillars with the number of live assets in each cell; empty cells are gaps."""

    page_title = "Coverage matrix"
    header_icon = "table"
    index_url_name = "cms_governance:coverage"
    template_name = "cms/reports/coverage.html"
    results_template_name = "cms/reports/coverage_results.html"
    paginate_by = None
    export_filename = "coverage-matrix"
    list_export = ["stage", "pillar", "live_assets", "notes_text"]
    export_headings = {
        "stage": "stage",
        "pillar": "pillar",
        "live_assets": "live_assets",
        "notes_text": "notes",
    }

    def get_filtered_queryset(self):
        self.rows = []
        cells = []
        notes: dict[tuple[int, int], list[tuple[str, str]]] = {}
        for provider in hooks.get_hooks(COVERAGE_NOTES_HOOK):
            for key, note in provider().items():
                notes.setdefault(key, []).append(note)
        for row in selectors.coverage_matrix():
            row_cells = [self._cell(cell, notes) for cell in row["cells"]]
            self.rows.append({"stage": row["stage"], "cells": row_cells})
            cells.extend(row_cells)
        return cells

    def _cell(self, cell: dict, notes: dict) -> CoverageCell:
        query = urlencode({"stage": cell["stage"].slug, "pillar": cell["pillar"].slug})
        return CoverageCell(
            stage=cell["stage"].name,
            pillar=cell["pillar"].name,
            live_assets=cell["count"],
            url=f"{reverse('cms_governance:coverage_cell')}?{query}",
            notes=notes.get((cell["stage"].pk, cell["pillar"].pk), []),
        )

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        context["rows"] = self.rows
        context["pillars"] = list(Pillar.objects.all())
        context["empty_cells"] = [cell for cell in self.object_list if cell.is_empty]
        return context


@hooks.register("register_admin_urls")
def _governance_urls():
    urls = [
        path("needs-review/", NeedsReviewReport.as_view(), name="needs_review"),
        path("coverage/", CoverageMatrixReport.as_view(), name="coverage"),
        path("coverage/cell/", CoverageCellReport.as_view(), name="coverage_cell"),
    ]
    return [path("governance/", (urls, "cms_governance", "cms_governance"))]


class ContentManagerMenuItem(MenuItem):
    def is_shown(self, request):
        return user_manages_content(request.user)


@hooks.register("register_reports_menu_item")
def _needs_review_menu_item():
    url = reverse("cms_governance:needs_review")
    return ContentManagerMenuItem("Needs review", url, name="needs-review", icon_name="time")


@hooks.register("register_reports_menu_item")
def _coverage_menu_item():
    url = reverse("cms_governance:coverage")
    return ContentManagerMenuItem("Coverage matrix", url, name="coverage", icon_name="table")
