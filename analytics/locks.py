"""A named lock held by inserting a row: portable across SQLite and PostgreSQL, visible to
every process, and released by deleting the row. A lock older than ``stale_after`` (since it
was taken or last touched) is assumed abandoned (its holder died) and taken over."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.models import JobLock


class Locked(RuntimeError):
    """Another run holds the lock."""


class Held:
    """A lock this run holds; ``touch`` says its holder is alive, so a long run can take a
    short ``stale_after`` and a dead one's lock is taken over soon."""

    def __init__(self, name: str, at) -> None:
        self.name, self.at = name, at

    def touch(self) -> None:
        now = timezone.now()
        if JobLock.objects.filter(name=self.name, acquired_at=self.at).update(acquired_at=now):
            self.at = now


@contextlib.contextmanager
def job_lock(name: str, *, stale_after: timedelta = timedelta(hours=2)):
    now = timezone.now()
    JobLock.objects.filter(name=name, acquired_at__lt=now - stale_after).delete()
    try:
        with transaction.atomic():
            JobLock.objects.create(name=name, acquired_at=now)
    except IntegrityError:
        raise Locked(f"{name} is already running") from None
    held = Held(name, now)
    try:
        yield held
    finally:
        JobLock.objects.filter(name=name, acquired_at=held.at).delete()
