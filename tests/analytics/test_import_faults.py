"""Deal imports under faults (outside audit 47, F1, F2, F3, F5, F9, F10): a Windows-1252 file
whose first accented letter comes late, a missing column, Ctrl-C or SIGTERM in the middle, a
database another writer holds past the busy timeout, closed deals without a close date, and a
CSV file's structural slips (an unquoted comma, two columns for one field, no data rows). Each
says what was saved and what to do, with no traceback, nothing silently corrupted, and no
import lock left behind."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from datetime import UTC, date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD
from analytics import import_jobs, imports, locks, services
from analytics.import_jobs import import_job_create
from analytics.imports import ImportError_, deal_import_file
from analytics.models import Deal, ImportJob, JobLock
from tests.factories import make_user
from tests.locks import short_busy_timeout, table_held_busy

HEADER = "Opportunity ID,Opportunity Name,Account Name,Amount,Stage\n"


def _rows(count: int, prefix: str = "F") -> str:
    return "".join(f"{prefix}{n},Deal {n},Account {n},100,Prospecting\n" for n in range(count))


# --- F1: the encoding is judged on the whole file ------------------------------------------


@pytest.mark.django_db
def test_a_windows_1252_letter_after_the_first_64_kb_is_read_as_windows_1252():
    """The first 64 KB are ASCII, so they read as UTF-8; the accented name on row 2,002 was
    stored as "M\\ufffdller GmbH" with no word."""
    ascii_part = (HEADER + _rows(2000)).encode()
    assert len(ascii_part) > 65536
    late = "LATE,Deal,Müller GmbH,100,Prospecting\n".encode("cp1252")
    report = deal_import_file(io.BytesIO(ascii_part + late), "export.csv")
    assert (report.created, report.errors) == (2001, [])
    assert Deal.objects.get(external_id="LATE").account == "Müller GmbH"


@pytest.mark.django_db
def test_a_byte_the_files_encoding_cannot_read_refuses_the_file_naming_row_and_column():
    """0x81 is no letter in Windows-1252; after UTF-8 letters, a Windows-1252 one is a mixed
    file. Either was stored as U+FFFD."""
    cp1252 = (HEADER + "W1,Café,Société,100,Prospecting\n").encode("cp1252")
    with pytest.raises(ImportError_) as refused:
        deal_import_file(io.BytesIO(cp1252 + b"W2,Deal,A\x81B,100,Prospecting\n"), "w.csv")
    assert str(refused.value).startswith(
        "w.csv: row 3, column 'Account Name': the byte 0x81 is not Windows-1252 text"
    )
    utf8 = (HEADER + "U1,Café,Société,100,Prospecting\n" + _rows(3000)).encode()
    mixed = utf8 + "U2,Deal,Müller,100,Prospecting\n".encode("cp1252")
    with pytest.raises(ImportError_, match=r"row 3003, column 'Account Name': the byte 0xFC"):
        deal_import_file(io.BytesIO(mixed), "mixed.csv")
    assert not Deal.objects.exists()


# --- F3: a missing column names the file ---------------------------------------------------


@pytest.mark.django_db
def test_a_missing_column_is_refused_naming_the_file_first(tmp_path):
    path = tmp_path / "missing.csv"
    path.write_text("Opportunity Name,Amount,Stage\nAcme,1,Prospecting\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_deals", str(path), stdout=io.StringIO())
    assert str(refused.value) == (
        "missing.csv: missing required column(s): Opportunity ID "
        "(found: Opportunity Name, Amount, Stage)"
    )


# --- F2: Ctrl-C and SIGTERM say what was saved ---------------------------------------------


def _stopped_in_third_chunk(monkeypatch, stop) -> None:
    """Two rows a chunk; ``stop()`` runs inside the third chunk's transaction."""
    monkeypatch.setattr(imports, "CHUNK", 2)
    mark_changed = imports.deals_mark_changed
    calls = []

    def third_stops(*, deal_ids):
        calls.append(1)
        if len(calls) == 3:
            stop()
        mark_changed(deal_ids=deal_ids)

    monkeypatch.setattr(imports, "deals_mark_changed", third_stops)


