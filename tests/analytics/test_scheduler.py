"""The analytics scheduler's periodic jobs: which are registered, how often each runs, and
that one failing leaves the others running."""

import datetime
import io
import logging
import threading
import time
from unittest import mock

import psycopg
import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, connection, connections
from django.utils import timezone

from accounts.roles import MARKETER
from analytics.management.commands import analytics_scheduler
from analytics.management.commands.analytics_scheduler import (
    PERIODIC_JOBS,
    REMINDERS_EVERY_SECONDS,
    loop_tick,
    owner_reminders,
    periodic_jobs_run,
    stuck_documents_retry,
)
from cms import documents
from cms.documents import AUTOMATIC_RETRIES, processing_stuck_after
from cms.models import LibraryDocument
from notifications.models import Notification
from tests.cms.builders import make_pdf
from tests.factories import make_asset, make_document, make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures


def test_owner_reminders_are_registered_to_run_at_least_daily():
    assert (REMINDERS_EVERY_SECONDS, owner_reminders) in PERIODIC_JOBS
    assert REMINDERS_EVERY_SECONDS <= 24 * 3600


def stuck_document() -> LibraryDocument:
    """A document left pending by a worker killed mid-file, queued long enough ago."""
    document = make_document("scan.pdf", make_pdf(["Scanned"]))
    LibraryDocument.objects.filter(pk=document.pk).update(
        extraction_status=LibraryDocument.Status.PENDING,
        queued_at=timezone.now() - processing_stuck_after() - datetime.timedelta(minutes=1),
    )
    return document


def stuck_period_later(periods: int):
    """The clock moved on by ``periods`` stuck periods (and a minute)."""
    later = timezone.now() + (processing_stuck_after() + datetime.timedelta(minutes=1)) * periods
    return mock.patch("django.utils.timezone.now", return_value=later)


@pytest.fixture
def scheduled(monkeypatch) -> list[int]:
    """The ids of the documents the scheduler queues for processing, in order (nothing is
    processed)."""
    queued = []
    monkeypatch.setattr(
        analytics_scheduler,
        "document_schedule_processing",
        lambda *, document_id: queued.append(document_id),
    )
    return queued


@pytest.mark.django_db
def test_a_stuck_document_is_processed_again_once_per_stuck_period(scheduled):
    assert any(job is stuck_documents_retry for _, job in PERIODIC_JOBS)
    document = stuck_document()
    fresh = make_document("fresh.pdf", make_pdf(["Fresh"]))
    LibraryDocument.objects.filter(pk=fresh.pk).update(
        extraction_status=LibraryDocument.Status.PENDING, queued_at=timezone.now()
    )

    stuck_documents_retry()
    stuck_documents_retry()  # a second scheduler, or the next tick

    assert scheduled == [document.pk]
    document.refresh_from_db()
    assert document.extraction_status == LibraryDocument.Status.PENDING


@pytest.mark.django_db
def test_a_document_that_stays_stuck_is_marked_failed_after_the_automatic_retries(scheduled):
    document = stuck_document()

    stuck_documents_retry()
    for period in range(1, AUTOMATIC_RETRIES + 1):
        with stuck_period_later(period):
            stuck_documents_retry()

    assert scheduled == [document.pk] * AUTOMATIC_RETRIES
    document.refresh_from_db()
    assert document.extraction_status == LibraryDocument.Status.FAILED
    assert "Processing never finished" in document.extraction_error
    assert "Process again" in document.extraction_error


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_claim_each_stuck_document_once(monkeypatch):
    """The second scheduler starts while the first has read the stuck documents and not yet
    claimed them (the claim's ``F`` expression is built between the two); each document is
    still scheduled once."""
    documents_ = [stuck_document().pk, stuck_document().pk]
    scheduled, errors = [], []
    monkeypatch.setattr(
        analytics_scheduler,
        "document_schedule_processing",
        lambda *, document_id: scheduled.append(document_id),
    )

    def scheduler():
        try:
            stuck_documents_retry()
        except Exception as error:  # re-raised by the assert below
            errors.append(error)
        finally:
            connection.close()

    second = threading.Thread(target=scheduler)
    claim_expression = documents.F

    def second_starts_meanwhile(name):
        if second.ident is None:
            second.start()
            time.sleep(0.5)  # the second scheduler reads and claims now, if it can
        return claim_expression(name)

    monkeypatch.setattr(documents, "F", second_starts_meanwhile)
    stuck_documents_retry()
    second.join(30)

    assert not errors
    assert sorted(scheduled) == sorted(documents_)


def _cut_off(conn):
    """What a database restart does to the connection a long-running process holds (``conn``:
    this thread's own, not the proxy)."""
    if conn.vendor == "postgresql":
        with pytest.raises(OperationalError), conn.cursor() as cursor:  # ended at once
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    else:  # no server to restart: the connection goes away under Django
        conn.connection.close()
        # The tests' in-memory database ignores close() (it would be lost); another thread
        # keeps it alive here, so this connection may close and reconnect as a file's does.
        conn.is_in_memory_db = lambda: False


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_carries_on_after_a_database_restart_cut_its_connection(monkeypatch):
    """The loop's connection, cut by a restart, is replaced by the next tick or the one after,
    rather than every tick failing on it for good (the process stays up, so nothing would
    restart it)."""
    monkeypatch.setattr(analytics_scheduler, "PERIODIC_JOBS", [])  # only the tick itself
    ticks, errors = [], []

    def scheduler():  # a thread: its own connection, as the scheduler process has
        try:
            state: dict = {}
            ticks.append(loop_tick(state))
            _cut_off(connections["default"])
            ticks.extend(loop_tick(state) for _ in range(3))
        except Exception as error:  # re-raised by the assert below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=scheduler)
    thread.start()
    thread.join(60)
    assert not errors
    assert ticks[0] is True and ticks[-2:] == [True, True]


