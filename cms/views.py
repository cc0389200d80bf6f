"""Rep-facing library views: section listings, the asset page, downloads and thumbnails."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.template.response import TemplateResponse

from cms import selectors


def library_page_serve(request, *, page):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    assets = selectors.assets_for_user(request.user).descendant_of(page).specific()
    return TemplateResponse(request, page.template, {"page": page, "assets": assets})


def asset_page_serve(request, *, page):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not selectors.asset_visible_to(request.user, page):
        raise Http404("No such asset")
    return TemplateResponse(request, page.template, {"page": page})
