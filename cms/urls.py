"""Asset files for signed-in users: /assets/<id>/download/ (a link asset: /assets/<id>/open/),
/assets/<id>/thumbnail/ and /assets/<id>/pages/<number>/preview/."""

from django.urls import path

from cms import views

app_name = "cms"
urlpatterns = [
    path("<id:asset_id>/download/", views.asset_download, name="asset_download"),
    path("<id:asset_id>/open/", views.asset_link_open, name="asset_link_open"),
    path("<id:asset_id>/thumbnail/", views.asset_thumbnail, name="asset_thumbnail"),
    path(
        "<id:asset_id>/pages/<id:number>/preview/",
        views.asset_page_preview,
        name="asset_page_preview",
    ),
]
