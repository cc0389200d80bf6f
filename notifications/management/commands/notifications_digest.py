from django.core.management.base import BaseCommand

from notifications.services import notifications_digest_send


class Command(BaseCommand):
    help = "Mail the daily digest to everyone who chose it (run once a day, e.g. from cron)."

    def handle(self, *args, **options):
        sent = notifications_digest_send()
        self.stdout.write(f"{sent} digest(s) sent.")
