"""Writes: a rep's search (run, recorded, shaped for the page and the API), keeping the index
in step with the library, recording searches (spooled, written after the response) and clicks.

Index updates are requested with ``search.tasks.index_schedule`` (signal handlers call it).
It writes a ``PendingIndexUpdate`` row per asset at once (``pending_request``), inside the
transaction that made the change, and enqueues ``search.tasks.index_assets_task`` when that
transaction commits; the task calls ``index_assets``, which applies the update and deletes the
rows. Until then, and for as long as the engine refuses writes, searches leave those assets
out (``selectors.pending_asset_ids``), so a restriction, unpublication or deletion is never
lost and never outrun by a stale entry.
``index_assets`` never raises: whatever goes wrong, it logs, keeps the rows with the error and
returns; the next write, or ``search_reindex``, replays them. Publishing always succeeds.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, MARKETER
from accounts.services import role_permissions_grant
from cms.models import AssetPage
from cms.selectors import asset_visible_to, assets_live, taxonomy_unknown_slugs
from cms.spool import Spool
from search import selectors
from search.admin_backend import AdminSearchUnavailable, admin_index_problem
from search.documents import live_documents
from search.engines import IndexMissing, SearchUnavailable, get_engine
from search.forms import InvalidSearch, is_search, query_from_params
from search.models import (
    AdminIndexStale,
    PendingIndexUpdate,
    RankingSignal,
    SearchClick,
    SearchEvent,
)
from search.query import SearchQuery, SearchResults, audience_for, normalize_text
from search.results import RepSearchPage, page_build, page_link
from search.selectors import IndexReport, index_changed_since, index_check

logger = logging.getLogger(__name__)
PENDING_BATCH = 500
MAX_BATCHES = 400  # one call replays at most this many batches of the backlog


def pending_request(*, asset_ids: Iterable[int]) -> None:
    """Record that these assets' index entries must be brought up to date (a newer request
    moves ``requested_at`` forward, so a write that started earlier does not clear it)."""
    now = timezone.now()
    rows = [PendingIndexUpdate(asset_id=i, requested_at=now) for i in sorted(set(asset_ids))]
    PendingIndexUpdate.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["asset_id"],
        update_fields=["requested_at", "error"],
    )


def _pending_failed(asset_ids: Iterable[int], error: str) -> None:
    """Keep (or add) rows for a failed write, with the error; ``requested_at`` is kept."""
    ids = sorted(set(asset_ids))
    PendingIndexUpdate.objects.bulk_create(
        [PendingIndexUpdate(asset_id=i, error=error[:500]) for i in ids],
        batch_size=500,
        ignore_conflicts=True,
    )
    PendingIndexUpdate.objects.filter(asset_id__in=ids).update(error=error[:500])


@dataclass
class IndexOutcome:
    indexed: int = 0
    deleted: int = 0
    pending: int = 0
    ok: bool = True


def index_assets(*, asset_ids: Iterable[int]) -> IndexOutcome:
    """Bring these assets' index entries up to date: live ones are upserted, everything else
    (unpublished, archived, expired, deleted) is removed. Replays the pending updates too, a
    batch at a time. An indexing failure of any kind is logged and leaves the updates
    pending (with the error), never raised: the caller's publish must succeed."""
    requested = {int(asset_id) for asset_id in asset_ids}
    outcome = IndexOutcome()
    for _ in range(MAX_BATCHES):
        started = timezone.now()
        waiting = list(
            PendingIndexUpdate.objects.filter(requested_at__lte=started)
            .order_by("requested_at")
            .values_list("asset_id", flat=True)[:PENDING_BATCH]
        )
        ids = sorted(requested | set(waiting))
        if not ids:
            break
        try:
            indexed, deleted = _apply(ids)
        except Exception as error:  # whatever it is, the update must not be lost
            logger.warning("search index update postponed for %s assets: %s", len(ids), error)
            _pending_failed(ids, f"{type(error).__name__}: {error}")
            outcome.ok = False
            outcome.pending = PendingIndexUpdate.objects.count()
            return outcome
        PendingIndexUpdate.objects.filter(asset_id__in=ids, requested_at__lte=started).delete()
        outcome.indexed += indexed
        outcome.deleted += deleted
        requested = set()
        if len(waiting) < PENDING_BATCH:
            break
    return outcome


