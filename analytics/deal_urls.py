"""My deals under /deals/ (the deal panel is at a stable URL per CRM id)."""

from django.urls import path

from analytics import deal_views

app_name = "deals"
urlpatterns = [
    path("", deal_views.deal_list, name="list"),
    path("<crm_id:external_id>/", deal_views.deal_detail, name="detail"),
]
