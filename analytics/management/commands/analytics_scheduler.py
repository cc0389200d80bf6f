"""manage.py analytics_scheduler [--once]: keep the analytics fresh with nobody acting.

Every few seconds it enqueues the refresh task when one is due (``analytics.refresh
.scheduler_tick``: every ANALYTICS_REFRESH_SECONDS, or soon after someone asked), and once an
hour prunes finished task results older than a day; every ``CATCH_UP_SECONDS`` it replays
search index updates that missed their own task (``search.services.index_catch_up``: an asset
published while the search engine was down is found again soon after it returns; the
admin's index, when it missed a write, is rebuilt: ``admin_index_catch_up``; an index found
empty while assets are live, built for other fields, missing or corrupt, is rebuilt:
``index_restore``; a search server that does not answer is not; a rebuild that fails is
tried again after 30 s, then twice as long each time, at most every 15 minutes); once a
minute it publishes and unpublishes the pages scheduled for it (Wagtail's
``publish_scheduled``: a marketer's "go live at" and "expire at" happen with no cron line),
every ``STUCK_DOCUMENTS_SECONDS`` it retries the processing of documents stuck pending
(``cms.documents.documents_stuck_retry``: a worker killed mid-file; a document that keeps
getting stuck is marked failed after a few retries) and fails the dashboard's deal imports
whose worker died or that no worker started in a day, deleting those finished over 30 days
ago (``analytics.import_jobs``); once
an hour tells owners whose assets passed their review-by date or just expired
(``cms.reminders.owner_reminders_send``: once per asset, date and owner, recorded in the
database), and once a day from ``DIGEST_HOUR`` (local time) mails the notification digests
(``notifications.services.notifications_digest_send``; a notification is mailed once, so a
restart never sends one twice). The jobs that run every so often are listed once, with their
intervals, in ``PERIODIC_JOBS``; one that fails is logged and the others still run. On SQLite
it also checkpoints the write-ahead log each tick, which web requests no longer do. The task
runs in ``manage.py db_worker`` (TASKS_BACKEND=database); with the immediate backend it runs
here. `make run` and docker-compose.yml start it next to the web server and the worker.
"""

import logging
import time
from datetime import date, datetime, timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections
from django.utils import timezone

from analytics.import_jobs import import_jobs_abandoned, import_jobs_prune
from analytics.refresh import database_checkpoint, scheduler_tick
from cms.documents import documents_stuck_retry
from cms.middleware import database_unreachable
from cms.reminders import owner_reminders_send
from cms.tasks import document_schedule_processing
from notifications.services import notifications_digest_send, notifications_failed_resend
from search.services import (
    RestoreBackoff,
    admin_index_catch_up,
    index_catch_up,
    index_restore_when_due,
)

TICK_SECONDS = 5
PRUNE_EVERY_SECONDS = 3600
PUBLISH_EVERY_SECONDS = 60
CATCH_UP_SECONDS = 30
REMINDERS_EVERY_SECONDS = 3600
STUCK_DOCUMENTS_SECONDS = 300
DIGEST_HOUR = 7
RESTORE_BACKOFF_CAP = timedelta(minutes=15)
logger = logging.getLogger(__name__)
# This process's back-offs of the search index's rebuild and of the admin's indexes'
# (``search_catch_up``).
_restore_backoff = RestoreBackoff(
    first=timedelta(seconds=CATCH_UP_SECONDS), cap=RESTORE_BACKOFF_CAP
)
_admin_restore_backoff = RestoreBackoff(
    first=timedelta(seconds=CATCH_UP_SECONDS), cap=RESTORE_BACKOFF_CAP
)


class Command(BaseCommand):
    help = "Enqueue the analytics refresh every ANALYTICS_REFRESH_SECONDS (runs until stopped)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one tick, then exit")

    def handle(self, *args, once=False, **options):
        if once:
            enqueued = scheduler_tick()
            pages_publish_due()
            search_catch_up()
            owner_reminders()
            self.stdout.write("refresh enqueued" if enqueued else "no refresh due")
            return
        self.stdout.write("analytics scheduler running; Ctrl-C stops it")
        state: dict = {}
        while True:
            loop_tick(state)
            time.sleep(TICK_SECONDS)


def loop_tick(state: dict) -> bool:
    """One pass of the scheduler's loop (``state`` carries when each job last ran); False
    when it failed, which is logged. A failed tick closes this process's database
    connections, so the next one opens fresh ones: after a database restart, a connection
    kept from before stays broken (before 2026-12-06 every tick failed until the scheduler was
    restarted by hand, and the process, alive, was never restarted).

    A database server that cannot be reached (``cms.middleware.database_unreachable``) is
    logged once when the outage starts and once when it ends: every tick's traceback made a
    30-second outage 442 lines of log."""
    close_old_connections()
    try:
        scheduler_tick()
        database_checkpoint()
        state["last_digest"] = digest_tick(now=timezone.localtime(), last=state.get("last_digest"))
        periodic_jobs_run(last_runs=state.setdefault("last_runs", {}), now=time.monotonic())
    except Exception as error:  # a busy or restarting database: try again next tick
        connections.close_all()
        if not database_unreachable(error):
            logger.exception("analytics scheduler tick failed")
        elif "database_down_since" not in state:
            state["database_down_since"] = time.monotonic()
            logger.warning(
                "analytics scheduler: the database cannot be reached (%s); trying every %d s",
                " ".join(str(error).split()),
                TICK_SECONDS,
            )
        return False
    down_since = state.pop("database_down_since", None)
    if down_since is not None:
        logger.info(
            "analytics scheduler: the database answers again after %.0f s",
            time.monotonic() - down_since,
        )
    return True


