from django.urls import path

from search import views

app_name = "search"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("suggest/", views.suggest, name="suggest"),
    path("click/<uuid:search_key>/<id:asset_id>/", views.click, name="click"),
]
