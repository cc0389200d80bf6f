"""Deal imports from the dashboard, run in the background.

The upload is saved under ``DATA_DIR/imports`` and an ``ImportJob`` records it; a task
(``analytics.tasks.import_job_task``) runs ``deal_import_file`` on the saved file, noting the
rows read after each chunk, so the job's page shows progress and then the report, and no web
request lasts as long as a large file takes. The saved file is deleted once the run ends,
whether it succeeded or failed. A real import that finds another one running (a second
worker took it up) waits its turn: it is queued again, to try again ``LOCKED_RETRY_AFTER``
later, when the task backend can run a task later (``manage.py db_worker``'s can); its page
says which import it waits for (``import_job_waiting_for``). The job's own writes (progress,
the end) wait out a busy database as the import's do (``patiently``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from analytics import tasks
from analytics.imports import (
    IMPORT_LOCK,
    LOCK_STALE_AFTER,
    ImportBusy,
    ImportError_,
    ImportLocked,
    deal_import_file,
    parse_mapping,
)
from analytics.locks import BUSY_PATIENCE, patiently
from analytics.models import ImportJob, JobLock
from analytics.refresh import analytics_refresh_request

UPLOAD_DIR = "imports"
#: How long a finished job (done or failed) stays, its page and report with it.
FINISHED_KEPT = timedelta(days=30)
#: How long a real import that found another one running waits before it tries again.
LOCKED_RETRY_AFTER = timedelta(seconds=30)
#: How long a job may wait queued, no worker taking it up (its task lost, or no worker
#: running), before it is failed, to be uploaded again, and then pruned as failed jobs are.
QUEUED_GIVEN_UP_AFTER = timedelta(days=1)
#: The job's own writes wait out a busy database as long as the import's do.
PATIENT = {"patience": BUSY_PATIENCE}


def _stored(job: ImportJob) -> Path:
    return Path(settings.DATA_DIR) / job.stored_path


def import_job_create(
    *, user, upload, kind: str, dry_run: bool, mapping: str, date_order: str
) -> ImportJob:
    """Save the upload, record the job and enqueue its run once the transaction commits."""
    name = f"{secrets.token_hex(16)}{Path(upload.name).suffix.lower()}"
    job = ImportJob(
        created_by=user,
        file_name=upload.name[:255],
        stored_path=f"{UPLOAD_DIR}/{name}",
        kind=kind,
        dry_run=dry_run,
        mapping=mapping,
        date_order=date_order,
    )
    job.full_clean()
    stored = _stored(job)
    stored.parent.mkdir(parents=True, exist_ok=True)
    try:
        with stored.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    except OSError:  # a full disk: no half-written file left behind (the 503 says why)
        stored.unlink(missing_ok=True)
        raise
    job.save()
    transaction.on_commit(lambda: tasks.import_job_task.enqueue(job.pk))
    return job


def import_job_run(*, job_id: int) -> None:
    """Run the job's import: "running" with the rows read as it goes, then "done" with the
    report or "failed" with the reason. The saved file is deleted either way; a real run
    asks for the analytics refresh, as the import did in the request. A real import that
    finds another one running is queued again, its file kept (``_requeue``)."""
    job = ImportJob.objects.get(pk=job_id)
    now = timezone.now()
    queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED)
    claim = partial(queued.update, status=ImportJob.Status.RUNNING, started_at=now, updated_at=now)
    claimed = patiently(claim, **PATIENT)
    if not claimed:
        return  # already run (a task delivered twice), or given up (``import_jobs_abandoned``)
    requeued = False
    try:
        report = _import(job)
    except ImportLocked as error:
        requeued = _requeue(job)
        if not requeued:
            _finish(job, status=ImportJob.Status.FAILED, error=str(error))
        return
    except ImportBusy as error:  # the rows saved before are kept: the job counts them
        _finish(job, status=ImportJob.Status.FAILED, error=str(error), rows_read=error.rows)
        return
    except ImportError_ as error:
        _finish(job, status=ImportJob.Status.FAILED, error=str(error))
        return
    except Exception as error:
        _finish(job, status=ImportJob.Status.FAILED, error=f"{type(error).__name__}: {error}")
        raise
    finally:
        if not requeued:
            _stored(job).unlink(missing_ok=True)
    _finish(job, status=ImportJob.Status.DONE, report=report.to_dict(), rows_read=report.rows)
    if not report.dry_run:
        analytics_refresh_request(reason="deal import")


def _import(job: ImportJob):
    def progress(rows: int) -> None:
        job_row = ImportJob.objects.filter(pk=job.pk)
        patiently(partial(job_row.update, rows_read=rows, updated_at=timezone.now()), **PATIENT)

    with _stored(job).open("rb") as stream:
        return deal_import_file(
            stream,
            job.file_name,
            kind=job.kind,
            dry_run=job.dry_run,
            mapping=parse_mapping(job.mapping),
            date_order=job.date_order,
            progress=progress,
        )


def _requeue(job: ImportJob) -> bool:
    """Queue the job again (its file kept) to run ``LOCKED_RETRY_AFTER`` from now, and say
    so; False when the task backend cannot run a task later (the immediate backend runs each
    at once, in the request that queued it: the job fails, saying to try again)."""
    task = tasks.import_job_task
    if not task.get_backend().supports_defer:
        return False
    now = timezone.now()
    job_row = ImportJob.objects.filter(pk=job.pk)
    requeue = partial(
        job_row.update, status=ImportJob.Status.QUEUED, started_at=None, updated_at=now
    )
    patiently(requeue, **PATIENT)
    later = task.using(run_after=now + LOCKED_RETRY_AFTER)
    transaction.on_commit(lambda: later.enqueue(job.pk))
    return True


def _finish(job: ImportJob, **values) -> None:
    now = timezone.now()
    job_row = ImportJob.objects.filter(pk=job.pk)
    patiently(partial(job_row.update, finished_at=now, updated_at=now, **values), **PATIENT)


def import_job_waiting_for(job: ImportJob) -> dict | None:
    """For a real job still queued while the import lock is held: what it waits for, for its
    page. ``job`` is the dashboard import running (None: one run from the terminal, with
    ``manage.py import_deals``), ``last_active`` the holder's last progress, and ``free_at``
    when its lock is taken over if it has stopped. None when nothing holds the lock."""
    if job.status != ImportJob.Status.QUEUED or job.dry_run:
        return None
    lock = JobLock.objects.filter(name=IMPORT_LOCK).first()
    if lock is None:
        return None
    running = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, dry_run=False)
    return {
        "job": running.exclude(pk=job.pk).order_by("-started_at").first(),
        "last_active": lock.acquired_at,
        "free_at": lock.acquired_at + LOCK_STALE_AFTER,
    }


def import_jobs_abandoned() -> int:
    """Fail the jobs that no run will finish, and delete their saved files, which nothing else
    would; returns how many. The scheduler runs it. They are the jobs "running" with no
    progress for ``LOCK_STALE_AFTER`` (a worker killed mid-file; the next import may take
    their lock then), and those "queued" untouched for ``QUEUED_GIVEN_UP_AFTER`` (their task
    was lost, or no worker ran): each stayed so for ever, and was never pruned."""
    now = timezone.now()
    dead = ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING, updated_at__lt=now - LOCK_STALE_AFTER
    )
    unstarted = ImportJob.objects.filter(
        status=ImportJob.Status.QUEUED, updated_at__lt=now - QUEUED_GIVEN_UP_AFTER
    )
    return _fail_each(dead, _stopped) + _fail_each(unstarted, _never_started)


def _stopped(job: ImportJob) -> str:
    return (
        f"The import stopped after {job.rows_read:,} rows (no progress since "
        f"{date_format(timezone.localtime(job.updated_at), 'j M Y H:i')}): its worker stopped. "
        f"{job.again}."
    )


def _never_started(job: ImportJob) -> str:
    return (
        "The import never started: no task worker took it up after it was queued on "
        f"{date_format(timezone.localtime(job.updated_at), 'j M Y H:i')} (its task was lost, "
        "or no worker ran). Nothing was imported; upload the file again."
    )


def _fail_each(jobs, reason) -> int:
    """Fail each of ``jobs`` that still is one of them, with ``reason(job)`` as its error, and
    delete its saved file; returns how many."""
    count = 0
    for job in jobs:
        failed = jobs.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, error=reason(job), finished_at=timezone.now()
        )
        if failed:
            _stored(job).unlink(missing_ok=True)
            count += failed
    return count


def import_jobs_prune() -> int:
    """Delete the jobs that finished (done or failed) more than ``FINISHED_KEPT`` ago, and a
    saved file one of them still has (a run deletes its own when it ends; this is for one that
    did not), first, so that no file outlives its job; returns how many. A job queued or
    running is never deleted. The scheduler runs it."""
    finished_before = timezone.now() - FINISHED_KEPT
    old = ImportJob.objects.filter(
        status__in=(ImportJob.Status.DONE, ImportJob.Status.FAILED),
        finished_at__lt=finished_before,
    )
    ids = []
    for job in old.only("pk", "stored_path"):
        if job.stored_path:
            _stored(job).unlink(missing_ok=True)
        ids.append(job.pk)
    deleted, _ = ImportJob.objects.filter(pk__in=ids).delete()
    return deleted
