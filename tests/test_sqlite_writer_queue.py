"""SQLite writers take turns through a lock in the kernel (enablement.queued_sqlite3): a
writer that finds another's transaction open waits for it and goes as soon as it ends, and
one that waits past the busy timeout gets "database is locked" (the API's 503) with nothing
half-saved. These tests open their own SQLite database under another alias, so they run the
same in the PostgreSQL run."""

import os
import threading
import time

import pytest
from django.db import OperationalError, connections, transaction

from cms.middleware import database_busy
from enablement.queued_sqlite3.base import queue_for_writing

ALIAS = "queued_sqlite3_test"


@pytest.fixture
def database(tmp_path, django_db_blocker):
    path = tmp_path / "db.sqlite3"
    settings = {"ENGINE": "enablement.queued_sqlite3", "NAME": str(path), "OPTIONS": {}}
    connections.settings[ALIAS] = connections.configure_settings(
        {"default": dict(settings), ALIAS: settings}
    )[ALIAS]
    with django_db_blocker.unblock():
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("CREATE TABLE t (name TEXT)")
        connections[ALIAS].close()
        yield path
        connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]


def _rows():
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT name FROM t ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


def _write_in_thread(name, timeout, outcome):
    def write():
        connections.settings[ALIAS]["OPTIONS"]["timeout"] = timeout
        try:
            with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES (%s)", [name])
            outcome["done"] = time.monotonic()
        except OperationalError as error:
            outcome["error"] = error
        finally:
            connections[ALIAS].close()
            del connections[ALIAS]

    # Django binds a connection to the thread that opened it: the writer opens its own.
    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_writer_waits_for_the_open_transaction_and_goes_when_it_ends(database):
    holder = queue_for_writing(f"{database}-writers", 1)
    outcome = {}
    writer = _write_in_thread("second", 10, outcome)
    time.sleep(0.5)
    assert outcome == {}, "the writer went in while another transaction was open"
    os.close(holder)
    writer.join(10)
    assert "error" not in outcome and "done" in outcome
    assert _rows() == ["second"]


def test_a_writer_past_the_busy_timeout_gets_database_is_locked_and_saves_nothing(database):
    holder = queue_for_writing(f"{database}-writers", 1)
    outcome = {}
    _write_in_thread("gave up", 0.3, outcome).join(10)
    assert isinstance(outcome["error"], OperationalError)
    assert database_busy(outcome["error"])  # what the API and pages answer with 503
    os.close(holder)
    # The writer that gave up does not keep the lock: the next one goes straight in.
    outcome = {}
    _write_in_thread("next", 0.5, outcome).join(10)
    assert "error" not in outcome
    assert _rows() == ["next"]


def test_a_failed_transaction_lets_the_next_writer_in(database):
    with pytest.raises(ValueError):
        with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES ('rolled back')")
            raise ValueError("a row fails validation")
    outcome = {}
    _write_in_thread("after", 0.5, outcome).join(10)
    assert "error" not in outcome
    assert _rows() == ["after"]
