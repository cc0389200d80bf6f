from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Roles, teams and the permission helpers every app asks (who sees what), and the login
    throttle. Every app may import it; it imports none of them."""

    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"
