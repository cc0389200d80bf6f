"""Background work for analytics (django-tasks)."""

from __future__ import annotations

from django_tasks import task

from analytics.rollups import AnalyticsLocked, update_analytics


@task()
def update_analytics_task() -> dict:
    """Rebuild the rollups; a run that finds another one in progress does nothing."""
    try:
        return update_analytics()
    except AnalyticsLocked:
        return {"skipped": "another update_analytics run holds the lock"}
