"""Importing a Salesforce opportunity report (or its Opportunity History export).

The file is read once, to its end, before anything is written: its rows go to a temporary
file ``CHUNK`` at a time (``_spool``) while its dates settle the date order, so a file refused
as a whole (its dates written in both orders) leaves nothing saved. They are then written
``CHUNK`` at a time, each chunk in its own short transaction (rows are parsed before it
begins), so a large file neither fills memory nor makes other writers wait: the events API, a
CRM webhook or a refresh waits at most one chunk's write, never the whole file. Good rows are
kept; each bad row is reported with its row number, column and reason. Re-importing updates
deals by external id and never duplicates them, so an import cut off halfway (its committed
chunks are kept) is finished by running it again, and says so with how many rows it saved
(``ImportBusy``, ``ImportInterrupted``). A chunk that finds the database busy waits its turn
rather than stopping the file (``patiently``). A dry run writes and rolls back each chunk
in turn, remembering what the rolled-back chunks would have left for the later ones, so its
report is the real run's. Only real imports take the import lock, one at a time; a dry run
keeps nothing, so it runs beside them (its report is then of the deals as it found them).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from analytics.locks import BUSY_PATIENCE, Locked, job_lock, patiently
from analytics.models import Deal, DealStageChange
from analytics.parsing import (
    TableError,
    UnsavedFormula,
    numeric_date_reading,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
    read_table,
)
from analytics.selectors import deals_without_history
from analytics.services import (
    EVENT_CLOCK_SKEW,
    DealInput,
    StageMap,
    deal_apply,
    deal_external_id_normalise,
    deal_external_id_problem,
    deal_input_problems,
    deal_outcome,
    deals_mark_changed,
    deals_refresh_reached,
)
from cms.middleware import database_busy

logger = logging.getLogger(__name__)

#: A mapping target: keep the column as a deal attribute named after its header.
ATTRIBUTE = "attribute"
#: Common Salesforce report headers (case-insensitive) -> DealInput fields.
HEADER_FIELDS = {
    "opportunity id": "external_id",
    "opportunity id (18)": "external_id",
    "opportunity id (15)": "external_id",
    "deal id": "external_id",
    "opportunity name": "name",
    "account name": "account",
    "amount": "amount",
    "amount currency": "currency",
    "opportunity currency": "currency",
    "currency": "currency",
    "stage": "stage",
    "stage name": "stage",
    "to stage": "stage",
    "close date": "close_date",
    "won": "won",
    "closed": "closed",
    "opportunity owner": "owner",
    "owner": "owner",
    "industry": "industry",
    "type": "segment",
    "segment": "segment",
    "created date": "created_date",
    "last stage change date": "stage_changed_at",
    # Kept as deal attributes (the lead may compare within them): see ATTRIBUTE.
    "region": ATTRIBUTE,
    "sales region": ATTRIBUTE,
    "billing country": ATTRIBUTE,
    "lead source": ATTRIBUTE,
}
#: Headers of an Opportunity History export's date column.
HISTORY_DATE_HEADERS = {
    "last modified": "changed_at",
    "last modified date": "changed_at",
    "edit date": "changed_at",
    "stage change date": "changed_at",
    "date": "changed_at",
}
FIELDS = sorted(set(HEADER_FIELDS.values()) | {"changed_at"})  # includes "attribute"
REQUIRED = {"deals": ("external_id", "stage"), "history": ("external_id", "stage", "changed_at")}
FIELD_LABELS = {"external_id": "Opportunity ID", "stage": "Stage", "changed_at": "Date"}
#: The column a closed deal's close date comes from, as a deals file names it.
CLOSE_DATE_LABEL = "Close Date"
#: The date columns each kind of file reads: "Automatic" date order settles on one order
#: for all of them (``_DateOrder``).
DATE_FIELDS = {
    "deals": ("close_date", "created_date", "stage_changed_at"),
    "history": ("changed_at",),
}
#: Rows per write transaction: a concurrent writer waits at most about one chunk's write
#: (0.15-0.2 s for 500 new deals on SQLite, plus the pause of ``_writers_turn``).
CHUNK = 500
MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    history_added: int = 0
    closed_without_history: int = 0
    # Closed deals dated the import day for want of a close date: the file has no Close Date
    # column, and neither the deal's stored close nor its history dates it (a note says so).
    closed_dated_today: int = 0
    error_count: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    unmapped_stages: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def error(self, row: int, column: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((row, column, reason))

    def to_dict(self) -> dict:
        """The report as JSON-ready data (an import job keeps it); ``from_dict`` reads it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImportReport:
        errors = [tuple(error) for error in data.get("errors", [])]
        return cls(**{**data, "errors": errors})


class ImportError_(ValueError):
    """The file cannot be imported at all; the message says why."""


