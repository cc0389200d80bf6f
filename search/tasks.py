"""Background work for search. Tasks take ids, re-read the database and call a service."""

from __future__ import annotations

from django_tasks import task

from search import services
from search.selectors import asset_ids_in_section


@task()
def index_assets_task(asset_ids: list[int]) -> dict:
    outcome = services.index_assets(asset_ids=asset_ids)
    return {"indexed": outcome.indexed, "deleted": outcome.deleted, "pending": outcome.pending}


@task()
def index_section_task(section_id: int) -> dict:
    """Re-index every asset below a section whose restrictions or place changed."""
    outcome = services.index_assets(asset_ids=asset_ids_in_section(section_id))
    return {"indexed": outcome.indexed, "deleted": outcome.deleted, "pending": outcome.pending}
