"""manage.py import_deals FILE: import a Salesforce opportunity report (CSV or XLSX).

An import writes in chunks, each kept once committed. Stopped partway (Ctrl-C, SIGTERM, a
database that stayed busy) it says how many rows were saved and that running the same
command again finishes the file, with no traceback, and exits non-zero; the analytics refresh
is asked for what was saved, as at a normal end."""

import contextlib
import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics.imports import (
    ImportBusy,
    ImportError_,
    ImportInterrupted,
    deal_import_file,
    parse_mapping,
)
from analytics.refresh import analytics_refresh_request

#: The exit status of a run stopped by a signal: 128 + SIGINT, as shells report Ctrl-C.
INTERRUPTED = 130


class Command(BaseCommand):
    help = (
        "Import deals from a CRM export; re-importing updates by Opportunity ID. "
        "Use --history for an Opportunity History export (Opportunity ID, Stage, date)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--history", action="store_true", help="the file is stage history")
        parser.add_argument("--dry-run", action="store_true", help="report, change nothing")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="'HEADER=field'",
            help="map another header onto a field, e.g. --map 'Deal Ref=external_id'",
        )
        parser.add_argument("--date-order", choices=["auto", "mdy", "dmy"], default="auto")
        parser.add_argument(
            "--no-update", action="store_true", help="do not ask for an analytics refresh"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        refresh = not options["dry_run"] and not options["no_update"]
        try:
            mapping = parse_mapping("\n".join(options["map"]))
            with path.open("rb") as stream, _sigterm_interrupts():
                report = deal_import_file(
                    stream,
                    path.name,
                    kind="history" if options["history"] else "deals",
                    dry_run=options["dry_run"],
                    mapping=mapping,
                    date_order=options["date_order"],
                    progress=lambda rows: self.stdout.write(f"  {rows} rows read"),
                    waiting=lambda message: self.stdout.write(f"  {message}"),
                )
        except ImportInterrupted as stop:
            if refresh and stop.rows:
                self._refresh()
            raise CommandError(str(stop), returncode=INTERRUPTED) from None
        except KeyboardInterrupt:  # before the import began to write
            raise CommandError("Interrupted: nothing was saved.", returncode=INTERRUPTED) from None
        except ImportError_ as error:
            if refresh and isinstance(error, ImportBusy) and error.rows:
                self._refresh()
            raise CommandError(str(error)) from None
        self._print(report)
        if refresh:
            self._refresh()

    def _refresh(self):
        analytics_refresh_request(reason="deal import")
        self.stdout.write("Analytics refresh requested.")

    def _print(self, report):
        prefix = "Would import" if report.dry_run else "Imported"
        self.stdout.write(
            f"{prefix} {report.rows} rows: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.history_added} stage changes, "
            f"{report.error_count} bad rows"
        )
        for note in report.notes:
            self.stdout.write(note)
        if report.closed_without_history:
            self.stdout.write(
                f"{report.closed_without_history} closed deal(s) have no stage history: they are "
                "left out of stage-based estimates until their Opportunity History is imported."
            )
        for stage, count in sorted(report.unmapped_stages.items()):
            self.stdout.write(f"Unmapped stage {stage!r} on {count} row(s)")
        for row, column, reason in report.errors:
            where = f"row {row}, column {column!r}:" if column else f"row {row}"
            self.stderr.write(f"{where} {reason}")
        if report.error_count > len(report.errors):
            self.stderr.write(f"... and {report.error_count - len(report.errors)} more")


@contextlib.contextmanager
def _sigterm_interrupts():
    """SIGTERM (a ``kill``, a container stopping) stops the import as Ctrl-C does, so it too
    says what was saved rather than ending the process in silence. Only the main thread may
    set a handler; elsewhere SIGTERM keeps its own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