#: An update waiting this long has missed its own task (the engine was down, or the queue
#: lost it): ``index_catch_up`` replays it. Younger ones may still be on their way.
CATCH_UP_AFTER = timedelta(seconds=30)


def index_catch_up() -> IndexOutcome | None:
    """Replay the index updates that have waited longer than ``CATCH_UP_AFTER``; None when
    none have. The scheduler runs it, so an asset published while the engine was down is
    found again within a minute of the engine coming back, with nobody acting (it is left
    out of every search while its update waits)."""
    due = timezone.now() - CATCH_UP_AFTER
    if not PendingIndexUpdate.objects.filter(requested_at__lte=due).exists():
        return None
    return index_assets(asset_ids=[])


def index_restore() -> int | None:
    """Rebuild the index from the database (beside the live one, then swapped in) when the
    engine answers and its index cannot serve the library: built for other fields (an
    upgrade added a searchable field or a facet: every engine refuses such an index), missing
    (a deleted or moved index directory, an index deleted on the search server or a wiped
    node: searches answer "unavailable" meanwhile, not "nothing matches"), corrupt (damaged
    files: search was unavailable until someone ran ``search_reindex``), or holding no
    document while the library has live assets (an index emptied on the server). Returns
    how many were indexed, else None; logs what it found; raises when the rebuild fails
    (the scheduler runs it through ``index_restore_when_due``, which backs off). An engine
    that does not answer (a server down) is left alone: down is not corrupt, and its index
    is rebuilt for none of this."""
    health = get_engine().health()
    found = _index_unfit(health)
    if found is None:
        return None
    logger.warning("the search index %s: rebuilding it from the database", found)
    return index_rebuild()


@dataclass
class RestoreBackoff:
    """When the scheduler may try a rebuild again after one failed: ``first`` after the
    first failure (the scheduler's interval), twice as long after each failure since, never
    longer than ``cap``; a rebuild that succeeds, or an index found fit, starts over. The
    scheduler holds one and hands it the time (tests hand it theirs: nothing sleeps)."""

    first: timedelta
    cap: timedelta
    failures: int = 0
    delay: timedelta = timedelta(0)
    next_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.next_at is None or now >= self.next_at

    def failed(self, now: datetime, *, what: str, error: Exception) -> None:
        """Count a failure at ``now`` to rebuild ``what`` and log it with when the next
        attempt is due."""
        self.delay = min(self.delay * 2, self.cap) if self.failures else min(self.first, self.cap)
        self.failures += 1
        self.next_at = now + self.delay
        logger.warning(
            "%s could not be rebuilt (%s failed attempt(s) in a row): %s; "
            "the next attempt is due in %s s, at %s",
            what,
            self.failures,
            f"{type(error).__name__}: {error}",
            f"{self.delay.total_seconds():.0f}",
            f"{self.next_at:%Y-%m-%d %H:%M:%S %Z}",
        )

    def succeeded(self) -> None:
        self.failures, self.delay, self.next_at = 0, timedelta(0), None


def index_restore_when_due(*, backoff: RestoreBackoff, now: datetime) -> int | None:
    """``index_restore`` as the scheduler runs it, every tick: a rebuild that fails (the
    server refuses writes, the database went away) is logged with when the next attempt is
    due, and none is made before then (``backoff``): it was retried at every tick. Returns
    what ``index_restore`` returns, None while waiting or after a failure; never raises, so
    the scheduler's other index jobs still run."""
    if not backoff.due(now):
        return None
    try:
        restored = index_restore()
    except Exception as error:  # whatever it is, the next attempt waits for its turn
        backoff.failed(now, what="the search index", error=error)
        return None
    backoff.succeeded()
    return restored


def _index_unfit(health) -> str | None:
    """What is wrong with the index that a rebuild fixes, or None."""
    if health.outdated:
        return f"was built for other fields ({health.detail})"
    if health.missing:
        return f"is missing ({health.detail})"
    if health.corrupt:
        return f"is corrupt ({health.detail})"
    if health.ok and health.documents == 0 and assets_live().exists():
        return "is empty while assets are live"
    return None


