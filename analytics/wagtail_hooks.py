"""Wagtail admin: asset owners read what reps said about their assets (helpful, outdated,
"I needed ..."). Leads and admins see all feedback; everyone else sees their own assets'."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.reports import ReportView
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from accounts.roles import ADMIN, user_has_role, user_manages_content
from analytics import admin_requests, selectors, services  # noqa: F401 - registers the backlog
from analytics.models import ApiKey, AssetFeedback, CurrencyRate, OutdatedReview
from analytics.outdated_reviews import (
    outdated_reports,
    outdated_review_reply,
    outdated_reviews_open,
)
from cms.admin_governance import NEEDS_REVIEW_HOOK


class FeedbackReport(ReportView):
    page_title = "Rep feedback"
    header_icon = "help"
    results_template_name = "analytics/admin/feedback_results.html"
    index_url_name = "analytics_admin:feedback"
    index_results_url_name = "analytics_admin:feedback_results"
    list_export = ["asset", "kind", "text", "user", "created_at"]
    export_headings = {"asset": "Asset", "kind": "Kind", "text": "Text", "user": "Rep"}

    def dispatch(self, request, *args, **kwargs):
        if not user_manages_content(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        feedback = AssetFeedback.objects.select_related("asset", "user")
        return selectors.feedback_readable_by(self.request.user, feedback)

    def to_row_dict(self, item):
        return {
            "asset": item.asset.title,
            "kind": item.get_kind_display(),
            "text": item.text,
            "user": item.user.get_username() if item.user else "",
            "created_at": item.created_at,
        }


def _admins_only(request) -> None:
    if not user_has_role(request.user, ADMIN):
        raise PermissionDenied


def api_keys_index(request):
    """Settings > API keys: every analytics API key, its last use and status; revoke."""
    _admins_only(request)
    keys = ApiKey.objects.select_related("user").order_by("-created_at")
    return TemplateResponse(request, "analytics/admin/api_keys.html", {"keys": keys})


@require_POST
def api_key_revoke_view(request, key_id: int):
    _admins_only(request)
    key = get_object_or_404(ApiKey, pk=key_id)
    if services.api_key_revoke(key=key):
        messages.success(
            request, f"API key “{key.name}” of {key.user} revoked: it no longer works."
        )
    else:
        messages.info(request, f"API key “{key.name}” was already revoked.")
    return redirect("analytics_admin:api_keys")


def outdated_review_view(request, review_id: int):
    """An asset enough reps called outdated: their comments, and the owner's reply (which
    closes the review and reaches the reps). Whoever may not read the asset's feedback (the
    Rep feedback report's rule) gets the 404 of a review that does not exist."""
    if not user_manages_content(request.user):
        raise PermissionDenied
    reviews = OutdatedReview.objects.select_related("asset")
    review = get_object_or_404(selectors.feedback_readable_by(request.user, reviews), pk=review_id)
    error = ""
    if request.method == "POST":
        try:
            outdated_review_reply(
                review=review, user=request.user, reply=request.POST.get("reply", "")
            )
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            messages.success(
                request, f"Reply sent to the reps who reported “{review.asset.title}”."
            )
            return redirect("cms_governance:needs_review")
    context = {"review": review, "reports": outdated_reports(asset=review.asset), "error": error}
    return TemplateResponse(
        request, "analytics/admin/outdated_review.html", context, status=400 if error else 200
    )


@hooks.register(NEEDS_REVIEW_HOOK)
def _outdated_flags(user):
    """Every open review flags its asset; only those ``user`` may open are links."""
    reviews = outdated_reviews_open()
    still_open = OutdatedReview.objects.filter(resolved_at__isnull=True)
    readable = set(selectors.feedback_readable_by(user, still_open).values_list("pk", flat=True))
    return {
        asset_id: (
            "Reps say it is outdated",
            reverse("analytics_admin:outdated_review", args=[r.pk]) if r.pk in readable else "",
        )
        for asset_id, r in reviews.items()
    }


@hooks.register("register_admin_urls")
def _analytics_admin_urls():
    urls = [
        path("api-keys/", api_keys_index, name="api_keys"),
        path("api-keys/<int:key_id>/revoke/", api_key_revoke_view, name="api_key_revoke"),
        path("feedback/", FeedbackReport.as_view(), name="feedback"),
        path("outdated/<int:review_id>/", outdated_review_view, name="outdated_review"),
        path(
            "feedback/results/", FeedbackReport.as_view(results_only=True), name="feedback_results"
        ),
    ]
    return [path("analytics/", (urls, "analytics_admin", "analytics_admin"))]


class _ManagerMenuItem(MenuItem):
    def is_shown(self, request):
        return user_manages_content(request.user)


@hooks.register("register_reports_menu_item")
def _feedback_menu_item():
    url = reverse("analytics_admin:feedback")
    return _ManagerMenuItem("Rep feedback", url, name="rep-feedback", icon_name="help")


@hooks.register("register_reports_menu_item")
def _search_gaps_menu_item():
    # What reps searched for and did not find, and their content requests: marketing's to-do.
    url = reverse("analytics:search_gaps")
    return _ManagerMenuItem("Search gaps", url, name="search-gaps", icon_name="search")


class _AdminMenuItem(MenuItem):
    def is_shown(self, request):
        return user_has_role(request.user, ADMIN)


@hooks.register("register_settings_menu_item")
def _api_keys_menu_item():
    url = reverse("analytics_admin:api_keys")
    return _AdminMenuItem("Analytics API keys", url, name="analytics-api-keys", icon_name="key")


class CurrencyRateViewSet(SnippetViewSet):
    """Settings > Currency rates: the dated rates that convert deal amounts into the reporting
    currency (``analytics.currency``); changing one recomputes the revenue figures."""

    model = CurrencyRate
    icon = "doc-full"
    menu_label = "Currency rates"
    add_to_settings_menu = True
    list_display = ["currency", "valid_from", "rate", "updated_at"]
    list_filter = ["currency"]
    ordering = ["currency", "-valid_from"]


register_snippet(CurrencyRateViewSet)
