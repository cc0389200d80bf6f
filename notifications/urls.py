from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read/", views.mark_read, name="mark_read"),
    path("<id:notification_id>/open/", views.open_notification, name="open"),
    path("preference/", views.preference, name="preference"),
]