class ImportLocked(ImportError_):
    """Another real import is running: this one wrote nothing, and may run once it ends."""


class ImportBusy(ImportError_):
    """Another writer held the database past ``BUSY_PATIENCE``: the chunks written before are
    kept, and the message says how many rows they hold and to import the file again."""

    def __init__(self, message: str, rows: int) -> None:
        super().__init__(message)
        self.rows = rows


class ImportInterrupted(KeyboardInterrupt):  # noqa: N818 - it is a KeyboardInterrupt
    """Ctrl-C (or SIGTERM, which the command turns into it) stopped the import: still a
    KeyboardInterrupt, so whatever stops on one still does, with ``rows`` saved and a message
    saying so (the chunks committed before are kept)."""

    def __init__(self, message: str, rows: int) -> None:
        super().__init__(message)
        self.rows = rows


def parse_mapping(text: str) -> dict[str, str]:
    """``"Deal Ref = external_id"`` lines -> {"deal ref": "external_id"}; unknown fields fail."""
    mapping = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        header, sep, target = line.rpartition("=")
        target = target.strip()
        if not sep or not header.strip() or target not in FIELDS:
            raise ImportError_(
                f"mapping line {number} {line.strip()!r}: write 'Header = field' with a field "
                f"among {', '.join(FIELDS)}"
            )
        mapping[header.strip().casefold()] = target
    return mapping


def _columns(
    headers: list[str], kind: str, mapping: dict[str, str], filename: str
) -> dict[str, int]:
    """Field -> column index; attribute columns are listed as "attribute:<header>". A missing
    required column refuses the file, named first as in every other whole-file refusal; so do
    two columns for one field (``Stage`` and ``Stage Name``): which one the CRM meant cannot
    be guessed, and keeping the first dropped the other without a word."""
    known = dict(HEADER_FIELDS)
    if kind == "history":
        known.update(HISTORY_DATE_HEADERS)
    known.update(mapping)
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        target = known.get(" ".join(header.split()).casefold())
        if target == ATTRIBUTE and kind == "deals":
            columns[f"{ATTRIBUTE}:{' '.join(header.split())}"] = index
        elif target and target != ATTRIBUTE:
            if target in columns:
                first = headers[columns[target]]
                raise ImportError_(
                    f"{filename}: the columns {first!r} and {header!r} both give the deal's "
                    f"{FIELD_LABELS.get(target, target.replace('_', ' '))}: delete one of "
                    "them (or map one to another field, e.g. 'Header = attribute') and import "
                    "again"
                )
            columns[target] = index
    missing = [FIELD_LABELS.get(f, f) for f in REQUIRED[kind] if f not in columns]
    if missing:
        raise ImportError_(
            f"{filename}: missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(headers)})"
        )
    return columns


