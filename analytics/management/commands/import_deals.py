"""manage.py import_deals FILE: import a Salesforce opportunity report (CSV or XLSX)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics.imports import ImportError_, deal_import_file, parse_mapping
from analytics.refresh import analytics_refresh_request


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
        try:
            mapping = parse_mapping("\n".join(options["map"]))
            with path.open("rb") as stream:
                report = deal_import_file(
                    stream,
                    path.name,
                    kind="history" if options["history"] else "deals",
                    dry_run=options["dry_run"],
                    mapping=mapping,
                    date_order=options["date_order"],
                    progress=lambda rows: self.stdout.write(f"  {rows} rows read"),
                )
        except ImportError_ as error:
            raise CommandError(str(error)) from None
        self._print(report)
        if not options["dry_run"] and not options["no_update"]:
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
            self.stderr.write(f"row {row}, column {column!r}: {reason}")
        if report.error_count > len(report.errors):
            self.stderr.write(f"... and {report.error_count - len(report.errors)} more")
