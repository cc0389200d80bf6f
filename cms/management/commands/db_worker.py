"""``manage.py db_worker``: django-tasks' database worker (django_tasks_db), which outlives a
database locked for longer than its busy timeout and a database server that is down.

The package's worker claims each task in an exclusive transaction and tolerates a locked
database once that transaction has begun, but not while beginning it: on SQLite, ``BEGIN
EXCLUSIVE`` waits ``SQLITE_BUSY_TIMEOUT_SECONDS`` behind a writer (a long import, a backup)
and then raises, which ends the worker's loop. No task runs again until someone restarts it
(under the autoreloader, with DEBUG, the process even stays up doing nothing): no refresh, no
indexing. This command, found before the package's (``cms`` comes first in INSTALLED_APPS),
takes the same options and runs a worker that logs the lock, waits and goes on.

It also outlives a PostgreSQL server that is restarted or down for a while. The package's
worker re-raises every database error but a lock, so a refused connection or a session the
server ended would stop it for good, as above. This worker logs the outage once, closes its
connections (a connection from before a restart never works again), asks the database again
after a growing wait (``--interval`` or 1 s, twice as long each time, at most
``LONGEST_OUTAGE_WAIT_SECONDS``), logs when it answers and goes on. What counts as an outage
is told by ``cms.middleware.database_unreachable``; any other error (a missing table, bad
SQL, a full disk) still ends the worker with that error, since waiting would not mend it.
"""

from __future__ import annotations

import logging
import os
import time

from django.db import OperationalError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import is_locked_database_exception

from cms.middleware import database_unreachable

logger = logging.getLogger(__name__)
WORKER_OPTIONS = ("interval", "backend_name", "startup_delay", "max_tasks", "worker_id")
LONGEST_OUTAGE_WAIT_SECONDS = 60.0


class PatientWorker(db_worker.Worker):
    def run(self) -> None:
        while self.running:
            try:
                return super().run()
            except OperationalError as error:
                if is_locked_database_exception(error):
                    wait = max(self.interval, 1.0)
                    logger.warning(
                        "task worker: the database is locked (%s); again in %.0f s", error, wait
                    )
                    time.sleep(wait)
                elif database_unreachable(error):
                    self.wait_for_database(error)
                else:
                    raise
        return None

    def wait_for_database(self, error: OperationalError) -> None:
        """Wait until the database answers again, asking after ``--interval`` (at least 1 s),
        then twice as long each time up to ``LONGEST_OUTAGE_WAIT_SECONDS``. One warning when
        the outage starts and one line when it ends, whatever its length: an operator
        reading the log of a ten-minute restart sees two lines, not a hundred."""
        logger.warning(
            "task worker: the database cannot be reached (%s); no task runs until it "
            "answers. Asking again in %.0f s, then less and less often (every %.0f s at most)",
            " ".join(str(error).split()),  # psycopg's messages run over several lines
            max(self.interval, 1.0),
            LONGEST_OUTAGE_WAIT_SECONDS,
        )
        started = time.monotonic()
        wait = max(self.interval, 1.0)
        while self.running:
            connections.close_all()  # the next attempt opens new connections
            time.sleep(wait)
            if self.database_answers():
                logger.info(
                    "task worker: the database answers again after %.0f s; taking tasks",
                    time.monotonic() - started,
                )
                return
            wait = min(wait * 2, LONGEST_OUTAGE_WAIT_SECONDS)

    def database_answers(self) -> bool:
        """Whether a connection to the tasks' database opens; an error that is not an outage
        (a password the server now refuses) ends the worker."""
        try:
            connections[DBTaskResult.objects.db].ensure_connection()
        except OperationalError as error:
            if database_unreachable(error):
                return False
            raise
        return True


class Command(db_worker.Command):
    help = db_worker.Command.help + ", waiting out a locked or unreachable database"

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
