"""Wagtail admin: asset owners read what reps said about their assets (helpful, outdated,
"I needed ..."). Leads and admins see all feedback; everyone else sees their own assets'."""

from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.reports import ReportView

from analytics import selectors
from analytics.models import AssetFeedback
from enablement.roles import user_is_enablement_lead, user_manages_content


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
        if user_is_enablement_lead(self.request.user):
            return AssetFeedback.objects.select_related("asset", "user")
        return selectors.feedback_for_owner(self.request.user)

    def to_row_dict(self, item):
        return {
            "asset": item.asset.title,
            "kind": item.get_kind_display(),
            "text": item.text,
            "user": item.user.get_username() if item.user else "",
            "created_at": item.created_at,
        }


@hooks.register("register_admin_urls")
def _analytics_admin_urls():
    urls = [
        path("feedback/", FeedbackReport.as_view(), name="feedback"),
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
