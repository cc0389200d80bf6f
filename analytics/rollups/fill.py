"""Filling the declared rollups (``registry.REGISTRY``) incrementally, with a fill state each.

One run, under a lock so that two never overlap:

1. *Which events are settled*: the highest event id below which no event can still appear
   (``events_settled``). On SQLite one writer commits at a time, so ids appear in order; on
   PostgreSQL a sequence hands out ids before their transactions commit, so the run waits for
   the transactions that were writing events when it read the highest id.
2. *Events rollups* are filled from their ``filled_until`` to that id in steps of
   ``EVENT_STEP`` ids, each step's rows written in one short transaction together with the new
   ``filled_until``: a crash loses only the open step (the database rolls it back) and the next
   run goes on from the last committed one, so nothing is counted twice. Changed deals (the
   ``DealChanged`` queue) are recomputed the same way, deleting exactly the queue rows read.
3. *Derived rollups* are recomputed whole, in one transaction, when the versions of what they
   depend on moved since their last fill; one with ``update`` is instead brought up to date
   from the changes its dependencies recorded, when no source it depends on (e.g. the day)
   moved and its last fill finished.

``full=True`` rebuilds every rollup from all events instead: computed from scratch, then only
the rows that differ are written (so readers never see a half-empty table), in short
transactions, with the fill state "started" in "full" mode until the last one commits; a run
that finds a full fill unfinished does it again. Incremental fills and a full rebuild must give
identical tables (tests/analytics/test_rollups_incremental.py replays random event streams both
ways).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from analytics.locks import BUSY_PATIENCE, Locked, job_lock
from analytics.models import DealChanged, FillState, UsageEvent
from analytics.rollups import sources
from analytics.rollups.registry import DERIVED, REGISTRY, SOURCES, Rollup
from analytics.rollups.writes import Writes

# Event ids per step. A step aggregates its events on the database inside its write
# transaction, which on SQLite holds the one write lock: about 0.1 s per rollup for 10k events
# (bench, 1M events), so event writers never wait much longer than that while a refresh
# catches up on a backlog.
EVENT_STEP = 10_000
DEAL_STEP = 2000
WRITER_WAIT_SECONDS = 30
AnalyticsLocked = Locked


@dataclass
class Context:
    """What one run shares: today's date, a log, and inputs loaded once for several rollups."""

    today: date
    log: Callable[[str], None]
    cache: dict = field(default_factory=dict)

    def cached(self, key: str, load: Callable):
        if key not in self.cache:
            self.cache[key] = load()
        return self.cache[key]


def rollups_fill(*, full: bool = False, log: Callable[[str], None] = lambda m: None) -> dict:
    """Fill every rollup (see the module docstring); returns per rollup the rows written.
    Raises AnalyticsLocked when another run holds the lock."""
    # Patient with a database another writer holds: a refresh that failed on it released its
    # lock on the same database at once, failed again, and left it to block every refresh
    # for two hours while the dashboard said "refreshing…" (outside audit 47, F11).
    with job_lock("update_analytics", patience=BUSY_PATIENCE):
        ctx = Context(today=timezone.now().date(), log=log)
        upto = events_settled(log)
        counts = {}
        for rollup in REGISTRY:
            started = time.monotonic()
            state = _state(rollup.name)
            if state.state == FillState.STARTED:
                log(f"{rollup.name}: the previous {state.mode} fill did not finish; redoing it")
            if rollup.kind == DERIVED:
                counts[rollup.name] = _fill_derived(rollup, state, ctx, force=full)
            elif full or (state.state == FillState.STARTED and state.mode == "full"):
                counts[rollup.name] = _rebuild(rollup, state, ctx, upto)
            else:
                counts[rollup.name] = _fill_events(rollup, state, ctx, upto)
            log(f"{rollup.name}: {counts[rollup.name]} rows in {time.monotonic() - started:.2f}s")
        return counts


# --- Settled events ---------------------------------------------------------------------------


def events_settled(log: Callable[[str], None] = lambda m: None) -> int:
    """The highest event id such that every event with a lower id that will ever exist is
    visible now. On PostgreSQL: read the highest id, then wait until every transaction that
    was inserting events at that moment has ended (``pg_locks``); a transaction that started
    inserting later gets higher ids."""
    top = UsageEvent.objects.aggregate(top=Max("id"))["top"] or 0
    if connection.vendor != "postgresql":
        return top
    table = UsageEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
            "AND relation = %s::regclass AND mode = 'RowExclusiveLock' "
            "AND pid <> pg_backend_pid()",
            [table],
        )
        writers = [row[0] for row in cursor.fetchall()]
        deadline = time.monotonic() + WRITER_WAIT_SECONDS
        while writers:
            cursor.execute(
                "SELECT DISTINCT virtualtransaction FROM pg_locks "
                "WHERE virtualtransaction = ANY(%s)",
                [writers],
            )
            writers = [row[0] for row in cursor.fetchall()]
            if writers and time.monotonic() > deadline:
                log(f"events: {len(writers)} writer(s) still open; new events wait for next run")
                return _filled_minimum()
            if writers:
                time.sleep(0.02)
    return top


def _filled_minimum() -> int:
    """No progress on events this run: the lowest event watermark already filled."""
    names = [r.name for r in REGISTRY if r.kind != DERIVED]
    states = FillState.objects.filter(rollup__in=names).values_list("filled_until", flat=True)
    return min(states, default=0)