def admin_index_catch_up(
    *, backoff: RestoreBackoff | None = None, now: datetime | None = None
) -> bool:
    """Rebuild the admin's indexes (Wagtail's ``update_index``) when a write to them was
    missed (``search.models.AdminIndexStale``) or when the server's are missing or clearly
    incomplete (``admin_index_problem``: a wiped node, after which the admin's searches
    answered 503, then found only the pages published since); returns whether it did.

    Only a rebuild run against a server that answers clears the mark: while the server
    cannot be asked nothing is tried and the mark stays (the rebuild command used to end
    without error there, and the mark was dropped with the index still stale). A miss
    recorded while it runs stays for the next time. A rebuild that fails is logged with
    when the next is due and none is made before then (``backoff``, as
    ``index_restore_when_due``; None tries at every call). Never raises."""
    from django.core.management import call_command

    now = now or timezone.now()
    if backoff is not None and not backoff.due(now):
        return False
    started = timezone.now()
    stale = AdminIndexStale.objects.exists()
    try:
        problem = admin_index_problem()
    except AdminSearchUnavailable as error:  # down is not broken: nothing to back off from
        if stale:
            logger.warning("admin search index not rebuilt yet: %s", error)
        return False
    except Exception as error:  # e.g. the database went away
        return _admin_rebuild_failed(error, backoff=backoff, now=now)
    if not stale and problem is None:
        if backoff is not None:
            backoff.succeeded()
        return False
    found = "missed writes" if stale else problem
    logger.warning("the admin search index %s: rebuilding it from the database", found)
    try:
        call_command("update_index", verbosity=0)
    except Exception as error:
        return _admin_rebuild_failed(error, backoff=backoff, now=now)
    AdminIndexStale.objects.filter(marked_at__lte=started).delete()
    if backoff is not None:
        backoff.succeeded()
    return True


def _admin_rebuild_failed(
    error: Exception, *, backoff: RestoreBackoff | None, now: datetime
) -> bool:
    """Log a failed rebuild of the admin's indexes (with ``backoff``, and when the next is
    due); False."""
    if backoff is None:
        logger.warning("the admin search index could not be rebuilt: %s", error)
    else:
        backoff.failed(now, what="the admin search index", error=error)
    return False


def _apply(ids: list[int]) -> tuple[int, int]:
    """Write these assets' entries. With no index at all (``IndexMissing``) one is made only
    when these are every live asset (a new library's first publish): otherwise it would
    hold a few assets and answer for the whole library; the write waits as pending and the
    scheduler rebuilds the index from the database (``index_restore``)."""
    documents = _documents(ids)
    gone = sorted(set(ids) - {document.id for document in documents})
    engine = get_engine()
    try:
        engine.upsert(documents)
        engine.delete(gone)
    except IndexMissing:
        if assets_live().exclude(pk__in=ids).exists():
            raise
        engine.reset()
        engine.upsert(documents)
        engine.delete(gone)
    return len(documents), len(gone)


def _documents(ids: list[int]) -> list:
    """Current documents for the live ones among ``ids`` (``live_documents``)."""
    assets = AssetPage.objects.filter(pk__in=ids)
    return [document for batch in live_documents(assets) for document in batch]


def index_rebuild(
    *, batch_size: int = 500, progress: Callable[[int, int], None] | None = None
) -> int:
    """Rebuild the whole index beside the live one and swap it in, then repair what changed
    while it was being built (writes during the rebuild went to the old index): assets
    published or changed since the start, ids gone from or added to the library, and the
    pending updates. Returns the number of assets indexed; ``SearchUnavailable`` when down."""
    started = timezone.now()
    total = assets_live().count()
    done = 0

    def batches():
        nonlocal done
        for batch in live_documents(batch_size=batch_size):
            yield batch
            done += len(batch)
            if progress:
                progress(done, total)

    engine = get_engine()
    count = engine.rebuild(batches())
    live = set(assets_live().values_list("pk", flat=True))
    indexed = engine.indexed_ids()
    repair = (live ^ indexed) | index_changed_since(started)
    outcome = index_assets(asset_ids=repair)  # also replays every pending update
    if not outcome.ok:
        raise SearchUnavailable("the engine went away while the rebuild was being repaired")
    return count


def index_repair(*, batch_size: int = 500) -> IndexReport:
    """Fix only what ``index_check`` finds (missing, stale, extra) without a full rebuild;
    e.g. after analytics recomputed the ranking signals. Returns what was found."""
    report = index_check(batch_size=batch_size)
    if not report.ok:
        outcome = index_assets(asset_ids=[*report.missing, *report.stale, *report.extra])
        if not outcome.ok:
            raise SearchUnavailable("the engine went away during the repair")
    return report


