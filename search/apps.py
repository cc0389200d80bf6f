from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "library_search"
    verbose_name = "Rep search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top of this module: the receivers need the models, which
        # are not loaded when Django imports the app config (app-loading order).
        from search import receivers

        receivers.connect(self)
