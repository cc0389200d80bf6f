from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here, not at the top of this module: they connect receivers and register
        # hooks that need the models, which are not loaded when Django imports the app config
        # (app-loading order).
        from analytics import receivers, search_actions  # noqa: F401

        post_migrate.connect(receivers.roles_after_migrate, sender=self)
