from django.apps import AppConfig


class EnablementConfig(AppConfig):
    name = "enablement"
    verbose_name = "Enablement"
    default_auto_field = "django.db.models.BigAutoField"
