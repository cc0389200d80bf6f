"""``manage.py db_worker`` (cms/management/commands/db_worker.py): a database locked for longer
than the busy timeout while the worker claims a task, or a PostgreSQL server that is down or
restarting, makes it wait and go on, not stop; any other database error still stops it."""

from __future__ import annotations

import contextlib
import logging
import socket

import psycopg
import pytest
from django.core.management import call_command
from django.db import OperationalError, ProgrammingError, connection
from django.db.utils import ConnectionHandler
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from cms.management.commands import db_worker as patient_worker
from cms.middleware import database_unreachable
from tests.factories import make_document

pytestmark = pytest.mark.django_db
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def queued_upload(settings, django_capture_on_commit_callbacks, monkeypatch):
    # Inside the test's transaction the worker must keep the test's connection.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    settings.TASKS = DATABASE_TASKS
    with django_capture_on_commit_callbacks(execute=True):
        document = make_document("plan.txt", b"Territory plan")
    assert DBTaskResult.objects.filter(status="READY").exists()
    return document


def _locked_at_first(monkeypatch, error: str, times: int) -> list[str]:
    """The worker's exclusive transaction fails to begin ``times`` times with ``error``."""
    real = db_worker.exclusive_transaction
    failures = []

    @contextlib.contextmanager
    def begin(using=None):
        if len(failures) < times:
            failures.append(error)
            raise OperationalError(error)
        with real(using):
            yield

    monkeypatch.setattr(db_worker, "exclusive_transaction", begin)
    monkeypatch.setattr(db_worker.time, "sleep", lambda seconds: None)
    return failures


def test_a_locked_database_while_claiming_a_task_is_waited_out(queued_upload, monkeypatch):
    failures = _locked_at_first(monkeypatch, "database is locked", times=3)
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)
    assert len(failures) == 3
    queued_upload.refresh_from_db()
    assert queued_upload.extracted_text == "Territory plan"
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_any_other_database_error_still_stops_the_worker(queued_upload, monkeypatch):
    _locked_at_first(monkeypatch, "disk I/O error", times=1)
    waiting = DBTaskResult.objects.filter(status="READY").count()
    with pytest.raises(OperationalError, match="disk I/O error"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)
    assert DBTaskResult.objects.filter(status="READY").count() == waiting


def test_the_project_worker_is_the_one_manage_py_runs():
    from django.core.management import get_commands

    assert get_commands()["db_worker"] == "cms"


def _from_psycopg(django_error: type, cause: psycopg.Error) -> Exception:
    """``cause`` as Django raises it: its own class, the driver's error as ``__cause__``."""
    error = django_error(*cause.args)
    error.__cause__ = cause
    return error


def _refused() -> OperationalError:
    return _from_psycopg(
        OperationalError,
        psycopg.OperationalError(
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
            "connections?"
        ),
    )


def _server_down_at_first(monkeypatch, times: int, then: Exception | None = None) -> list:
    """Opening a connection fails ``times`` times as when the server is down (the first time
    as the worker begins its claim), then raises ``then`` if given, then works; returns the
    worker's waits."""
    real = connection.ensure_connection
    failures, waits = [], []

    def ensure_connection():
        if len(failures) < times:
            failures.append(1)
            raise _refused()
        if then is not None:
            raise then
        real()

    monkeypatch.setattr(connection, "ensure_connection", ensure_connection)
    # Inside the test's transaction the connection must stay open.
    monkeypatch.setattr(patient_worker.connections, "close_all", lambda: None)
    monkeypatch.setattr(patient_worker.time, "sleep", waits.append)
    return waits


def _worker_messages(caplog) -> list[tuple[str, str]]:
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == patient_worker.__name__
    ]


def test_the_worker_waits_out_a_server_that_is_down_then_runs_the_queued_task(
    queued_upload, monkeypatch, caplog
):
    waits = _server_down_at_first(monkeypatch, times=8)
    caplog.set_level(logging.INFO, logger=patient_worker.__name__)
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]  # from the interval (at least 1 s) to 60 s
    queued_upload.refresh_from_db()
    assert queued_upload.extracted_text == "Territory plan"
    assert not DBTaskResult.objects.filter(status="READY").exists()
    # One line when the outage starts and one when it ends, not one per attempt.
    (warning, recovered) = _worker_messages(caplog)
    assert warning[0] == "WARNING"
    assert "the database cannot be reached" in warning[1]
    assert "Connection refused Is the server running" in warning[1]  # on one line
    assert recovered[0] == "INFO" and "answers again" in recovered[1]


def test_a_session_the_server_ended_during_a_claim_is_waited_out(queued_upload, monkeypatch):
    failures = []
    real = db_worker.exclusive_transaction

    @contextlib.contextmanager
    def begin(using=None):
        if not failures:
            failures.append(1)
            raise _from_psycopg(
                OperationalError,
                psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
            )
        with real(using):
            yield

    monkeypatch.setattr(db_worker, "exclusive_transaction", begin)
    waits = _server_down_at_first(monkeypatch, times=0)  # it answers when asked again
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)
    assert failures and waits == [1]
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_a_missing_table_still_stops_the_worker(queued_upload, monkeypatch):
    missing = _from_psycopg(
        ProgrammingError,
        psycopg.errors.UndefinedTable(
            'relation "django_tasks_database_dbtaskresult" does not exist'
        ),
    )

    @contextlib.contextmanager
    def begin(using=None):
        raise missing
        yield

    monkeypatch.setattr(db_worker, "exclusive_transaction", begin)
    with pytest.raises(ProgrammingError, match="does not exist"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)
    assert DBTaskResult.objects.filter(status="READY").exists()


def test_a_server_back_but_refusing_the_worker_stops_it(queued_upload, monkeypatch):
    """Waiting mends an outage, not a password the server no longer accepts."""
    refused_password = _from_psycopg(
        OperationalError,
        psycopg.errors.InvalidPassword('password authentication failed for user "enablement"'),
    )
    waits = _server_down_at_first(monkeypatch, times=2, then=refused_password)
    with pytest.raises(OperationalError, match="password authentication failed"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)
    assert waits == [1, 2]  # refused at the claim and once more, then the password


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.OperationalError(
            "consuming input failed: server closed the connection unexpectedly"
        ),
        psycopg.OperationalError("the connection is closed"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CrashShutdown("terminating connection because of crash of another process"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.ConnectionFailure("connection failure"),
    ],
    ids=lambda cause: cause.sqlstate or "no code",
)
def test_connection_failures_count_as_an_outage(cause):
    assert database_unreachable(_from_psycopg(OperationalError, cause))


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("database is locked"),  # SQLite: the lock's own rule
        OperationalError("disk I/O error"),
        OperationalError("unable to open database file"),  # SQLite: no server to come back
        _from_psycopg(
            OperationalError,
            psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        ),
        _from_psycopg(OperationalError, psycopg.errors.DeadlockDetected("deadlock detected")),
    ],
    ids=str,
)
def test_other_operational_errors_do_not(error):
    assert not database_unreachable(error)


def test_a_real_refused_connection_counts_as_an_outage():
    """Not a hand-made error: psycopg's own, through Django, from a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": "127.0.0.1",
                "PORT": port,
                "NAME": "enablement",
                "OPTIONS": {"connect_timeout": 5},
            }
        }
    )
    with pytest.raises(OperationalError) as refused:
        handler["default"].ensure_connection()
    assert database_unreachable(refused.value)
