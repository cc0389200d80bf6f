from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Content library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here, not at the top of this module: they need the models, which are not
        # loaded yet when Django imports the app config (app-loading order).
        from cms import receivers
        from cms.admin_csp import admin_widgets_without_inline_script
        from cms.admin_listings import name_page_search_rows
        from cms.exports import admin_csv_as_utf8, neutralise_admin_exports
        from cms.file_permissions import file_permission_policies_register
        from cms.moderation_mail import moderation_mail_connect

        post_migrate.connect(receivers.roles_after_migrate, sender=self)
        neutralise_admin_exports()
        admin_csv_as_utf8()
        admin_widgets_without_inline_script()
        name_page_search_rows()
        moderation_mail_connect()
        file_permission_policies_register()
