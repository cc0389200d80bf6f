from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "library_search"
    verbose_name = "Rep search"
    default_auto_field = "django.db.models.BigAutoField"
