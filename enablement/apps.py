from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EnablementConfig(AppConfig):
    name = "enablement"
    verbose_name = "Enablement"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # post_migrate is sent only for apps with models; enablement has none, so listen to
        # cms's, which every migrate that matters includes.
        from django.apps import apps

        post_migrate.connect(_ensure_roles_after_migrate, sender=apps.get_app_config("cms"))

        from enablement.admin_csp import admin_widgets_without_inline_script
        from enablement.exports import neutralise_admin_exports

        neutralise_admin_exports()
        admin_widgets_without_inline_script()


REQUIRED_TABLES = {"auth_group", "cms_librarypage", "wagtailcore_workflowpage"}


def _ensure_roles_after_migrate(sender, using="default", **kwargs):
    """Create the role groups after ``migrate`` (and after a test database flush).

    cms's post_migrate runs before the apps listed after it have created their content types
    and permissions: create those first (both are idempotent).
    Skipped when the tables are not there, e.g. after migrating an app back to zero.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes
    from django.db import connections

    if not REQUIRED_TABLES <= set(connections[using].introspection.table_names()):
        return
    from wagtail.models import Page

    if not Page.objects.using(using).filter(depth=1).exists():
        return  # a flushed database has no page tree to attach the library to
    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0, using=using)
        create_permissions(app_config, verbosity=0, using=using)

    from enablement.services import roles_ensure

    roles_ensure()
