from django.core.management.base import BaseCommand

from cms.reminders import owner_reminders_send


class Command(BaseCommand):
    help = (
        "Tell owners whose assets passed their review-by date or just expired, once per date "
        "(the analytics scheduler runs this hourly; for cron without the scheduler)."
    )

    def handle(self, *args, **options):
        recorded = owner_reminders_send()
        self.stdout.write(f"{recorded} reminder(s) sent.")
