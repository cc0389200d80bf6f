"""The refresh service: the one entry point that brings the dashboard and search up to date.

``analytics_refresh`` stores spooled events and searches, fills the rollups
(``analytics.rollups``), then hands the ranking signals to search
(``search.services.ranking_signals_replace``, which re-indexes only the assets whose signals
changed). ``manage.py update_analytics``, the
background task, the dashboard's "Update now" and deal imports all go through it: the last two
ask for it with ``analytics_refresh_request`` (a task enqueued when their transaction commits)
and return at once. ``scheduler_tick`` enqueues it every ``ANALYTICS_REFRESH_SECONDS`` (run by
``manage.py analytics_scheduler``), so the numbers stay fresh with nobody acting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from analytics import tasks
from analytics.models import RefreshState
from analytics.rollups.fill import AnalyticsLocked, rollups_fill
from analytics.selectors import ranking_signals
from analytics.usage import usage_spool_replay
from search.services import ranking_signals_replace, search_events_flush

logger = logging.getLogger(__name__)
#: A queued refresh not started after this long is assumed lost (a worker died) and queued again.
QUEUE_PATIENCE = timedelta(minutes=10)


def _state() -> RefreshState:
    state = RefreshState.objects.order_by("pk").first()
    if state is None:
        with transaction.atomic():
            state = RefreshState.objects.order_by("pk").first() or RefreshState.objects.create()
    return state


def _note(**values) -> None:
    """Update the refresh record in its own short transaction."""
    state = _state()
    with transaction.atomic():
        RefreshState.objects.filter(pk=state.pk).update(**values)


def analytics_refresh(*, full: bool = False, log: Callable[[str], None] = lambda m: None) -> dict:
    """Fill the rollups (everything from scratch with ``full``), then refresh search's ranking
    signals. Returns rows written per rollup and ``search_reindexed``. Raises
    ``AnalyticsLocked`` when a refresh is already running (that one will cover this)."""
    started = timezone.now()
    spooled = usage_spool_replay()
    search_events_flush()  # searches still spooled (normally written right after their response)
    if spooled:
        log(f"spooled events stored: {spooled}")
    previous_start = _state().started_at
    try:
        _note(started_at=started)
        counts = rollups_fill(full=full, log=log)
        _note(data_as_of=started)  # the numbers are in: say so before search takes its signals
        counts["search_reindexed"] = ranking_signals_publish(log=log)
    except AnalyticsLocked:
        # This one never started: the running one's start stands, so that one running for
        # too long shows as stalled (``selectors.refresh_status``) instead of each locked-out
        # try making it look just begun.
        _note(started_at=previous_start)
        raise
    except Exception as error:
        _note(error=f"{type(error).__name__}: {error}"[:500], finished_at=timezone.now())
        raise
    _note(finished_at=timezone.now(), error="")
    database_checkpoint()
    return counts


def database_checkpoint() -> None:
    """On SQLite, copy the write-ahead log back into the database file (a passive checkpoint:
    it waits for no reader or writer). Web connections never checkpoint themselves (see the
    database settings), so the scheduler calls this every tick and each refresh at its end.
    Best effort: inside a transaction, or when the database refuses now, the next one does it."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except OperationalError as error:
        logger.info("checkpoint skipped: %s", error)


def ranking_signals_publish(*, log: Callable[[str], None] = lambda m: None) -> int:
    """Hand the current signals to search; the number of assets re-indexed. Search being down
    does not fail the refresh: its own pending-update mechanism catches up."""
    changed = ranking_signals_replace(signals=ranking_signals())
    if changed:
        log(f"ranking signals changed for {changed} assets")
    return changed


def analytics_refresh_request(*, reason: str = "") -> None:
    """Ask for a refresh: recorded now, enqueued when the current transaction commits. Returns
    at once (with the database task backend a worker runs it)."""
    now = timezone.now()
    _note(requested_at=now)
    transaction.on_commit(lambda: _enqueue(reason))


def _enqueue(reason: str = "") -> None:
    """Queue the refresh task. Noted as queued first (an immediate backend runs it inside
    ``enqueue``); when the queue refuses, the note is taken back so the scheduler does not
    wait for a task that does not exist."""
    before = _state().enqueued_at
    _note(enqueued_at=timezone.now())
    try:
        tasks.refresh_analytics_task.enqueue()
    except Exception:  # the queue itself is down: the scheduler tries again
        _note(enqueued_at=before)
        logger.exception("could not enqueue the analytics refresh (%s)", reason or "asked")


def scheduler_tick(*, now: datetime | None = None) -> bool:
    """Enqueue a refresh when one is due: ``ANALYTICS_REFRESH_SECONDS`` after the last one
    started, or asked for since, unless one is already queued (and not lost). Returns whether
    it enqueued."""
    now = now or timezone.now()
    state = _state()
    last_start = state.started_at
    queued = state.enqueued_at is not None and (
        last_start is None or state.enqueued_at > last_start
    )
    if queued and now - state.enqueued_at < QUEUE_PATIENCE:
        return False
    asked = state.requested_at is not None and (
        last_start is None or state.requested_at > last_start
    )
    interval = timedelta(seconds=settings.ANALYTICS_REFRESH_SECONDS)
    due = last_start is None or now - last_start >= interval or asked
    if due:
        _enqueue("scheduled")
    return due
