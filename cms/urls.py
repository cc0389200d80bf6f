"""Asset files for signed-in users: /assets/<id>/download/ and /assets/<id>/thumbnail/."""

from django.urls import path

from cms import views

app_name = "cms"
urlpatterns = [
    path("<int:asset_id>/download/", views.asset_download, name="asset_download"),
    path("<int:asset_id>/thumbnail/", views.asset_thumbnail, name="asset_thumbnail"),
]