def search_event_record(
    *, user, query: SearchQuery, results: SearchResults, source: str, refines: str | None = None
) -> SearchEvent:
    """Record one search without making the rep wait for the database.

    The event gets its key now (result links refer to it) and is spooled: one small file
    under DATA_DIR/spool/searches, written in bulk by ``search_events_flush`` once the
    response has gone (``search.receivers``), by the analytics refresh, or by a click on one
    of its results. When the spool cannot be written (disk full, read-only) the event is
    inserted at once instead; when that fails too it waits in this process's memory for the
    next flush. ``refines``: the key of the search this one continued as the rep typed.
    Returns the unsaved event."""
    filters = {name: list(values) for name, values in query.active_filters().items()}
    if query.deal:
        filters["deal"] = dict(query.deal.items())
    if query.sort != "relevance":
        filters["sort"] = query.sort
    event = SearchEvent(
        key=uuid.uuid4(),
        user=user if getattr(user, "is_authenticated", False) else None,
        query=query.text[:500],
        # Text with no searchable word ("the", "🚚") is grouped with no text: the page told the
        # rep so, and no content could answer it, so search gaps never list it.
        normalized_query="" if query.unsearchable else normalize_text(query.text),
        filters=filters,
        result_count=results.total,
        latency_ms=round(results.took_ms, 3),
        source=source,
        refines=_search_key(refines),
        created_at=timezone.now(),
    )
    try:
        _search_spool(event)
    except OSError as error:
        logger.warning("search spool unavailable (%s): writing search %s now", error, event.key)
        _search_events_write([event])
    return event


_SPOOLED_FIELDS = (
    "user_id query normalized_query filters result_count latency_ms source refines".split()
)
_unspooled: list[SearchEvent] = []  # events neither spool nor database took (retried)


SEARCH_SPOOL = Spool("searches")


def _search_spool(event: SearchEvent) -> None:
    data = {name: getattr(event, name) for name in _SPOOLED_FIELDS}  # refines is a str here
    data.update(key=event.key.hex, created_at=event.created_at.isoformat())
    SEARCH_SPOOL.put(event.key.hex, data)
    search_events_pending.set()


def _search_events_write(events: list[SearchEvent]) -> int:
    """Insert ``events`` (a key already stored is skipped) and return how many were written;
    on failure keep them in memory, except an event the database refuses for what it holds
    (logged and dropped: it could never be written, and must not hold back the others)."""
    try:
        with transaction.atomic():
            SearchEvent.objects.bulk_create(events, ignore_conflicts=True)
        return len(events)
    except (DataError, IntegrityError):
        pass
    except Exception as error:  # whatever it is, the events must not be lost
        _keep_for_later(events, error)
        return 0
    written = 0
    for index, event in enumerate(events):
        try:
            with transaction.atomic():
                SearchEvent.objects.bulk_create([event], ignore_conflicts=True)
        except (DataError, IntegrityError) as error:
            logger.error("search %s refused by the database, dropped: %s", event.key, error)
            continue
        except Exception as error:
            _keep_for_later(events[index:], error)
            break
        written += 1
    return written


def _keep_for_later(events: list[SearchEvent], error: BaseException) -> None:
    logger.warning("could not write %s searches (%s): kept for later", len(events), error)
    with _unspooled_lock:
        _unspooled.extend(events)
    search_events_pending.set()


#: Set when this process has spooled a search since its last flush (tested after every response).
search_events_pending = threading.Event()
_unspooled_lock = threading.Lock()


def search_events_flush() -> int:
    """Write every spooled search to the database in one transaction; returns how many were
    written. Never raises: on failure the files go back for the next flush. Safe in several
    processes at once (each file is claimed by a rename; a key is written once)."""
    search_events_pending.clear()
    with _unspooled_lock:
        events, _unspooled[:] = _unspooled[:], []
    written = _search_events_write(events) if events else 0
    claimed = {path: _spooled_event(path) for path in SEARCH_SPOOL.claim()}
    claimed = {path: event for path, event in claimed.items() if event is not None}
    events = list(claimed.values())
    if not events:
        return written
    try:
        _users_still_there(events)
        with transaction.atomic():
            SearchEvent.objects.bulk_create(events, ignore_conflicts=True)
    except (DataError, IntegrityError):  # one event's own value: write the rest without it
        return written + _search_events_write_each(claimed)
    except Exception as error:  # database locked, disk error...: put the files back
        logger.warning("spooled searches not written yet (%s); kept for the next flush", error)
        SEARCH_SPOOL.release(claimed)
        search_events_pending.set()
        return written
    SEARCH_SPOOL.done(claimed)
    return written + len(events)


