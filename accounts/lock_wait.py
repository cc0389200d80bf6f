"""How long this connection's writes wait for a lock another writer holds (SQLite's
busy_timeout, PostgreSQL's lock_timeout): shortened for a while, then put back.

It sits in accounts, under every app, because two layers need it: the sign-in throttle here
(``accounts.throttle.sign_in_patience``) and the writes that can wait in a spool instead
(``cms.spool.impatient_writes``)."""

from __future__ import annotations

import contextlib

from django.db import connection

VENDORS = {"sqlite", "postgresql"}


def lock_wait_shorten(seconds: float):
    """Make writes on the default connection give up on a held lock after ``seconds``;
    returns the wait it had, for ``lock_wait_restore`` (None where it cannot be set)."""
    if connection.vendor not in VENDORS:
        return None
    millis = max(1, int(seconds * 1000))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA busy_timeout")
            saved = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA busy_timeout = {millis}")
        else:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, false)",
                [f"{millis}ms"],
            )
            saved = cursor.fetchone()[0]
    return saved


def lock_wait_restore(saved) -> None:
    """Put back the wait ``lock_wait_shorten`` returned (a connection closed meanwhile gets
    its configured wait anew; a PostgreSQL transaction that failed puts it back itself when
    it rolls back)."""
    if saved is None or connection.connection is None or connection.needs_rollback:
        return
    with contextlib.suppress(Exception), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout = {int(saved)}")
        else:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [saved])
