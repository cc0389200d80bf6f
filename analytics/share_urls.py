"""Buyer-facing share links under /s/ (no login)."""

from django.urls import path

from analytics import share_views

app_name = "share"
urlpatterns = [
    path("<str:token>/", share_views.share_open, name="open"),
    path("<str:token>/<int:asset_id>/file/", share_views.share_file, name="file"),
]
