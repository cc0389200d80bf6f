"""``manage.py extract_text FILE [--json]``: what the library would make of a file.

It runs exactly what an upload runs (the upload form's type, size and content checks, then
processing with the same bounds and sandbox) and prints the status, the notes and the text,
so "why isn't my file found?" has an answer. It never writes to the database.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from cms.documents import file_outcome
from cms.forms import upload_problem


class Command(BaseCommand):
    help = "Show what the library would extract from FILE, as an upload would (no database writes)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )

    def handle(self, *args, file: Path, as_json: bool, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        with open(file, "rb") as handle:
            problem = upload_problem(File(handle, name=file.name))
        if problem:
            result = {"status": "refused", "notes": [problem], "pages": None, "characters": 0,
                      "text": "", "page_texts": []}  # fmt: skip
        else:
            outcome = file_outcome(path=file, filename=file.name)
            extraction = outcome.extraction
            result = {
                "status": outcome.status,
                "notes": _notes(outcome),
                "pages": extraction.page_count if extraction else None,
                "characters": len(extraction.text) if extraction else 0,
                "text": extraction.text if extraction else "",
                "page_texts": [
                    {"number": page.number, "text": page.text}
                    for page in (extraction.pages if extraction else [])
                ],
            }
        self._print(result, as_json=as_json)
        if result["status"] in ("refused", "failed", "protected"):
            raise SystemExit(1)

    def _print(self, result: dict, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(_dumps(result))
            return
        self.stdout.write(f"Status: {result['status']}")
        for note in result["notes"]:
            self.stdout.write(f"Note: {note}")
        if result["pages"] is not None:
            self.stdout.write(f"Pages: {result['pages']}")
        self.stdout.write(f"Characters: {result['characters']:,}")
        pages = result["page_texts"]
        if pages:
            for page in pages:
                self.stdout.write(f"\n--- Page {page['number']} ---\n{page['text']}")
        elif result["text"]:
            self.stdout.write(f"\n{result['text']}")


def _notes(outcome) -> list[str]:
    if outcome.extraction is not None and outcome.extraction.notes:
        return list(outcome.extraction.notes)
    return [outcome.message] if outcome.message else []


def _dumps(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False)