class _Stopped(Exception):
    """Ends the scheduler's endless loop in a test."""


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_keeps_running_while_the_database_is_down_and_ticks_once_it_is_back(
    monkeypatch, caplog
):
    """For three ticks the server refuses connections (as psycopg reports a stopped
    PostgreSQL); the process does not exit, and the next ticks work again."""
    caplog.set_level(logging.INFO, logger=analytics_scheduler.__name__)
    monkeypatch.setattr(analytics_scheduler, "PERIODIC_JOBS", [])  # only the tick itself
    ticks, sleeps, errors = [], [], []
    real_tick = analytics_scheduler.loop_tick

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 5:
            raise _Stopped

    def scheduler():  # a thread: its own connection, as the scheduler process has
        conn = connections["default"]
        real_connect = conn.ensure_connection

        def ensure_connection():  # a new connection is refused until the third wait ends
            if conn.connection is None and len(sleeps) < 3:
                refused = psycopg.OperationalError("connection failed: Connection refused")
                raise OperationalError(*refused.args) from refused
            real_connect()

        conn.ensure_connection = ensure_connection
        try:
            call_command("analytics_scheduler", stdout=io.StringIO())
        except Exception as error:  # re-raised by the assert below
            errors.append(error)
        finally:
            connection.close()

    monkeypatch.setattr(
        analytics_scheduler, "loop_tick", lambda state: ticks.append(real_tick(state))
    )
    monkeypatch.setattr(analytics_scheduler.time, "sleep", sleep)
    thread = threading.Thread(target=scheduler)
    thread.start()
    thread.join(60)

    assert [type(error) for error in errors] == [_Stopped]  # not ended by the outage
    assert ticks == [False, False, False, True, True]
    assert sleeps == [analytics_scheduler.TICK_SECONDS] * 5
    # One line when the outage starts and one when it ends, not a traceback per tick.
    lines = [r.getMessage() for r in caplog.records if r.name == analytics_scheduler.__name__]
    assert len(lines) == 2, lines
    assert "the database cannot be reached" in lines[0] and "Connection refused" in lines[0]
    assert "the database answers again after" in lines[1]


def test_a_tick_that_fails_for_another_reason_is_logged_with_its_traceback_each_time(
    monkeypatch, caplog
):
    """Only an unreachable server is logged once: any other failure (a bug, a missing table)
    keeps its traceback on every tick, as waiting will not mend it."""

    def broken():
        raise ValueError("a bug in the tick")

    monkeypatch.setattr(analytics_scheduler, "scheduler_tick", broken)
    state: dict = {}
    assert [analytics_scheduler.loop_tick(state) for _ in range(2)] == [False, False]
    failed = [r for r in caplog.records if r.getMessage() == "analytics scheduler tick failed"]
    assert len(failed) == 2 and "a bug in the tick" in str(failed[0].exc_info[1])


def test_each_job_runs_at_the_first_tick_then_once_per_interval_and_a_failure_stops_no_other(
    monkeypatch,
):
    ran = []

    def failing():
        ran.append("failing")
        raise OSError("search server down")

    def hourly():
        ran.append("hourly")

    monkeypatch.setattr(analytics_scheduler, "PERIODIC_JOBS", ((30, failing), (3600, hourly)))
    last_runs = {}
    periodic_jobs_run(last_runs=last_runs, now=1000.0)
    assert ran == ["failing", "hourly"]
    periodic_jobs_run(last_runs=last_runs, now=1031.0)
    assert ran == ["failing", "hourly", "failing"]
    periodic_jobs_run(last_runs=last_runs, now=4601.0)
    assert ran == ["failing", "hourly", "failing", "failing", "hourly"]


@pytest.mark.django_db
def test_a_scheduler_tick_tells_owners_whose_review_date_passed(
    active_engine,  # noqa: F811 - fixture
    django_capture_on_commit_callbacks,
):
    owner = make_user(role=MARKETER)
    make_asset("Pricing deck", owner=owner, review_by=timezone.localdate() - datetime.timedelta(1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("analytics_scheduler", "--once", stdout=io.StringIO())
        call_command("analytics_scheduler", "--once", stdout=io.StringIO())
    assert Notification.objects.filter(user=owner, kind="asset_review").count() == 1
    assert len(mail.outbox) == 1


def test_failed_notification_mails_are_sent_again_every_hour():
    """They waited for the next morning's digest run."""
    from analytics.management.commands.analytics_scheduler import mails_failed_resend

    assert (REMINDERS_EVERY_SECONDS, mails_failed_resend) in PERIODIC_JOBS