def _search_events_write_each(claimed: dict[Path, SearchEvent]) -> int:
    """Write claimed events one at a time, setting aside each the database refuses for what
    it holds; returns how many were written. A failure of another kind (locked, gone) puts
    the rest back for the next flush."""
    written = 0
    paths = list(claimed)
    for index, path in enumerate(paths):
        try:
            with transaction.atomic():
                SearchEvent.objects.bulk_create([claimed[path]], ignore_conflicts=True)
        except (DataError, IntegrityError) as error:
            SEARCH_SPOOL.set_aside(path, error)
            continue
        except Exception as error:
            logger.warning("spooled searches not written yet (%s); kept for the next flush", error)
            SEARCH_SPOOL.release(paths[index:])
            search_events_pending.set()
            return written
        SEARCH_SPOOL.done([path])
        written += 1
    return written


def _users_still_there(events: list[SearchEvent]) -> None:
    """A user deleted since the search ran is forgotten (as deleting them does to their
    stored searches), so one such event cannot hold back the rest."""
    wanted = {event.user_id for event in events if event.user_id}
    known = set(get_user_model().objects.filter(pk__in=wanted).values_list("pk", flat=True))
    for event in events:
        if event.user_id not in known:
            event.user_id = None


def _spooled_event(path: Path) -> SearchEvent | None:
    """The event in a claimed file; an unreadable one is set aside (``Spool.read``)."""
    data = SEARCH_SPOOL.read(path)
    if data is None:
        return None
    try:
        data["key"] = uuid.UUID(data["key"])
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        return SearchEvent(**data)
    except (ValueError, TypeError, KeyError) as error:
        logger.error("unreadable spooled search %s set aside: %s", path.name, error)
        path.replace(path.with_suffix(".bad"))
        return None


def search_click_record(
    *, user, search_key: str, asset_id: int, position: int, record: bool = True
) -> str | None:
    """Record that ``user`` opened ``asset_id`` from their search ``search_key`` and return
    the asset's URL, or None when the asset is not visible to them (nothing is recorded).
    Clicks on someone else's search are not recorded but still lead to the asset. A search
    still in the spool is written first. ``record=False`` (a HEAD) only answers."""
    asset = AssetPage.objects.filter(pk=asset_id).first()
    if asset is None or not asset_visible_to(user, asset):
        return None
    if not record:
        return asset.get_url()
    event = SearchEvent.objects.filter(key=search_key, user=user).first()
    if event is None and search_events_flush():
        event = SearchEvent.objects.filter(key=search_key, user=user).first()
    if event is not None:
        SearchClick.objects.create(search=event, asset=asset, position=max(0, position))
    return asset.get_url()


def ranking_signals_replace(*, signals: Mapping[int, Mapping]) -> int:
    """Store every asset's ranking signals and re-index the assets whose signals changed;
    returns how many changed. ``signals`` maps an asset id to ``{"effective": float in [0, 1],
    "popularity": float in [0, 1]}``; an asset not listed becomes neutral.
    A value outside [0, 1] raises ValueError naming the asset. Re-indexing follows
    ``index_assets``: with the engine down the assets wait as pending updates."""
    wanted = {}
    for asset_id, values in signals.items():
        row = (float(values.get("effective") or 0.0), float(values.get("popularity") or 0.0))
        if not all(0.0 <= value <= 1.0 and not math.isnan(value) for value in row):
            raise ValueError(f"asset {asset_id}: ranking signals must lie in [0, 1], got {row}")
        if row != (0.0, 0.0):
            wanted[int(asset_id)] = row
    current = {
        asset_id: (effective, popularity)
        for asset_id, effective, popularity in RankingSignal.objects.values_list(
            "asset_id", "effective", "popularity"
        )
    }
    changed = sorted(a for a in set(current) | set(wanted) if current.get(a) != wanted.get(a))
    if not changed:
        return 0
    with transaction.atomic():
        RankingSignal.objects.filter(asset_id__in=changed).delete()
        RankingSignal.objects.bulk_create(
            RankingSignal(asset_id=a, effective=e, popularity=p)
            for a, (e, p) in wanted.items()
            if a in changed
        )
    index_assets(asset_ids=changed)
    return len(changed)


