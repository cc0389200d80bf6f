"""manage.py create_api_key USERNAME NAME: a bearer key for the analytics API."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from analytics.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key acting as USERNAME (e.g. for a CRM webhook); prints it once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", nargs="?", default="api")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        _, key = api_key_create(user=user, name=name)
        self.stdout.write(key)
