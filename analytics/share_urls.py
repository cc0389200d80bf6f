"""Buyer-facing share links under /s/ (no login)."""

from django.urls import path, re_path

from analytics import share_views

app_name = "share"
urlpatterns = [
    path("<str:token>/", share_views.share_open, name="open"),
    path("<str:token>/<int:asset_id>/file/", share_views.share_file, name="file"),
    path("<str:token>/<int:asset_id>/preview.png", share_views.share_preview, name="preview"),
    re_path(r"^.*$", share_views.share_missing),  # never the library's sign-in for a buyer
]