def periodic_jobs_run(*, last_runs: dict, now: float) -> None:
    """Run each job of ``PERIODIC_JOBS`` whose interval has passed since it last started (at
    the first tick, every one); ``last_runs`` holds when each last started. A job that fails
    is logged and waits for its next interval; the others still run."""
    for seconds, job in PERIODIC_JOBS:
        if job in last_runs and now - last_runs[job] <= seconds:
            continue
        last_runs[job] = now
        try:
            job()
        except Exception:  # a busy database, a search server down: logged, next interval
            logger.exception("analytics scheduler: %s failed", job.__name__)


def digest_tick(*, now: datetime, last: date | None) -> date | None:
    """Mail the daily digests when the day's ``DIGEST_HOUR`` has come and they have not gone
    out today; returns the day they last went out."""
    if now.hour < DIGEST_HOUR or last == now.date():
        return last
    sent = notifications_digest_send()
    if sent:
        logger.info("mailed %s notification digest(s)", sent)
    return now.date()


def pages_publish_due() -> None:
    """Publish the revisions whose go-live time has come and unpublish the pages whose expiry
    has passed (Wagtail's command; publishing goes through the usual signals, so search and
    notifications follow)."""
    call_command("publish_scheduled")


def _prune() -> None:
    from django.conf import settings

    backend = settings.TASKS["default"]["BACKEND"]
    if backend.startswith("django_tasks_db"):
        call_command("prune_db_task_results", min_age_days=1, verbosity=0)


def search_catch_up(
    *,
    backoff: RestoreBackoff | None = None,
    admin_backoff: RestoreBackoff | None = None,
    now: datetime | None = None,
) -> None:
    """Rebuild the search index when it cannot serve the library (after a failed rebuild,
    only once ``backoff``, this process's by default, says the next attempt is due), replay
    the search index updates that missed their own task, and rebuild the admin's indexes
    when they missed a write or the server lost them (``admin_backoff`` likewise); logged
    when it did."""
    now = now or timezone.now()
    restored = index_restore_when_due(backoff=backoff or _restore_backoff, now=now)
    if restored is not None:
        logger.info("search index rebuilt with %s assets", restored)
    if admin_index_catch_up(backoff=admin_backoff or _admin_restore_backoff, now=now):
        logger.info("admin search index rebuilt")
    outcome = index_catch_up()
    if outcome is not None and outcome.ok:
        logger.info(
            "search index caught up: %s indexed, %s removed", outcome.indexed, outcome.deleted
        )


def owner_reminders() -> None:
    """Tell owners about assets past their review-by date or just expired (once per date)."""
    recorded = owner_reminders_send()
    if recorded:
        logger.info("sent %s owner reminder(s)", recorded)


def stuck_documents_retry() -> None:
    """Process again the documents stuck pending (their worker died), each once per stuck
    period; the ones that got stuck too often are marked failed (see the service)."""
    claimed = documents_stuck_retry()
    for document_id in claimed:
        document_schedule_processing(document_id=document_id)
    if claimed:
        logger.info("processing %s stuck document(s) again", len(claimed))


def mails_failed_resend() -> None:
    """Send again the notification mails meant to go at once that failed (their backend or
    their task queue), rather than leave them to the next morning's digest run."""
    sent = notifications_failed_resend()
    if sent:
        logger.info("sent %s failed notification mail(s) again", sent)


def imports_abandoned() -> None:
    """Fail the dashboard imports whose worker died mid-file or that no worker started in a
    day, and delete their saved files; delete the imports that finished more than 30 days ago
    (``import_jobs_prune``)."""
    failed = import_jobs_abandoned()
    if failed:
        logger.info("%s stopped import(s) marked failed", failed)
    pruned = import_jobs_prune()
    if pruned:
        logger.info("%s old finished import(s) deleted", pruned)


# The jobs the loop runs every so often, with their intervals in seconds (the refresh and the
# digest have their own rules above).
PERIODIC_JOBS = (
    (PUBLISH_EVERY_SECONDS, pages_publish_due),
    (CATCH_UP_SECONDS, search_catch_up),
    (PRUNE_EVERY_SECONDS, _prune),
    (REMINDERS_EVERY_SECONDS, owner_reminders),
    (REMINDERS_EVERY_SECONDS, mails_failed_resend),
    (STUCK_DOCUMENTS_SECONDS, stuck_documents_retry),
    (STUCK_DOCUMENTS_SECONDS, imports_abandoned),
)