def search_roles_ensure() -> None:
    """Let marketers and enablement leads keep the search synonyms (Settings > Search
    synonyms); runs after every ``migrate`` (``search.apps``). Only adds."""
    role_permissions_grant(
        roles=(MARKETER, ENABLEMENT_LEAD), permissions=["library_search.change_searchsynonyms"]
    )


# --- A rep's search: one path for the page and the API ---------------------------------------


def _search_key(value) -> str | None:
    """The search key a later page passes as ``sid`` (None when absent or malformed)."""
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


def _refuse_unknown_terms(query: SearchQuery) -> None:
    """Raise ``InvalidSearch`` naming the first facet or deal value that names no term (one
    renamed or deleted since the link was made, or an edited URL), rather than answer
    "nothing matches" for a filter that cannot match. The labels this process caches answer
    first; a value they lack is looked up in the database, where a term another process has
    just added already is."""
    asked = [(name, name, slug) for name, slugs in query.filters.items() for slug in slugs]
    asked += [(f"deal_{name}", name, slug) for name, slug in query.deal.items()]
    labels = selectors.taxonomy_labels()
    doubtful = [item for item in asked if item[2] not in labels.get(item[1], {})]
    if not doubtful:
        return
    by_facet: dict[str, list[str]] = {}
    for _, name, slug in doubtful:
        by_facet.setdefault(name, []).append(slug)
    unknown = taxonomy_unknown_slugs(by_facet)
    for parameter, name, slug in doubtful:
        if slug in unknown.get(name, ()):
            raise InvalidSearch(f"{parameter}: no {name} {slug!r}")


def rep_search(
    *,
    user,
    params,
    source: str,
    per_page: int = 20,
    refines: str | None = None,
    record: bool = True,
) -> RepSearchPage:
    """Everything the search page renders and ``GET /api/v1/search`` serialises, for
    ``params`` (the page's query string or the API's parameters; see ``search.forms``):
    the results as cards (link, labels, reasons, thumbnail, the actions other apps offer),
    facet groups with their links, deal mode's choices, sorting and paging links.

    A search (text, a filter or a deal) is recorded as a ``SearchEvent`` (``source``: "web"
    or "api"); the next pages of a recorded search pass its id as ``sid`` and record
    nothing; ``refines`` names the search this one continued as the rep typed; without
    ``record`` nothing is recorded. Raises
    ``InvalidSearch`` (a parameter it cannot use, named) and
    ``SearchUnavailable`` (engine down)."""
    query = query_from_params(params, audience=audience_for(user), per_page=per_page)
    _refuse_unknown_terms(query)
    results = selectors.search_run(query=query)
    last = max(results.pages, 1)
    if query.page > last:
        raise InvalidSearch(
            f"page {query.page} is past the last page of this search ({last})",
            way_out=(f"Go to page {last}", page_link(params, page=last if last > 1 else None)),
        )
    search_id = _search_key(params.get("sid"))
    if record and is_search(query) and (query.page == 1 or search_id is None):
        event = search_event_record(
            user=user, query=query, results=results, source=source, refines=refines
        )
        search_id = str(event.key)
    return page_build(
        query=query,
        results=results,
        params=params,
        search_id=search_id,
        user=user,
        labels=selectors.taxonomy_labels(),
        today=timezone.localdate().isoformat(),
        # The page and the API offer them; the deal panel, which shows no empty results,
        # would pay an engine call for nothing.
        filters_named=_filters_named(query, results) if source in ("web", "api") else [],
    )


def _filters_named(query: SearchQuery, results) -> list[selectors.FilterNamed]:
    """The stage and pillar filters a text search that found nothing names
    (``selectors.filters_named``); none when their counts cannot be had (the search itself
    was answered, so the page still shows, without them)."""
    if results.total or results.reason or not query.text.strip():
        return []
    try:
        return selectors.filters_named(query)
    except SearchUnavailable as error:
        logger.warning("the filters a search names were not counted: %s", error)
        return []