def _refreshes(monkeypatch) -> list:
    asked = []
    monkeypatch.setattr(
        "analytics.management.commands.import_deals.analytics_refresh_request",
        lambda **kwargs: asked.append(kwargs),
    )
    return asked


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt


@pytest.mark.django_db
@pytest.mark.parametrize(
    "stop",
    [_raise_keyboard_interrupt, lambda: os.kill(os.getpid(), signal.SIGTERM)],
    ids=["ctrl-c", "sigterm"],
)
def test_an_interrupted_command_says_how_many_rows_were_saved_and_how_to_finish(
    tmp_path, monkeypatch, stop
):
    """It printed a KeyboardInterrupt traceback (SIGTERM: nothing at all) and left 4 of the 6
    rows saved without saying so, and asked for no refresh for them."""
    path = tmp_path / "deals.csv"
    path.write_text(HEADER + _rows(6))
    _stopped_in_third_chunk(monkeypatch, stop)
    asked = _refreshes(monkeypatch)
    out = io.StringIO()
    sigterm = signal.getsignal(signal.SIGTERM)
    with pytest.raises(CommandError) as stopped:
        call_command("import_deals", str(path), stdout=out)
    assert stopped.value.returncode == 130
    assert str(stopped.value) == (
        "Interrupted. 4 rows were saved, the rest were not; import the same file again to "
        "finish (rows are matched by Opportunity ID, never duplicated)."
    )
    assert Deal.objects.count() == 4 and not JobLock.objects.exists()
    assert len(asked) == 1 and "Analytics refresh requested." in out.getvalue()
    assert signal.getsignal(signal.SIGTERM) == sigterm  # given back
    monkeypatch.undo()
    call_command("import_deals", str(path), "--no-update", stdout=out)
    assert Deal.objects.count() == 6


@pytest.mark.django_db
def test_an_interrupted_dry_run_says_it_saved_nothing(tmp_path, monkeypatch):
    path = tmp_path / "deals.csv"
    path.write_text(HEADER + _rows(6))
    _stopped_in_third_chunk(monkeypatch, _raise_keyboard_interrupt)
    asked = _refreshes(monkeypatch)
    with pytest.raises(CommandError, match=r"^Interrupted\. A dry run saves nothing"):
        call_command("import_deals", str(path), "--dry-run", stdout=io.StringIO())
    assert not Deal.objects.exists() and asked == []


# --- F5: a database held past the busy timeout ---------------------------------------------


def _held_after_first_chunk(monkeypatch, *, until: threading.Event | None = None, seconds=2.0):
    """Once the first chunk is saved and the lock touched, another connection holds the
    database (SQLite) or the deals table (PostgreSQL) for ``seconds``, or until ``until`` is
    set; returns the event set once it holds it."""
    taken = threading.Event()
    touch = locks.Held.touch

    def hold():
        with table_held_busy(Deal):
            taken.set()
            if until is not None:
                until.wait(30)
            else:
                time.sleep(seconds)

    def touch_then_hold(self):
        touch(self)
        if not taken.is_set():
            threading.Thread(target=hold).start()
            assert taken.wait(10)

    monkeypatch.setattr(locks.Held, "touch", touch_then_hold)
    monkeypatch.setattr(imports, "CHUNK", 2)
    monkeypatch.setattr(locks, "BUSY_PAUSE", 0.1)
    return taken


def _patience(monkeypatch, seconds: float) -> None:
    for module in (locks, imports):
        monkeypatch.setattr(module, "BUSY_PATIENCE", timedelta(seconds=seconds))
    monkeypatch.setitem(import_jobs.PATIENT, "patience", timedelta(seconds=seconds))


