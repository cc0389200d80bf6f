"""``manage.py db_worker`` (cms/management/commands/db_worker.py): a database locked for longer
than the busy timeout while the worker claims a task makes it wait and go on, not stop."""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

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
