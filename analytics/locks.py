"""A named lock held by inserting a row: portable across SQLite and PostgreSQL, visible to
every process, and released by deleting the row. A lock older than ``stale_after`` (since it
was taken or last touched) is assumed abandoned (its holder died) and taken over.

A patient holder (a deal import) gives ``patience``: its writes to the lock, like its own
(``patiently``), wait out a database another writer holds for longer than the busy timeout (a
backup, a long refresh) instead of failing, so that a lock is not left behind by a release
that met the database busy (every later import was then "already running" until it went
stale). A holder whose process is gone is not judged by its process id: across hosts or
containers (process-id namespaces) a live holder would look dead and two imports would run;
a dead one's lock goes stale instead, since its holder touches it as it goes."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from analytics.models import JobLock
from cms.middleware import database_busy

logger = logging.getLogger(__name__)

#: How long a patient writer keeps trying while another writer holds the database; each try
#: itself waits the busy timeout (SQLite's, 20 s by default) before it fails.
BUSY_PATIENCE = timedelta(minutes=5)
#: Seconds between two tries.
BUSY_PAUSE = 1.0


def patiently(
    write: Callable, *, patience: timedelta | None, waiting: Callable[[float], None] | None = None
):
    """``write()``, tried again while it fails because the database is busy (``database_busy``)
    until ``patience`` has passed (None: once), calling ``waiting`` with the seconds waited so
    far before each new try; then its error is raised. Inside an outer transaction it is
    tried once: the failed statement broke that transaction, which only its owner can redo."""
    began = time.monotonic()
    while True:
        try:
            return write()
        except OperationalError as error:
            waited = time.monotonic() - began
            if (
                patience is None
                or not database_busy(error)
                or connection.in_atomic_block
                or waited >= patience.total_seconds()
            ):
                raise
        if waiting:
            waiting(waited)
        time.sleep(BUSY_PAUSE)


class Locked(RuntimeError):
    """Another run holds the lock; ``free_at`` is when it goes stale, if never touched again."""

    def __init__(self, message: str, free_at=None) -> None:
        super().__init__(message)
        self.free_at = free_at


class Held:
    """A lock this run holds; ``touch`` says its holder is alive, so a long run can take a
    short ``stale_after`` and a dead one's lock is taken over soon."""

    def __init__(self, name: str, at, patience=None, waiting=None) -> None:
        self.name, self.at = name, at
        self.patience, self.waiting = patience, waiting

    def touch(self) -> None:
        now = timezone.now()
        mine = JobLock.objects.filter(name=self.name, acquired_at=self.at)
        if patiently(lambda: mine.update(acquired_at=now), **self._patience()):
            self.at = now

    def release(self) -> None:
        """Delete the lock; one the database stayed too busy to delete is logged, with when it
        goes stale, rather than raised over the error that is ending the run."""
        mine = JobLock.objects.filter(name=self.name, acquired_at=self.at)
        try:
            patiently(mine.delete, **self._patience())
        except OperationalError as error:
            if self.patience is None or not database_busy(error):
                raise
            logger.warning(
                "%s: the lock could not be released (%s); it goes stale", self.name, error
            )

    def _patience(self) -> dict:
        return {"patience": self.patience, "waiting": self.waiting}


@contextlib.contextmanager
def job_lock(
    name: str,
    *,
    stale_after: timedelta = timedelta(hours=2),
    patience: timedelta | None = None,
    waiting: Callable[[float], None] | None = None,
):
    """Hold the lock ``name`` for the block, or raise ``Locked``; ``patience`` and ``waiting``
    as for ``patiently``, for every write to the lock (taking, touching, releasing)."""
    now = timezone.now()

    def take() -> None:
        JobLock.objects.filter(name=name, acquired_at__lt=now - stale_after).delete()
        with transaction.atomic():
            JobLock.objects.create(name=name, acquired_at=now)

    try:
        patiently(take, patience=patience, waiting=waiting)
    except IntegrityError:
        other = JobLock.objects.filter(name=name).values_list("acquired_at", flat=True).first()
        free_at = other + stale_after if other else None
        raise Locked(f"{name} is already running", free_at=free_at) from None
    held = Held(name, now, patience, waiting)
    try:
        yield held
    finally:
        held.release()
