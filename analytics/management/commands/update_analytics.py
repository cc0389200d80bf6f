"""manage.py update_analytics [--full]: fill the rollups now, then search's ranking signals."""

import time

from django.core.management.base import BaseCommand, CommandError

from analytics.refresh import analytics_refresh
from analytics.rollups.fill import AnalyticsLocked


class Command(BaseCommand):
    help = (
        "Fill the analytics rollups with what changed since the last fill (or, with --full, "
        "rebuild them from every event: the same tables), then refresh the ranking signals in "
        "the search index. Safe to run at any time; the scheduler runs it by itself."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true", help="rebuild every rollup from all raw events"
        )

    def handle(self, *args, full=False, **options):
        started = time.monotonic()
        try:
            counts = analytics_refresh(
                full=full, log=lambda message: self.stdout.write(f"  {message}")
            )
        except AnalyticsLocked as error:
            raise CommandError(str(error)) from None
        seconds = time.monotonic() - started
        summary = ", ".join(f"{name}={count}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Analytics updated in {seconds:.1f}s ({summary})"))
