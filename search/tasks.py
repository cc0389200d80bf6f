"""Background work for search, and how it is scheduled. Tasks take ids, re-read the database
and call a service; they are enqueued when the transaction that asked for them commits."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django_tasks import task

from search import services
from search.selectors import asset_ids_in_section

logger = logging.getLogger(__name__)


@task()
def index_assets_task(asset_ids: list[int]) -> dict:
    outcome = services.index_assets(asset_ids=asset_ids)
    return {"indexed": outcome.indexed, "deleted": outcome.deleted, "pending": outcome.pending}


@task()
def index_section_task(section_id: int) -> dict:
    """Re-index every asset below a section whose restrictions or place changed."""
    outcome = services.index_assets(asset_ids=asset_ids_in_section(section_id))
    return {"indexed": outcome.indexed, "deleted": outcome.deleted, "pending": outcome.pending}


def index_schedule(*, asset_ids: Iterable[int]) -> None:
    """Re-index these assets once the current transaction commits (immediately when there
    is none). Safe to call from signal handlers. The request is recorded first, in the
    caller's transaction (``services.pending_request``), so it survives a task queue or
    engine that is down."""
    ids = sorted({int(asset_id) for asset_id in asset_ids})
    if not ids:
        return
    services.pending_request(asset_ids=ids)
    transaction.on_commit(lambda: _enqueue(index_assets_task, asset_ids=ids))


def index_schedule_section(*, section_id: int) -> None:
    """Re-index every asset below a section after the transaction commits (its assets are
    recorded as pending now, like ``index_schedule``'s)."""
    services.pending_request(asset_ids=asset_ids_in_section(section_id))
    transaction.on_commit(lambda: _enqueue(index_section_task, section_id=section_id))


def _enqueue(task_, **arguments) -> None:
    try:
        task_.enqueue(**arguments)
    except Exception:  # the task queue itself is down: the pending rows wait for a catch-up
        logger.exception("could not enqueue search indexing for %s", arguments)
