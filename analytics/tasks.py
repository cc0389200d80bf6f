"""Background work for analytics (django-tasks). Tasks call the refresh service."""

from __future__ import annotations

from django_tasks import task

from analytics.rollups.fill import AnalyticsLocked


@task()
def refresh_analytics_task(full: bool = False) -> dict:
    """Refresh the rollups and search's ranking signals; a run that finds another one in
    progress does nothing (the running one, or the scheduler's next, covers it)."""
    # Imported here: analytics.refresh enqueues this task, so it loads first.
    from analytics.refresh import analytics_refresh

    try:
        return analytics_refresh(full=full)
    except AnalyticsLocked:
        return {"skipped": "another analytics refresh holds the lock"}


@task()
def import_job_task(job_id: int) -> None:
    """Run one dashboard deal import; see ``analytics.import_jobs.import_job_run``."""
    # Imported here: analytics.import_jobs enqueues this task, so it loads first.
    from analytics.import_jobs import import_job_run

    import_job_run(job_id=job_id)
