from django.apps import AppConfig


class ExtraFacetConfig(AppConfig):
    name = "tests.extra_facet"
    label = "extra_facet"
    default_auto_field = "django.db.models.BigAutoField"
