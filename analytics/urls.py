from django.urls import path

from analytics import rep_views, views

app_name = "analytics"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("assets/", views.asset_list, name="assets"),
    path("assets.csv", views.asset_csv, name="assets_csv"),
    path("assets/<id:asset_id>/", views.asset_detail, name="asset"),
    path("assets/<id:asset_id>/numbers.csv", views.asset_numbers_csv, name="asset_numbers_csv"),
    path("assets/<id:asset_id>/weekly-usage.csv", views.asset_weekly_csv, name="asset_weekly_csv"),
    path("heatmap.csv", views.heatmap_csv, name="heatmap_csv"),
    path("health/", views.health, name="health"),
    path("health/<slug:table>.csv", views.health_csv, name="health_csv"),
    path("search-gaps/", views.search_gaps, name="search_gaps"),
    path("search-gaps/<slug:table>.csv", views.search_gaps_csv, name="search_gaps_csv"),
    path("import/", views.import_deals, name="import"),
    path("import/<id:job_id>/", views.import_job, name="import_job"),
    path("import/<id:job_id>/status/", views.import_job_status, name="import_job_status"),
    path("refresh/", views.refresh, name="refresh"),
    path("refresh/status/", views.refresh_status, name="refresh_status"),
    path("strata/", views.strata, name="strata"),
    path("export/", views.export, name="export"),
    # Rep actions on an asset.
    path("assets/<id:asset_id>/used/", rep_views.asset_used, name="asset_used"),
    path("assets/<id:asset_id>/share/", rep_views.share_create, name="share_create"),
    path("assets/<id:asset_id>/feedback/", rep_views.feedback, name="feedback"),
    path("requests/", rep_views.content_requests, name="requests"),
    path(
        "requests/<id:request_id>/vote/", rep_views.content_request_vote_view, name="request_vote"
    ),
    path("field-materials/new/", rep_views.field_material_new, name="field_material_new"),
    path("share-links/", rep_views.share_links, name="share_links"),
    path("share-links/<id:link_id>/revoke/", rep_views.share_revoke, name="share_revoke"),
]
