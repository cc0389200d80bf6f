"""manage.py update_analytics: rebuild the dashboard's rollups (idempotent, locked)."""

import time

from django.core.management.base import BaseCommand, CommandError

from analytics.rollups import AnalyticsLocked
from analytics.services import analytics_update_and_publish


class Command(BaseCommand):
    help = (
        "Rebuild the analytics rollups from raw events and deals, then refresh the ranking "
        "signals in the search index. Safe to run repeatedly."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            counts = analytics_update_and_publish(
                log=lambda message: self.stdout.write(f"  {message}")
            )
        except AnalyticsLocked as error:
            raise CommandError(str(error)) from None
        seconds = time.monotonic() - started
        summary = ", ".join(f"{name}={count}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Analytics updated in {seconds:.1f}s ({summary})"))