def deal_import_file(
    stream,
    filename: str,
    *,
    kind: str = "deals",
    dry_run: bool = False,
    mapping: dict[str, str] | None = None,
    date_order: str = "auto",
    progress: Callable[[int], None] | None = None,
    waiting: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import deals (``kind="deals"``) or stage history (``kind="history"``) from a file.

    Raises ImportError_ when the file as a whole is unusable (empty, unreadable, missing a
    required column, two columns for one field, no data rows under its header), and
    ImportLocked when another real import is running (real imports take a lock).
    ``dry_run`` runs everything and rolls it back, so the report says exactly what would
    change; it takes no lock, neither waiting for a real import nor holding one up.
    ``progress`` is called with the rows read so far after each chunk is committed.
    ``date_order`` "auto" settles one order for all the file's numeric dates while the file
    is read (``_DateOrder``).

    An import is the patient writer: a write that finds the database held by another writer
    past the busy timeout (a backup, a long refresh) is tried again for up to
    ``BUSY_PATIENCE``, ``waiting`` told each time, and only then raises ImportBusy, saying how
    many rows were saved. Ctrl-C raises ImportInterrupted, saying the same.
    """
    try:
        headers, rows = read_table(stream, filename)
    except TableError as error:
        raise ImportError_(f"{filename}: {error}") from None
    columns = _columns(headers, kind, mapping or {}, filename)
    report = ImportReport(kind=kind, dry_run=dry_run)
    dates = _DateOrder(kind, headers, columns, filename) if date_order == "auto" else None
    with _spool_file(filename) as spool:
        try:
            spooled = _spool(rows, spool, dates)
        except TableError as error:  # found while reading on: a quote never closed
            raise ImportError_(f"{filename}: {error}") from None
        except OSError as error:  # the disk is full: nothing was written to the database
            raise ImportError_(f"{filename}: no room to read the file ({error})") from None
        if not spooled:
            raise ImportError_(
                f"{filename}: the file has no data rows, only its header: nothing to import"
            )
        if dates:
            date_order, note = dates.settled()
            if note:
                report.notes.append(note)
        context = _Context(StageMap(), headers, columns, date_order, dry_run)
        context.busy = _busy_note(report, waiting)
        try:
            _write(spool, kind, context, report, progress)
        except OperationalError as error:
            if not database_busy(error):
                raise
            raise ImportBusy(
                f"{filename}: the database stayed busy for over {_patience()} (another "
                f"program was writing to it), so the import stopped. {_kept(report)}",
                0 if dry_run else report.rows,
            ) from None
        except KeyboardInterrupt as error:
            if isinstance(error, ImportInterrupted):
                raise
            saved = 0 if dry_run else report.rows
            raise ImportInterrupted(f"Interrupted. {_kept(report)}", saved) from None
    return report


def _write(spool, kind: str, context: _Context, report: ImportReport, progress) -> None:
    """Write the spooled rows: a dry run's at once, a real run's under the import lock."""
    if context.dry_run:
        _import_rows(_spooled(spool), kind, context, report, progress)
        return
    try:
        with job_lock(
            IMPORT_LOCK,
            stale_after=LOCK_STALE_AFTER,
            patience=BUSY_PATIENCE,
            waiting=context.busy,
        ) as lock:
            _import_rows(_spooled(spool), kind, context, report, _alive(lock, progress))
    except Locked as error:
        again = ""
        if error.free_at:
            free_at = timezone.localtime(error.free_at)
            again = f" (if it has stopped, from {free_at:%H:%M}, when its lock is released)"
        raise ImportLocked(f"{error}; try again when it has finished{again}") from None


def _kept(report: ImportReport) -> str:
    """What an import cut off partway leaves: its committed chunks, and how to finish."""
    if report.dry_run:
        return "A dry run saves nothing; run it again."
    if not report.rows:
        return "No row was saved; import the file again."
    return (
        f"{report.rows:,} rows were saved, the rest were not; import the same file again to "
        "finish (rows are matched by Opportunity ID, never duplicated)."
    )


def _patience() -> str:
    seconds = int(BUSY_PATIENCE.total_seconds())
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"


def _busy_note(report: ImportReport, waiting):
    """What ``patiently`` calls while the database is busy: a log line, and ``waiting``."""

    def note(waited: float) -> None:
        message = (
            f"The database is busy (another program is writing to it): {report.rows:,} rows "
            f"saved so far; waited {waited:.0f} s, trying again for up to {_patience()}"
        )
        if waiting:
            waiting(message)
        else:  # a dashboard job: the worker's log says it
            logger.warning("deal import: %s", message)

    return note


#: The lock real imports take, one at a time.
IMPORT_LOCK = "import_deals"
#: An import's lock is touched after every chunk; one untouched this long was left by a run
#: that died (a worker killed mid-file), and the next import takes it over.
LOCK_STALE_AFTER = timedelta(minutes=10)


def _alive(lock, progress):
    """``progress`` that also touches the import's lock: this run is alive."""

    def told(rows: int) -> None:
        lock.touch()
        if progress:
            progress(rows)

    return told


def _spool_file(filename: str):
    """The temporary file the rows wait in (the system's temporary directory)."""
    try:
        return tempfile.TemporaryFile()
    except OSError as error:
        raise ImportError_(f"{filename}: no room to read the file ({error})") from None


def _spool(rows, spool, dates: _DateOrder | None) -> int:
    """Read every row of the file into ``spool``, ``CHUNK`` rows to a pickle (only this
    import reads them back), noting each row's dates for ``dates``; returns how many."""
    chunk: list = []
    count = 0
    for number, values in rows:
        count += 1
        if dates:
            dates.note(number, values)
        chunk.append((number, values))
        if len(chunk) >= CHUNK:
            pickle.dump(chunk, spool, pickle.HIGHEST_PROTOCOL)
            chunk = []
    if chunk:
        pickle.dump(chunk, spool, pickle.HIGHEST_PROTOCOL)
    spool.seek(0)
    return count


def _spooled(spool) -> Iterator[list]:
    """The chunks ``_spool`` wrote, in order."""
    while True:
        try:
            yield pickle.load(spool)  # noqa: S301 - only what _spool wrote, never uploaded
        except EOFError:
            return


class _DateOrder:
    """The order ("dmy" or "mdy") of all the file's numeric dates, settled from the date cells
    of every row as the file is read (``note``): a date that can only be read day first
    (13/02/2026) makes the file day first, one that can only be month first (02/13/2026)
    month first; a file with both is refused naming one of each, before anything is saved.
    When every date reads either way (01/02/2026), month first, as before, with a note for
    the report."""

    def __init__(self, kind: str, headers: list[str], columns: dict[str, int], filename: str):
        names = [name for name in DATE_FIELDS[kind] if name in columns]
        self.cells = [(headers[columns[name]], columns[name]) for name in names]
        self.filename = filename
        self.found: dict[str, str] = {}  # "dmy"/"mdy"/"either" -> where it was first seen

    def note(self, number: int, values: list) -> None:
        for header, index in self.cells:
            cell = values[index] if index < len(values) else ""
            reading = numeric_date_reading(cell)
            if reading and reading not in self.found:
                self.found[reading] = f"row {number}, column {header!r}: {cell.strip()}"
        if "dmy" in self.found and "mdy" in self.found:
            raise ImportError_(
                f"{self.filename}: the dates are written both day first ({self.found['dmy']}) "
                f"and month first ({self.found['mdy']}); choose the date order (Day first or "
                "Month first) on the import form, or --date-order dmy or mdy, and import again"
            )

    def settled(self) -> tuple[str, str]:
        """The order, and the note for the report when it had to be assumed."""
        if "dmy" in self.found or "mdy" in self.found:
            return ("dmy" if "dmy" in self.found else "mdy"), ""
        if "either" in self.found:
            return "mdy", (
                f"Every numeric date in the file reads either way (e.g. {self.found['either']}), "
                "so they were read month first (3/31/2024). If the file writes the day first, "
                "import it again with the date order Day first (--date-order dmy)."
            )
        return "mdy", ""


def _import_rows(chunks, kind, context, report, progress) -> None:
    for chunk in chunks:
        _import_chunk(chunk, kind, context, report, progress)
    if kind == "history" and not context.dry_run:
        _drop_superseded(context, report, progress)
    if kind == "history":
        report.updated = len(context.history_added)
        report.unchanged = len(context.history_seen - context.history_added)
    report.closed_without_history = len(context.without_history - context.with_history)
    if report.closed_dated_today:
        report.notes.append(_dated_today_note(report))


def _dated_today_note(report: ImportReport) -> str:
    """What the report says of closed deals dated the import day (``closed_dated_today``)."""
    count = report.closed_dated_today
    today = timezone.now().astimezone(UTC).date()
    many = count > 1
    they, them, their = ("they", "them", "their") if many else ("it", "it", "its")
    were = "would be" if report.dry_run else ("were" if many else "was")
    return (
        f"{count} closed deal{'s' if many else ''} had no close date (the file has no "
        f"{CLOSE_DATE_LABEL} column, and no stage history dates the close), so {they} "
        f"{were} dated the import day, {today.day} {today:%b %Y}: the dashboard counts {them} as "
        f"closed in the last 90 days, and every touch up to today as before {their} close. "
        f"Add the {CLOSE_DATE_LABEL} column to the export and import it again to date "
        f"{them} (deals are updated by Opportunity ID, never duplicated)."
    )


@dataclass
class _Context:
    stage_map: StageMap
    headers: list[str]
    columns: dict[str, int]
    date_order: str
    dry_run: bool
    owners: dict = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    history_seen: set[int] = field(default_factory=set)
    history_added: set[int] = field(default_factory=set)
    # Closed deals of the file (external ids) without stage history after some chunk that
    # changed them, and deals with it after some chunk: history is only ever added, so a deal
    # is counted without when no chunk found it with (see _note_history).
    without_history: set[str] = field(default_factory=set)
    with_history: set[str] = field(default_factory=set)
    # A dry run only: the history rows its rolled-back chunks would have added, which a real
    # run finds in the table.
    rolled_back: set[tuple] = field(default_factory=set)
    # A history file's rows so far, as hashes of (deal id, stage, entered at): which stored
    # entries the file gave (_drop_superseded). A collision only keeps an entry.
    file_keys: set[int] = field(default_factory=set)
    # Told while a write waits for a busy database (``_busy_note``).
    busy: Callable[[float], None] | None = None


def _import_chunk(chunk, kind, context, report, progress) -> None:
    """Parse the chunk, then write it in one short transaction (rolled back in a dry run)
    with the rollup queue entries of the deals it changed; on SQLite, then let waiting
    writers in (``_writers_turn``). A write that finds the database busy is tried again
    (``patiently``), from the report and context as they were before it."""
    if kind == "history":
        parsed = _parse_history_chunk(chunk, context, report)
        write = _write_history_chunk
    else:
        parsed = _parse_deal_chunk(chunk, context, report)
        write = _write_deal_chunk
    before, rolled_back = copy.deepcopy(report), set(context.rolled_back)
    began = 0.0

    def attempt() -> None:
        nonlocal began
        if began:  # a try again: as if the failed one had never run
            for name in (f.name for f in dataclasses.fields(report)):
                setattr(report, name, copy.deepcopy(getattr(before, name)))
            context.rolled_back = set(rolled_back)
        with transaction.atomic():
            began = time.monotonic()
            changed = write(parsed, context, report)
            deals_mark_changed(deal_ids=changed)
            _note_history(changed, context)
            if context.dry_run:
                transaction.set_rollback(True)

    patiently(attempt, patience=BUSY_PATIENCE, waiting=context.busy)
    report.rows += len(chunk)  # before the pause: an interrupt there counts the chunk saved
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(_writers_turn(time.monotonic() - began))
    if progress:
        progress(report.rows)


def _writers_turn(held: float) -> float:
    """How long to pause after a chunk that held SQLite's write lock ``held`` seconds, so
    that a writer that began waiting during it gets the lock before the next chunk does.

    A waiting SQLite writer does not queue: its busy handler retries after 1, 2, 5, 10, 15,
    20, 25, 25, 25, 50, 50 ms, then every 100 ms (sqliteDefaultBusyCallback). Without a pause
    the import begins its next chunk within a few milliseconds of committing, and a writer
    that retries only now and then kept missing that gap: an events batch waited 1.1-4.8 s
    during a 20k-row import in 500-row transactions. A pause as long as the retry interval of
    a writer that has waited ``held`` lets it in; it makes an import on SQLite a quarter to a
    third slower (a 20k-row one 4.1-4.3 -> 5.4-5.9 s). PostgreSQL locks rows, and its writers
    queue: no pause there; nor inside an outer transaction, which keeps the lock anyway."""
    if held < 0.128:
        return 0.025
    if held < 0.228:
        return 0.05
    return 0.1


def _note_history(changed: dict[int, str], context: _Context) -> None:
    """Which of the chunk's changed deals (id -> external id) are closed and still have no
    stage history. Noted by external id: a dry run's new deals lose their ids on rollback.

    Each chunk sees the history the file gave before it (a dry run: only its own and what was
    stored before the import), and history is only added, so a deal found with history by any
    chunk has it at the end: the count is the same in a real run and a dry one."""
    without = deals_without_history(deal_ids=list(changed)).values_list("external_id", flat=True)
    without = set(without)
    context.without_history |= without
    context.with_history |= set(changed.values()) - without


def _cell(values: list, context: _Context, name: str):
    index = context.columns.get(name)
    if index is None or index >= len(values):
        return ""
    value = values[index]
    return value.strip() if isinstance(value, str) else value


def _row_input(number: int, values: list, context: _Context, report) -> DealInput | None:
    """Parse one row; on the first bad cell report it (row, column, reason) and return None."""
    parsers = {
        "amount": parse_amount,
        "close_date": lambda v: parse_date(v, order=context.date_order),
        "created_date": lambda v: parse_date(v, order=context.date_order),
        "stage_changed_at": lambda v: parse_datetime(v, order=context.date_order),
        "won": parse_bool,
        "closed": parse_bool,
    }
    data: dict = {"attributes": {}}
    for name in context.columns:
        if name.startswith(f"{ATTRIBUTE}:"):
            value = str(_cell(values, context, name) or "").strip()
            if value:
                data["attributes"][name.partition(":")[2]] = value
            continue
        if name == "changed_at":
            continue
        raw = _cell(values, context, name)
        try:
            data[name] = parsers[name](raw) if name in parsers else str(raw)
        except ValueError as error:
            report.error(number, context.headers[context.columns[name]], str(error))
            return None
    amount, symbol_currency = data.pop("amount", (None, ""))
    data["currency"] = data.get("currency") or symbol_currency
    data["external_id"] = deal_external_id_normalise(data.get("external_id"))
    if not data.get("external_id"):
        report.error(number, _label(context, "external_id"), "is empty")
        return None
    if problem := deal_external_id_problem(data["external_id"]):
        report.error(number, _label(context, "external_id"), problem)
        return None
    if not data.get("stage"):
        report.error(number, _label(context, "stage"), "is empty")
        return None
    deal = DealInput(amount=amount, **data)
    for name, problem in deal_input_problems(deal).items():
        column = _label(context, name) if name in context.columns else name
        if f"{ATTRIBUTE}:{name}" in context.columns:
            column = _label(context, f"{ATTRIBUTE}:{name}")
        report.error(number, column, problem)
        return None
    return deal


def _label(context: _Context, name: str) -> str:
    return context.headers[context.columns[name]]


def _accept_stage(number, stage, context, report) -> bool:
    if context.stage_map.is_known(stage):
        return True
    report.unmapped_stages[stage] = report.unmapped_stages.get(stage, 0) + 1
    report.error(
        number,
        _label(context, "stage"),
        f"stage {stage!r} is not mapped to a journey stage (add it to a buyer stage's CRM "
        "stage names in the admin)",
    )
    return False


_SNAPSHOT_FIELDS = (
    "name account amount currency stage journey_stage_id outcome close_date created_date "
    "owner_id owner_name industry segment attributes"
).split()


_UPDATE_FIELDS = [f.removesuffix("_id") for f in _SNAPSHOT_FIELDS]


def _unsaved_formula(number: int, values: list, context: _Context, report) -> bool:
    """Report the row's first imported cell that is a formula without a saved result (an
    XLSX file never calculated): reading it as empty would drop an amount or a date."""
    for name, index in context.columns.items():
        cell = values[index] if index < len(values) else ""
        if isinstance(cell, UnsavedFormula):
            report.error(
                number,
                _label(context, name),
                f"holds the formula {cell[:60]!r} but no result: open the file in a "
                "spreadsheet program, let it calculate and save it again",
            )
            return True
    return False


def _too_many_cells(number: int, values: list, context: _Context, report) -> bool:
    """Report a row with more (non-empty) cells than the header: a comma inside a value
    written without quotes ("Carter, Sam"), which splits it and shifts the rest of the row.
    Read as it was, a text column at the end lost the rest of its value without a word."""
    extra = [str(cell).strip() for cell in values[len(context.headers) :]]
    if not any(extra):
        return False
    report.error(
        number,
        "",
        f"has {len(values)} cells, the header {len(context.headers)}: a comma "
        'inside a value needs quotes ("Carter, Sam")',
    )
    return True


def _closed_without_date(number: int, data: DealInput, context: _Context, report) -> bool:
    """Report a closed deal whose Close Date cell is empty when the file has the column: a
    file of past deals that leaves it empty is not saying "it closed today", which is what
    it was read as (in the last 90 days, every touch up to today before its close)."""
    if "close_date" not in context.columns or data.close_date is not None:
        return False
    if deal_outcome(data) == Deal.Outcome.OPEN:
        return False
    report.error(
        number,
        _label(context, "close_date"),
        "empty on a closed deal: give the day it closed (an empty one would date it today)",
    )
    return True


def _parse_deal_chunk(chunk, context: _Context, report: ImportReport) -> list[DealInput]:
    parsed = []
    for number, values in chunk:
        if _too_many_cells(number, values, context, report):
            continue
        if _unsaved_formula(number, values, context, report):
            continue
        data = _row_input(number, values, context, report)
        if data is None or not _accept_stage(number, data.stage, context, report):
            continue
        if _closed_without_date(number, data, context, report):
            continue
        first = context.seen.get(data.external_id)
        if first is not None:
            report.error(
                number, _label(context, "external_id"), f"duplicate id (first on row {first})"
            )
            continue
        context.seen[data.external_id] = number
        parsed.append(data)
    return parsed


def _write_deal_chunk(parsed: list[DealInput], context: _Context, report) -> dict[int, str]:
    """Create or update the chunk's deals; returns those changed (id -> external id)."""
    existing = Deal.objects.in_bulk([d.external_id for d in parsed], field_name="external_id")
    latest = _latest_stages([deal.pk for deal in existing.values()])
    now = timezone.now()
    new, changed, changes = [], [], []
    for data in parsed:
        deal = existing.get(data.external_id)
        before = [getattr(deal, f) for f in _SNAPSHOT_FIELDS] if deal else None
        last = latest.get(deal.pk) if deal else None
        if data.stage_changed_at is None and last and _history_has_it(last[0], data.stage):
            # The history dates the stage the file gives (a closed deal's close, too).
            data = dataclasses.replace(data, stage_changed_at=last[1])
        deal, change, dated_today = deal_apply(
            deal=deal, data=data, stage_map=context.stage_map, owners=context.owners, now=now
        )
        report.closed_dated_today += dated_today
        if change is not None and _history_has_it(last and last[0], change.stage):
            change = None
        if change is not None:
            change.stand_in = data.stage_changed_at is None
            changes.append((deal, change))
        if before is None:
            new.append(deal)
        elif before != [getattr(deal, f) for f in _SNAPSHOT_FIELDS]:
            changed.append(deal)
        else:
            report.unchanged += 1
    _save_deals(new, changed, changes, context, report)
    return {deal.pk: deal.external_id for deal in new + changed}


def _latest_stages(deal_ids: list[int]) -> dict[int, tuple[str, datetime]]:
    """Each deal's latest history entry (by time), stage and when, for the deals with
    history."""
    latest = {}
    entries = DealStageChange.objects.filter(deal_id__in=deal_ids).order_by(
        "deal_id", "entered_at", "id"
    )
    for deal_id, stage, at in entries.values_list("deal_id", "stage", "entered_at").iterator():
        latest[deal_id] = (stage, at)
    return latest


def _history_has_it(latest_stage: str | None, stage: str) -> bool:
    """Whether a deals file's stage is already the deal's latest history entry's (a history
    file imported since, or before, the deal's stored stage was set): the deals file knows
    no moment for it, so an entry of its own would repeat the stage at the import's time."""
    return latest_stage is not None and latest_stage.casefold() == stage.casefold()


def _save_deals(new, changed, changes, context, report) -> None:
    for deal in new + changed:
        try:
            deal.full_clean(exclude=["external_id", "owner", "journey_stage"])
        except ValidationError as error:  # pragma: no cover - parsers keep values valid
            raise ImportError_(f"deal {deal.external_id}: {error}") from None
    # A dry run runs beside real imports: one may store a deal of this chunk after the chunk
    # looked it up (PostgreSQL: the insert waits for that commit, then fails). The dry run,
    # which keeps nothing anyway, skips it; its report counts the deal new, as it found it.
    Deal.objects.bulk_create(new, batch_size=500, ignore_conflicts=context.dry_run)
    if changed:
        now = timezone.now()
        for deal in changed:
            deal.updated_at = now
        Deal.objects.bulk_update(changed, [*_UPDATE_FIELDS, "updated_at"], batch_size=500)
    report.created += len(new)
    report.updated += len(changed)
    if new and new[0].pk is None:  # backends without RETURNING on bulk insert
        ids = dict(
            Deal.objects.filter(external_id__in=[d.external_id for d in new]).values_list(
                "external_id", "id"
            )
        )
        for deal in new:
            deal.pk = deal.id = ids[deal.external_id]
    if not changes:
        return
    rows = []
    for deal, change in changes:
        change.deal_id = deal.pk
        rows.append(change)
    DealStageChange.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    report.history_added += len(rows)
    deals_refresh_reached(
        deal_ids=[deal.pk for deal, _ in changes] + [d.pk for d in changed],
        stage_map=context.stage_map,
    )


def _parse_history_chunk(chunk, context: _Context, report: ImportReport) -> list[tuple]:
    """The chunk's stage changes; a change dated ahead of now (beyond ``EVENT_CLOCK_SKEW``,
    as for events) is refused: it has not happened, and as a deal's latest it would hold the
    deal in that stage against every real change until its date passed."""
    latest = timezone.now() + EVENT_CLOCK_SKEW
    parsed = []
    for number, values in chunk:
        if _too_many_cells(number, values, context, report):
            continue
        if _unsaved_formula(number, values, context, report):
            continue
        external_id = deal_external_id_normalise(_cell(values, context, "external_id"))
        stage = str(_cell(values, context, "stage")).strip()
        too_long = deal_input_problems(DealInput(external_id=external_id, stage=stage))
        if too_long:
            name, problem = next(iter(too_long.items()))
            report.error(number, _label(context, name), problem)
            continue
        try:
            when = parse_datetime(_cell(values, context, "changed_at"), order=context.date_order)
        except ValueError as error:
            report.error(number, _label(context, "changed_at"), str(error))
            continue
        if not external_id or not stage or when is None:
            empty = "external_id" if not external_id else "stage" if not stage else "changed_at"
            report.error(number, _label(context, empty), "is empty")
            continue
        if when > latest:
            minutes = int(EVENT_CLOCK_SKEW.total_seconds() // 60)
            reason = f"{when.isoformat()} is in the future (more than {minutes} minutes from now)"
            report.error(number, _label(context, "changed_at"), reason)
            continue
        if _accept_stage(number, stage, context, report):
            parsed.append((number, external_id, stage, when))
    return parsed


def _day_stand_ins(stored: dict[tuple, int], keys: set[tuple]) -> list[int]:
    """The stored entries the history replaces: a deals file knows only the close date, so
    a closed deal it creates enters its closing stage at midnight UTC of that day
    (``services._closing_moment``). The history's entry of the same stage on that day is
    the real moment; kept beside it, the stand-in ended the last stay at midnight, and a touch
    made earlier on the close day counted as between stages."""
    days = {(deal_id, stage, at.astimezone(UTC).date()) for deal_id, stage, at in keys}
    return [
        pk
        for (deal_id, stage, at), pk in stored.items()
        if at.astimezone(UTC).time() == datetime.min.time()
        and (deal_id, stage, at.astimezone(UTC).date()) in days
        and (deal_id, stage, at) not in keys
    ]


def _write_history_chunk(parsed: list[tuple], context: _Context, report) -> dict[int, str]:
    """Add the chunk's stage history; returns the deals given new entries (id -> external
    id)."""
    deals = Deal.objects.in_bulk([p[1] for p in parsed], field_name="external_id")
    rows, keys = [], set()
    for number, external_id, stage, when in parsed:
        deal = deals.get(external_id)
        if deal is None:
            report.error(number, _label(context, "external_id"), f"no deal {external_id!r}")
            continue
        journey = context.stage_map.journey(stage)
        rows.append(DealStageChange(deal=deal, stage=stage, journey_stage=journey, entered_at=when))
        keys.add((deal.pk, stage, when))
    touched = {row.deal_id for row in rows}
    entries = DealStageChange.objects.filter(deal_id__in=touched)
    stored = {
        (deal_id, stage, at): pk
        for pk, deal_id, stage, at in entries.values_list("pk", "deal_id", "stage", "entered_at")
    }
    stand_ins = _day_stand_ins(stored, keys)
    DealStageChange.objects.filter(pk__in=stand_ins).delete()
    context.file_keys |= {hash(key) for key in keys}
    added = keys - set(stored)
    if context.dry_run:
        added -= context.rolled_back
        context.rolled_back |= added
    DealStageChange.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    report.history_added += len(added)
    context.history_seen |= touched
    context.history_added |= {deal_id for deal_id, _, _ in added}
    deals_refresh_reached(deal_ids=[row.deal_id for row in rows], stage_map=context.stage_map)
    external_ids = {deal.pk: deal.external_id for deal in deals.values()}
    return {deal_id: external_ids[deal_id] for deal_id, _, _ in added}


def _drop_superseded(context: _Context, report: ImportReport, progress) -> None:
    """After a history file: delete the stored entries of its deals that the file supersedes
    (``_superseded``), in ``CHUNK``-deal transactions. Run once the whole file is written,
    since a deal's rows may fall in several chunks.

    Such an entry is a deals file's record of the deal's stage for want of history, dated at
    that file's import (or at midnight of its close date): left beside the history it showed
    the import as a stage change in the history export, or a close a day early. The report
    counts the rows the file adds, as before; a dry run, whose rows were rolled back, has
    nothing to compare with and skips this."""
    ids = sorted(context.history_seen)
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        began = time.monotonic()

        def attempt(part=part) -> None:
            with transaction.atomic():
                entries = DealStageChange.objects.filter(deal_id__in=part).order_by(
                    "deal_id", "entered_at", "id"
                )
                rows = entries.values_list("pk", "deal_id", "stage", "entered_at", "stand_in")
                doomed = _superseded(rows, context.file_keys)
                if doomed:
                    DealStageChange.objects.filter(pk__in=list(doomed)).delete()
                    deals_mark_changed(deal_ids=doomed.values())
                    deals_refresh_reached(deal_ids=doomed.values(), stage_map=context.stage_map)

        patiently(attempt, patience=BUSY_PATIENCE, waiting=context.busy)
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            time.sleep(_writers_turn(time.monotonic() - began))
        if progress:
            progress(report.rows)


def _superseded(entries, file_keys: set[int]) -> dict[int, int]:
    """Of ``entries`` (pk, deal id, stage, entered at, stand-in; by deal, in time order), those
    a history file supersedes (pk -> deal id):
    - an entry the file does not give that lies between two of the file's entries of the
      deal (the file holds every change of its period);
    - after the file's last one, an entry repeating the stage the deal was in (the file
      dates that stage);
    - after the file's last one, a deals file's stand-ins up to the last of a stage the file
      has the deal enter before it: that deals file, and any imported before it, was exported
      before the change the history shows since.
    A repeat the file gives itself (Salesforce logs a row when an amount changes) is the
    file's and kept; so are the changes the webhook sent since, and the stand-ins after all
    of those of stages the file dates (a deals file saw a move the history does not reach).

    The one case this gets wrong: a deal sent back to an earlier stage after the history was
    exported, seen by a deals file imported before that history. That stand-in goes until
    the next history file dates the move."""
    doomed = {}
    for deal_id, rows in groupby(entries, key=lambda row: row[1]):
        rows = [
            (pk, stage, stand_in, hash((deal_id, stage, at)) in file_keys)
            for pk, _, stage, at, stand_in in rows
        ]
        given = [index for index, (*_, in_file) in enumerate(rows) if in_file]
        if not given:
            continue
        dated = {stage.casefold() for _, stage, _, in_file in rows if in_file}
        older = [
            index
            for index, (_, entry_stage, stand_in, _) in enumerate(rows)
            if index > given[-1] and stand_in and entry_stage.casefold() in dated
        ]
        stage = None  # the deal's stage after the last entry kept
        for index, (pk, entry_stage, stand_in, in_file) in enumerate(rows):
            after_last = index > given[-1]
            repeat = after_last and entry_stage.casefold() == stage.casefold()
            stale = after_last and stand_in and bool(older) and index <= older[-1]
            if not in_file and given[0] < index and (not after_last or repeat or stale):
                doomed[pk] = deal_id
                continue
            stage = entry_stage
    return doomed
