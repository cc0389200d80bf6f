"""manage.py api_keys list | revoke ID... : the analytics API's bearer keys.

``list`` shows every key with its user, scope, creation, expiry, last use and status;
``revoke`` stops keys at once (the next request with them gets 401). Keys are created with
``manage.py create_api_key``.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.models import ApiKey
from analytics.services import api_key_revoke


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "List the analytics API keys, or revoke some by id."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("list", help="every key, newest first")
        revoke = commands.add_parser("revoke", help="revoke keys by id (see list)")
        revoke.add_argument("ids", nargs="+", type=int)

    def handle(self, *args, action, **options):
        if action == "list":
            self._list()
        else:
            self._revoke(options["ids"])

    def _list(self):
        keys = ApiKey.objects.select_related("user").order_by("-created_at")
        self.stdout.write("id\tname\tuser\tscope\tcreated\texpires\tlast used\tstatus")
        for key in keys:
            self.stdout.write(
                "\t".join(
                    [
                        str(key.pk),
                        key.name,
                        key.user.get_username(),
                        key.scope,
                        _when(key.created_at),
                        _when(key.expires_at),
                        _when(key.last_used_at),
                        key.status,
                    ]
                )
            )

    def _revoke(self, ids):
        keys = ApiKey.objects.in_bulk(ids)
        missing = [str(i) for i in ids if i not in keys]
        if missing:
            raise CommandError(f"no API key with id {', '.join(missing)}; nothing revoked")
        for key in keys.values():
            done = api_key_revoke(key=key)
            self.stdout.write(f"{key.pk} {key.name}: {'revoked' if done else 'already revoked'}")
