"""A busy database on demand: another connection holding a lock, and writers that give up
quickly, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.db import connection, connections


@contextmanager
def short_busy_timeout(seconds: float = 1):
    """Writers give up after ``seconds`` instead of the default 20 (SQLite's busy timeout,
    PostgreSQL's lock_timeout), so a long-held lock shows up quickly as "busy"."""
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    saved = dict(options)
    if connection.vendor == "sqlite":
        options["timeout"] = seconds
    else:
        options["options"] = f"-c lock_timeout={int(seconds * 1000)}"
    connection.close()
    try:
        yield
    finally:
        options.clear()
        options.update(saved)
        connection.close()


@contextmanager
def table_held_busy(model):
    """Another connection holds the write lock (SQLite) or a lock on ``model``'s table
    (PostgreSQL) until the block ends."""
    other = connections.create_connection("default")
    other.ensure_connection()
    with other.cursor() as cursor:
        if other.vendor == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("BEGIN")
            cursor.execute(f"LOCK TABLE {model._meta.db_table} IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        other.rollback() if other.vendor != "sqlite" else other.cursor().execute("ROLLBACK")
        other.close()
