"""Rebuild the search index (zero downtime), or check it against the library.

manage.py search_reindex            rebuild, with progress
manage.py search_reindex --check    report assets missing from or stale in the index;
                                    exits with status 1 when there are any
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from search import selectors, services
from search.engines import SearchUnavailable, get_engine

SHOW_IDS = 20


class Command(BaseCommand):
    help = "Rebuild the search index and swap it in, or --check it against the library."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only compare, change nothing")
        parser.add_argument("--repair", action="store_true", help="fix only what --check finds")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, check: bool, repair: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if check and repair:
            raise CommandError("choose --check or --repair, not both")
        engine = get_engine()
        try:
            if check:
                return self._check(batch_size)
            if repair:
                return self._repair(batch_size)
            self._rebuild(engine, batch_size)
        except SearchUnavailable as error:
            raise CommandError(f"the search engine is unavailable: {error}") from error

    def _rebuild(self, engine, batch_size: int) -> None:
        started = time.perf_counter()
        self.stdout.write(f"Rebuilding the {engine.name} search index…")

        def progress(done: int, total: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-6)
            percent = 100 * done / total if total else 100
            self.stdout.write(
                f"  {done}/{total} assets ({percent:.0f}%), {done / elapsed:.0f} assets/s"
            )

        count = services.index_rebuild(batch_size=batch_size, progress=progress)
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Indexed {count} assets in {elapsed:.1f}s."))

    def _repair(self, batch_size: int) -> None:
        report = services.index_repair(batch_size=batch_size)
        fixed = len(report.missing) + len(report.stale) + len(report.extra)
        self.stdout.write(
            self.style.SUCCESS(
                f"Repaired {fixed} entries ({len(report.missing)} missing, "
                f"{len(report.stale)} stale, {len(report.extra)} not live)."
            )
        )

    def _check(self, batch_size: int) -> None:
        report = selectors.index_check(batch_size=batch_size)
        self.stdout.write(f"{report.live} live assets, {report.indexed} indexed documents.")
        problems = (
            ("missing from the index", report.missing),
            ("stale in the index", report.stale),
            (
                "in the index but not live (unpublished, archived, expired or deleted; or an "
                "alias, which search finds as its original)",
                report.extra,
            ),
        )
        for label, ids in problems:
            if ids:
                shown = ", ".join(map(str, ids[:SHOW_IDS])) + (" …" if len(ids) > SHOW_IDS else "")
                self.stdout.write(self.style.WARNING(f"{len(ids)} {label}: {shown}"))
        if not report.ok:
            raise CommandError("the index is out of date: run `manage.py search_reindex`")
        self.stdout.write(self.style.SUCCESS("The index matches the library."))
