"""manage.py export_analytics events|history|deals --from DATE --to DATE [--output FILE]
[--format csv|parquet] [--without-history]: the raw data behind the dashboard."""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics import exports


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option}: {text!r} is not a date (write 2024-03-31)") from None


class Command(BaseCommand):
    help = (
        "Export usage events (by when they happened), deal stage history (by when entered) or "
        "deals (by close date) for a date range; the README lists the columns."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["events", "history", "deals"])
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day (included)")
        parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
        parser.add_argument("--output", help="file to write (default: standard output, CSV)")
        parser.add_argument(
            "--without-history",
            action="store_true",
            help="deals: only closed deals without stage history",
        )

    def handle(self, *args, what, start, end, format, output, without_history, **options):
        start, end = _day(start, "--from"), _day(end, "--to")
        if exports.end_error(end):
            raise CommandError(f"--to: {exports.end_error(end)}")
        if start > end:
            raise CommandError("--from is after --to")
        rows = exports.rows_for(what, start, end, without_history=without_history)
        if format == "parquet":
            if not exports.parquet_available():
                raise CommandError(
                    "Parquet needs pyarrow: pip install 'enablement-library[parquet]'"
                )
            if not output:
                raise CommandError("--format parquet needs --output FILE")
            count = exports.write_parquet(what, rows, output)
            self.stderr.write(f"{count} rows written to {output}")
            return
        stream = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        try:
            for line in exports.csv_lines(what, rows):
                stream.write(line)
        finally:
            if output:
                stream.close()
