"""A named lock held by inserting a row: portable across SQLite and PostgreSQL, visible to
every process, and released by deleting the row. A lock older than ``stale_after`` is
assumed abandoned (its holder died) and taken over."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.models import JobLock


class Locked(RuntimeError):
    """Another run holds the lock."""


@contextlib.contextmanager
def job_lock(name: str, *, stale_after: timedelta = timedelta(hours=2)):
    now = timezone.now()
    JobLock.objects.filter(name=name, acquired_at__lt=now - stale_after).delete()
    try:
        with transaction.atomic():
            JobLock.objects.create(name=name, acquired_at=now)
    except IntegrityError:
        raise Locked(f"{name} is already running") from None
    try:
        yield
    finally:
        JobLock.objects.filter(name=name, acquired_at=now).delete()
