"""``manage.py db_worker``: django-tasks' database worker (django_tasks_db), which outlives a
database locked for longer than its busy timeout.

The package's worker claims each task in an exclusive transaction and tolerates a locked
database once that transaction has begun, but not while beginning it: on SQLite, ``BEGIN
EXCLUSIVE`` waits ``SQLITE_BUSY_TIMEOUT_SECONDS`` behind a writer (a long import, a backup)
and then raises, which ends the worker's loop. No task runs again until someone restarts it
(under the autoreloader, with DEBUG, the process even stays up doing nothing): no refresh, no
indexing. This command, found before the package's (``cms`` comes first in INSTALLED_APPS),
takes the same options and runs a worker that logs the lock, waits and goes on.
"""

from __future__ import annotations

import logging
import os
import time

from django.db import OperationalError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker
from django_tasks_db.utils import is_locked_database_exception

logger = logging.getLogger(__name__)
WORKER_OPTIONS = ("interval", "backend_name", "startup_delay", "max_tasks", "worker_id")


class PatientWorker(db_worker.Worker):
    def run(self) -> None:
        while self.running:
            try:
                return super().run()
            except OperationalError as error:
                if not is_locked_database_exception(error):
                    raise
                wait = max(self.interval, 1.0)
                logger.warning(
                    "task worker: the database is locked (%s); again in %.0f s", error, wait
                )
                time.sleep(wait)
        return None


class Command(db_worker.Command):
    help = db_worker.Command.help + ", waiting out a locked database"

    def handle(self, *, verbosity, reload, batch, queue_name, exclude_queues, **options):
        self.configure_logging(verbosity)
        if reload and batch:
            reload = False  # the package's rule: a batch runs once, without the reloader
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_name.split(","):
            raise db_worker.CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = PatientWorker(
            queue_names=queue_name.split(","),
            excluded_queue_names=excluded,
            batch=batch,
            **{name: options[name] for name in WORKER_OPTIONS},
        )
        if not reload:
            worker.configure_signals()
            worker.run()
        else:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only in the child the reloader runs
            run_with_reloader(worker.run)
