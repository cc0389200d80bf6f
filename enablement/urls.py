from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

import enablement.converters  # noqa: F401 - registers <id:…> before the apps' URLs use it
from accounts.password_reset import ThrottledPasswordResetView
from cms import views as cms_views
from enablement.api import api, not_found

urlpatterns = [
    # Wagtail's password reset form with per-account and per-address limits: Wagtail's own
    # path, listed before Wagtail's URLs so that this view answers it.
    path("admin/password_reset/", ThrottledPasswordResetView.as_view()),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # Files on local disk are never served from MEDIA_URL as they are: only the renditions
    # of Wagtail's images (where Wagtail writes them, MEDIA_URL + "images/"), and only to
    # the users the admin shows their image to (cms.views.image_rendition).
    path(
        f"{settings.MEDIA_URL.strip('/')}/images/<path:name>",
        cms_views.image_rendition,
        name="image_rendition",
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Under /api/ every answer is JSON, never the site's pages (nor ninja's HTML 404 at its
    # root): the addresses that name no endpoint are the API's own 404.
    path("api/v1/", not_found),
    path("api/v1/", api.urls),
    re_path(r"^api(?:/|$)", not_found),
    path("home/", cms_views.home, name="home"),
    path("favicon.ico", cms_views.favicon),
    path("assets/", include("cms.urls")),
    path("search/", include("search.urls")),
    path("analytics/", include("analytics.urls")),
    path("s/", include("analytics.share_urls")),
    path("notifications/", include("notifications.urls")),
    path("deals/", include("analytics.deal_urls")),
    # Wagtail's password form held to the library's rule: Wagtail's own path, listed before
    # Wagtail's URLs so that this view answers it.
    path(
        "_util/authenticate_with_password/<int:page_view_restriction_id>/<int:page_id>/",
        cms_views.authenticate_with_password,
    ),
    path("", include(wagtail_urls)),
]