# --- Fill states ----------------------------------------------------------------------------


def _state(name: str) -> FillState:
    state = FillState.objects.filter(rollup=name).first()
    if state is None:
        with transaction.atomic():
            state, _ = FillState.objects.get_or_create(rollup=name)
    return state


def _mark_started(state: FillState, *, mode: str, target: int) -> None:
    state.state, state.mode, state.target = FillState.STARTED, mode, target
    state.started_at = timezone.now()
    with transaction.atomic():
        state.save(update_fields=["state", "mode", "target", "started_at"])


def _mark_done(state: FillState, *, filled_until: int | None, changed: bool, inputs=None) -> None:
    """Inside the transaction of the last writes."""
    state.state = FillState.DONE
    if filled_until is not None:
        state.filled_until = filled_until
    if changed:
        state.version += 1
    if inputs is not None:
        state.inputs = inputs
    state.done_at = timezone.now()
    state.save(update_fields=["state", "filled_until", "version", "inputs", "done_at"])


# --- Events rollups ---------------------------------------------------------------------------


def _fill_events(rollup: Rollup, state: FillState, ctx: Context, upto: int) -> int:
    """From ``filled_until`` to ``upto`` in steps, then the changed deals (if it reads
    deals). Each step commits with its fill state."""
    written = 0
    if state.filled_until >= upto and not _deals_waiting(rollup):
        return 0
    _mark_started(state, mode="incremental", target=upto)
    start = state.filled_until
    while start < upto:
        end = min(upto, start + EVENT_STEP)
        writes = rollup.step(ctx, start, end)
        _commit(writes, state, filled_until=end)
        written += writes.rows
        start = end
    if rollup.deals_step is not None:
        written += _fill_deals(rollup, state, ctx, upto)
    with transaction.atomic():
        _mark_done(state, filled_until=max(state.filled_until, upto), changed=False)
    return written


def _deals_waiting(rollup: Rollup) -> bool:
    return rollup.deals_step is not None and DealChanged.objects.exists()


def _fill_deals(rollup: Rollup, state: FillState, ctx: Context, upto: int) -> int:
    """Recompute the queued deals, DEAL_STEP at a time; each step deletes the queue rows it
    read in the transaction that writes the deals' rows."""
    written = 0
    queued = list(DealChanged.objects.order_by("id").values_list("id", "deal_id"))
    for start in range(0, len(queued), DEAL_STEP):
        part = queued[start : start + DEAL_STEP]
        writes = rollup.deals_step(ctx, sorted({deal_id for _, deal_id in part}), upto)
        queue_ids = [row_id for row_id, _ in part]
        writes.steps.append(lambda ids=queue_ids: DealChanged.objects.filter(pk__in=ids).delete())
        _commit(writes, state, filled_until=None)
        written += writes.rows
    return written


def _commit(writes: Writes, state: FillState, *, filled_until: int | None) -> None:
    """All of ``writes`` and the fill state in one transaction."""
    with transaction.atomic():
        for step in writes.steps:
            step()
        if filled_until is not None:
            state.filled_until = filled_until
        if writes.changed:
            state.version += 1
        state.save(update_fields=["filled_until", "version"])


def _rebuild(rollup: Rollup, state: FillState, ctx: Context, upto: int) -> int:
    """Everything from scratch up to event ``upto``; only differing rows are written, each
    step in its own transaction; the state says "started, full" until the last commits."""
    _mark_started(state, mode="full", target=upto)
    queued = []
    if rollup.deals_step is not None:
        queued = list(DealChanged.objects.values_list("id", flat=True))
    writes = rollup.rebuild(ctx, upto)
    for step in writes.steps:
        with transaction.atomic():
            step()
    with transaction.atomic():
        if queued:
            DealChanged.objects.filter(pk__in=queued).delete()
        # Always a new version: a rebuild that died after some of its steps committed finds
        # fewer differences when redone, and what depends on it must still be recomputed.
        _mark_done(state, filled_until=upto, changed=True)
    return writes.rows


# --- Derived rollups --------------------------------------------------------------------------


def _fill_derived(rollup: Rollup, state: FillState, ctx: Context, *, force: bool) -> int:
    inputs = {name: _version(name, ctx) for name in rollup.depends_on}
    if not force and state.state == FillState.DONE and state.inputs == inputs:
        return 0
    finished = state.state == FillState.DONE and state.inputs
    same_sources = all(
        state.inputs.get(name) == inputs[name] for name in rollup.depends_on if name in SOURCES
    )
    _mark_started(state, mode="full" if force else "incremental", target=0)
    writes = None
    if rollup.update is not None and not force and finished and same_sources:
        writes = rollup.update(ctx)
    if writes is None:
        writes = rollup.compute(ctx)
    with transaction.atomic():
        for step in writes.steps:
            step()
        _mark_done(state, filled_until=None, changed=writes.changed, inputs=inputs)
    return writes.rows


def _version(name: str, ctx: Context):
    """The version of a source or rollup, as a derived rollup records it."""
    if name not in SOURCES:
        return FillState.objects.filter(rollup=name).values_list("version", flat=True).first()
    if name == "day":
        return ctx.today.isoformat()
    value = ctx.cached(f"version:{name}", getattr(sources, f"{name}_version"))
    return hashlib.sha1(json.dumps(value, default=str).encode(), usedforsecurity=False).hexdigest()
