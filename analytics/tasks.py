"""Background work for analytics (django-tasks)."""

from __future__ import annotations

from django_tasks import task

from analytics.rollups import AnalyticsLocked
from analytics.services import analytics_update_and_publish


@task()
def update_analytics_task() -> dict:
    """Rebuild the rollups and refresh search's ranking signals; a run that finds another
    one in progress does nothing."""
    try:
        return analytics_update_and_publish()
    except AnalyticsLocked:
        return {"skipped": "another update_analytics run holds the lock"}