def _freed_on_release(monkeypatch) -> threading.Event:
    """An event set when the import begins to release its lock: the other writer lets go
    then, so the release itself still meets the database busy a moment."""
    freed = threading.Event()
    release = locks.Held.release

    def release_once_freed(self):
        freed.set()
        release(self)

    monkeypatch.setattr(locks.Held, "release", release_once_freed)
    return freed


@pytest.mark.django_db(transaction=True)
def test_the_command_waits_out_a_database_held_past_the_busy_timeout_and_finishes(
    tmp_path, monkeypatch
):
    """The second chunk met "database is locked": a traceback, 2 of 6 rows saved, and the
    lock left behind (its delete met the same lock), so every retry was "already running"."""
    path = tmp_path / "deals.csv"
    path.write_text(HEADER + _rows(6))
    _held_after_first_chunk(monkeypatch, seconds=1.5)
    out = io.StringIO()
    with short_busy_timeout(0.3):
        call_command("import_deals", str(path), "--no-update", stdout=out)
    assert Deal.objects.count() == 6 and not JobLock.objects.exists()
    printed = out.getvalue()
    assert "The database is busy (another program is writing to it): 2 rows saved so far" in printed
    assert "trying again for up to 5 minutes" in printed
    assert "Imported 6 rows: 6 created" in printed


@pytest.mark.django_db(transaction=True)
def test_a_database_busy_beyond_the_imports_patience_says_what_was_saved(tmp_path, monkeypatch):
    path = tmp_path / "deals.csv"
    path.write_text(HEADER + _rows(6))
    freed = _freed_on_release(monkeypatch)
    _held_after_first_chunk(monkeypatch, until=freed)
    _patience(monkeypatch, 1)
    asked = _refreshes(monkeypatch)
    with short_busy_timeout(0.3), pytest.raises(CommandError) as stopped:
        call_command("import_deals", str(path), stdout=io.StringIO())
    assert str(stopped.value) == (
        "deals.csv: the database stayed busy for over 1 seconds (another program was writing "
        "to it), so the import stopped. 2 rows were saved, the rest were not; import the same "
        "file again to finish (rows are matched by Opportunity ID, never duplicated)."
    )
    assert Deal.objects.count() == 2 and len(asked) == 1
    assert not JobLock.objects.exists()  # released though the database was busy a moment
    monkeypatch.undo()
    call_command("import_deals", str(path), "--no-update", stdout=io.StringIO())
    assert Deal.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_released_when_its_release_meets_the_database_busy(monkeypatch):
    """The other writer takes the database after the last chunk: the next write is the
    lock's release."""
    taken = _held_after_first_chunk(monkeypatch, seconds=1.0)
    with short_busy_timeout(0.3):
        report = deal_import_file(io.BytesIO((HEADER + _rows(2)).encode()), "deals.csv")
    assert taken.is_set() and report.created == 2
    assert not JobLock.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_chunk_tried_again_is_counted_once(monkeypatch):
    """PostgreSQL's lock timeout can strike inside a chunk, after the report counted it: the
    try again starts from the report as it was."""
    monkeypatch.setattr(imports, "CHUNK", 2)
    monkeypatch.setattr(locks, "BUSY_PAUSE", 0)
    mark_changed = imports.deals_mark_changed
    calls = []

    def busy_once(*, deal_ids):
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("database is locked")
        mark_changed(deal_ids=deal_ids)

    monkeypatch.setattr(imports, "deals_mark_changed", busy_once)
    Deal.objects.create(external_id="F2", name="Old", stage="Prospecting")
    report = deal_import_file(io.BytesIO((HEADER + _rows(6)).encode()), "deals.csv")
    assert (report.rows, report.created, report.updated, len(calls)) == (6, 5, 1, 4)
    assert Deal.objects.count() == 6


def _dashboard_import(rows: int) -> ImportJob:
    """Upload a file as the import page does; the immediate task backend runs the job at
    once (no transaction here, so on commit is now)."""
    upload = SimpleUploadedFile("deals.csv", (HEADER + _rows(rows)).encode())
    user = make_user(role=ENABLEMENT_LEAD)
    job = import_job_create(
        user=user, upload=upload, kind="deals", dry_run=False, mapping="", date_order="auto"
    )
    job.refresh_from_db()
    return job


