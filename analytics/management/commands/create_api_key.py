"""manage.py create_api_key USERNAME NAME [--integration] [--expires-days N]."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.models import ApiKey
from analytics.services import api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key acting as USERNAME (e.g. for a CRM webhook); prints it once. "
        "List and revoke keys with `manage.py api_keys`."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", nargs="?", default="api")
        parser.add_argument(
            "--integration",
            action="store_true",
            help="may record events on any rep's deal (a CRM connector, an event collector)",
        )
        parser.add_argument("--expires-days", type=int, help="the key stops working after N days")

    def handle(self, *args, username, name, integration, expires_days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1")
        _, key = api_key_create(
            user=user,
            name=name,
            scope=ApiKey.Scope.INTEGRATION if integration else ApiKey.Scope.PERSONAL,
            expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
        )
        self.stdout.write(key)