@pytest.mark.django_db(transaction=True)
def test_a_dashboard_import_waits_out_a_busy_database_and_finishes(monkeypatch):
    """The job failed as "OperationalError: database is locked", its file deleted."""
    _held_after_first_chunk(monkeypatch, seconds=1.5)
    with short_busy_timeout(0.3):
        job = _dashboard_import(6)
    assert (job.status, job.rows_read, job.error) == ("done", 6, "")
    assert Deal.objects.count() == 6 and not JobLock.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dashboard_import_the_database_stays_busy_for_fails_saying_what_was_saved(
    monkeypatch,
):
    freed = _freed_on_release(monkeypatch)
    _held_after_first_chunk(monkeypatch, until=freed)
    _patience(monkeypatch, 1)
    with short_busy_timeout(0.3):
        job = _dashboard_import(6)
    assert job.status == "failed" and job.rows_read == 2
    assert "the database stayed busy" in job.error
    assert "2 rows were saved, the rest were not; import the same file again" in job.error
    assert Deal.objects.count() == 2 and not JobLock.objects.exists()
    page = _lead_client().get(f"/analytics/import/{job.pk}/").content.decode()
    assert "The import failed" in page and "2 rows were saved" in page


# --- F5, the dashboard side: a queued job says what it waits for ---------------------------


def _lead_client() -> Client:
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


@pytest.mark.django_db
def test_a_queued_import_says_which_import_it_waits_for_and_since_when():
    """It said only "Waiting to start…" while another import held the lock (or a dead one's
    lock waited to go stale), and each retry kept the stalled-worker warning away."""
    now = timezone.now()
    lock = JobLock.objects.create(name="import_deals", acquired_at=now - timedelta(minutes=1))
    first = ImportJob.objects.create(
        file_name="first.csv", status="running", started_at=now - timedelta(minutes=3)
    )
    queued = ImportJob.objects.create(file_name="second.csv")
    client = _lead_client()
    page = client.get(f"/analytics/import/{queued.pk}/").content.decode()
    started = timezone.localtime(first.started_at)
    free_at = timezone.localtime(lock.acquired_at + imports.LOCK_STALE_AFTER)
    assert "Waiting for another import to finish: " in page
    assert f'<a href="/analytics/import/{first.pk}/">first.csv</a>' in page
    assert f"running since {started:%-d %b %Y %H:%M:%S}" in page
    assert f"if it has stopped, from {free_at:%H:%M}, when its lock is released" in page
    assert 'id="import-unstarted"' not in page
    # A run from the terminal holds it: no job of the dashboard is running.
    ImportJob.objects.filter(pk=first.pk).update(status="done")
    page = client.get(f"/analytics/import/{queued.pk}/").content.decode()
    assert "one run from the terminal (<code>manage.py import_deals</code>)" in page
    # No worker has tried it for a while: the warning still shows, beside the wait.
    long_ago = now - timedelta(minutes=30)
    ImportJob.objects.filter(pk=queued.pk).update(updated_at=long_ago)
    page = client.get(f"/analytics/import/{queued.pk}/").content.decode()
    assert "Waiting for another import to finish" in page
    since = timezone.localtime(long_ago)
    assert f"No worker has taken it up since {since:%-d %b %Y %H:%M:%S}" in page
    assert "the task worker (<code>manage.py db_worker</code>) may be stopped" in page
    # Nothing holds the lock: nothing to wait for.
    lock.delete()
    page = client.get(f"/analytics/import/{queued.pk}/").content.decode()
    assert "Waiting to start…" in page and "Waiting for another import" not in page


@pytest.mark.django_db
def test_already_running_says_from_when_a_stopped_imports_lock_is_released(tmp_path):
    acquired = timezone.now() - timedelta(minutes=4)
    JobLock.objects.create(name="import_deals", acquired_at=acquired)
    path = tmp_path / "deals.csv"
    path.write_text(HEADER + _rows(1))
    free_at = timezone.localtime(acquired + imports.LOCK_STALE_AFTER)
    with pytest.raises(CommandError) as refused:
        call_command("import_deals", str(path), stdout=io.StringIO())
    assert str(refused.value) == (
        "import_deals is already running; try again when it has finished (if it has "
        f"stopped, from {free_at:%H:%M}, when its lock is released)"
    )


# --- F9: a closed deal without a close date is not silently dated the import day ----------


@pytest.mark.django_db
def test_a_closed_deal_with_an_empty_close_date_cell_is_refused_naming_row_and_column():
    """Read as it was, the deal closed on the import day: in the last 90 days, and every
    touch up to today counted as before its close. An open deal may leave it empty."""
    text = (
        "Opportunity ID,Stage,Close Date,Closed,Won\n"
        "CD1,Closed Won,,,\n"
        "CD2,Prospecting,,,\n"
        "CD3,Closed Lost,2024-03-15,,\n"
        "CD4,Negotiation/Review,,yes,no\n"
    )
    report = deal_import_file(io.BytesIO(text.encode()), "past.csv")
    empty = "empty on a closed deal: give the day it closed (an empty one would date it today)"
    assert report.errors == [(2, "Close Date", empty), (5, "Close Date", empty)]
    assert sorted(Deal.objects.values_list("external_id", flat=True)) == ["CD2", "CD3"]
    assert (report.closed_dated_today, report.notes) == (0, [])


@pytest.mark.django_db
def test_closed_deals_of_a_file_without_a_close_date_column_are_dated_today_and_reported():
    text = "Opportunity ID,Stage\nND1,Closed Won\nND2,Closed Lost\nND3,Prospecting\n"
    dry = deal_import_file(io.BytesIO(text.encode()), "noclose.csv", dry_run=True)
    assert dry.closed_dated_today == 2 and "would be dated the import day" in dry.notes[0]
    report = deal_import_file(io.BytesIO(text.encode()), "noclose.csv")
    today = timezone.now().astimezone(UTC).date()
    assert report.closed_dated_today == 2
    assert report.notes == [
        "2 closed deals had no close date (the file has no Close Date column, and no stage "
        f"history dates the close), so they were dated the import day, {today:%-d %b %Y}: the "
        "dashboard counts them as closed in the last 90 days, and every touch up to today as "
        "before their close. Add the Close Date column to the export and import it again to "
        "date them (deals are updated by Opportunity ID, never duplicated)."
    ]
    assert Deal.objects.get(external_id="ND1").close_date == today
    # Imported again, they keep their (stored) close: nothing is dated anew.
    again = deal_import_file(io.BytesIO(text.encode()), "noclose.csv")
    assert (again.closed_dated_today, again.notes) == (0, [])


@pytest.mark.django_db
def test_the_history_dates_the_close_of_a_deal_whose_file_has_no_close_date_column(tmp_path):
    deal_import_file(
        io.BytesIO(b"Opportunity ID,Stage\nHD1,Prospecting\nHD2,Prospecting\n"), "a.csv"
    )
    history = (
        "Opportunity ID,To Stage,Last Modified\n"
        "HD1,Prospecting,2024-01-02\nHD1,Closed Won,2024-02-03 15:00\n"
        "HD2,Prospecting,2024-01-02\n"
    )
    deal_import_file(io.BytesIO(history.encode()), "h.csv", kind="history")
    path = tmp_path / "later.csv"
    path.write_text("Opportunity ID,Stage\nHD1,Closed Won\nHD2,Closed Lost\n")
    out = io.StringIO()
    call_command("import_deals", str(path), "--no-update", stdout=out)
    # HD1's close is the history's; HD2 closed after the history was exported: no date.
    assert Deal.objects.get(external_id="HD1").close_date == date(2024, 2, 3)
    today = timezone.now().astimezone(UTC).date()
    assert Deal.objects.get(external_id="HD2").close_date == today
    assert "1 closed deal had no close date" in out.getvalue()
    assert "so it was dated the import day" in out.getvalue()


@pytest.mark.django_db
def test_the_webhook_still_closes_a_deal_today_when_it_gives_no_date():
    deal, _ = services.deal_upsert(data=services.DealInput(external_id="WH1", stage="Closed Won"))
    assert deal.close_date == timezone.now().astimezone(UTC).date()


# --- F10: structural slips of a CSV file ----------------------------------------------------


@pytest.mark.django_db
def test_a_row_with_more_cells_than_the_header_is_refused_naming_the_row(tmp_path):
    """An unquoted comma in the last column: "Carter, Sam" was imported as "Carter"."""
    path = tmp_path / "ragged.csv"
    path.write_text(
        "Opportunity ID,Stage,Amount,Close Date,Owner\n"
        "RG1,Prospecting,10,2026-01-15,Lee\n"
        "RG2,Prospecting,10,2026-01-15,Carter, Sam\n"
        "RG3,Prospecting,10,2026-01-15,Lee,\n"  # a trailing empty cell loses nothing
    )
    err = io.StringIO()
    call_command("import_deals", str(path), "--no-update", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == (
        'row 3 has 6 cells, the header 5: a comma inside a value needs quotes ("Carter, Sam")\n'
    )
    assert sorted(Deal.objects.values_list("external_id", flat=True)) == ["RG1", "RG3"]
    history = "Opportunity ID,To Stage,Last Modified\nRG1,Needs Analysis,2026-01-02,x\n"
    report = deal_import_file(io.BytesIO(history.encode()), "h.csv", kind="history")
    assert report.errors == [(2, "", report.errors[0][2])] and not report.history_added


@pytest.mark.django_db
def test_two_columns_for_one_field_refuse_the_file_naming_both():
    text = "Opportunity ID,Stage,Stage Name,Amount\nDH1,Closed Won,Prospecting,10\n"
    with pytest.raises(ImportError_) as refused:
        deal_import_file(io.BytesIO(text.encode()), "dupheader.csv")
    assert str(refused.value) == (
        "dupheader.csv: the columns 'Stage' and 'Stage Name' both give the deal's Stage: "
        "delete one of them (or map one to another field, e.g. 'Header = attribute') and "
        "import again"
    )
    assert not Deal.objects.exists()
    # Mapped elsewhere, the second column is kept as an attribute.
    report = deal_import_file(
        io.BytesIO(text.replace("Closed Won", "Prospecting").encode()),
        "dupheader.csv",
        mapping={"stage name": "attribute"},
    )
    assert report.created == 1
    assert Deal.objects.get().attributes == {"Stage Name": "Prospecting"}


@pytest.mark.django_db
def test_a_file_with_only_its_header_is_refused_as_having_no_data_rows():
    for text in (HEADER, HEADER + "\n,,,,\n"):
        with pytest.raises(ImportError_) as refused:
            deal_import_file(io.BytesIO(text.encode()), "headeronly.csv")
        assert str(refused.value) == (
            "headeronly.csv: the file has no data rows, only its header: nothing to import"
        )


@pytest.mark.django_db
def test_the_jobs_page_shows_a_row_with_too_many_cells_and_closes_dated_today(
    django_capture_on_commit_callbacks,
):
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    text = "Opportunity ID,Stage,Owner\nJP1,Closed Won,Lee\nJP2,Prospecting,Carter, Sam\n"
    upload = SimpleUploadedFile("deals.csv", text.encode())
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            "/analytics/import/", {"file": upload, "kind": "deals", "date_order": "auto"}
        )
    page = client.get(posted.url).content.decode()
    assert "1 closed deal had no close date (the file has no Close Date column" in page
    assert "<td>3</td><td></td><td>has 4 cells, the header 3: a comma inside a value" in page
