"""Writes: what reps and buyers did with assets. Usage events (one, a batch from the events
API or an import), the spool they wait in when the database is busy, and share links (made,
revoked, opened by a buyer: an open is a usage event and may tell the rep)."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.db.models import DateTimeField, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import user_is_enablement_lead, user_manages_content
from analytics.models import ApiKey, Deal, EventKind, ShareLink, UsageEvent
from analytics.rollups.sql import insert_rows as rows_insert
from analytics.services import EVENT_CLOCK_SKEW, deal_external_id_normalise, owner_for
from analytics.tokens import share_link_token, token_digest
from cms.middleware import database_busy
from cms.models import AssetPage
from cms.selectors import (
    asset_original,
    asset_originals,
    asset_visible_to,
    assets_for_user,
    assets_shareable_ids,
)
from cms.spool import Spool, impatient_writes
from notifications.services import notify

logger = logging.getLogger(__name__)
_METADATA = UsageEvent._meta.get_field("metadata")
_KINDS = frozenset(EventKind.values)

#: Nothing the library records happened before this.
EVENT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: An event's metadata, as compact UTF-8 JSON, in bytes.
EVENT_METADATA_MAX_BYTES = 4096


@dataclass
class EventInput:
    idempotency_key: str
    kind: str
    asset_id: int
    deal_external_id: str = ""
    occurred_at: datetime | None = None
    metadata: dict = field(default_factory=dict)
    #: Who acted, as a deal's owner is named (``owner_for``); integration keys only.
    rep: str = ""


@dataclass
class EventBatchResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)


def _stage_at(deal_id: int, when: datetime, histories: dict) -> tuple[int | None, str]:
    """The deal's (journey stage id, CRM stage) at ``when``: the latest history entry at or
    before it, else the earliest entry (the event predates the recorded history)."""
    entries = histories.get(deal_id) or []
    chosen = None
    for entered_at, journey_id, stage in entries:
        if entered_at <= when:
            chosen = (journey_id, stage)
        else:
            break
    if chosen is None and entries:
        chosen = (entries[0][1], entries[0][2])
    return chosen or (None, "")


def _is_integration(api_key: ApiKey | None) -> bool:
    return api_key is not None and api_key.scope == ApiKey.Scope.INTEGRATION


def event_sender(*, user, api_key: ApiKey | None = None) -> str:
    """Whose idempotency keys a batch's keys are (``UsageEvent.sender``): an integration key's
    own (``key:<id>``), else the user's (``user:<id>``), whether they send with a session or
    a personal key."""
    return f"key:{api_key.pk}" if _is_integration(api_key) else f"user:{user.pk}"


def _reps_named(events: list[EventInput]) -> dict[str, int | None]:
    """Each rep an event names -> that active user's id (None: no such user)."""
    found: dict[str, object] = {}
    return {
        event.rep: getattr(owner_for(event.rep, found), "pk", None) for event in events if event.rep
    }


@dataclass
class _BatchContext:
    """What a batch's events may name: ``deals`` (external id -> (id, journey stage id, CRM
    stage)), ``closed`` (those of them closed), ``assets`` (id named -> id stored: an alias's
    events are its original's), ``shareable`` (stored ids that may go to buyers), and whether
    the sender is ``trusted`` (a lead or an integration key: any deal, any moment)."""

    deals: dict
    closed: set[str]
    assets: dict[int, int]
    shareable: set[int]
    trusted: bool


def _batch_context(events: list[EventInput], user, integration: bool) -> _BatchContext:
    """The deals and assets of ``events`` that ``user`` may name: assets they may see; their
    own deals, or any deal for a lead or an integration key."""
    trusted = integration or user_is_enablement_lead(user)
    external_ids = {e.deal_external_id for e in events if e.deal_external_id}
    deals_named = Deal.objects.filter(external_id__in=external_ids)
    if not trusted:
        deals_named = deals_named.filter(owner_id=getattr(user, "pk", None))
    deals, closed = {}, set()
    for external, deal_id, journey_id, stage, outcome in deals_named.values_list(
        "external_id", "id", "journey_stage_id", "stage", "outcome"
    ):
        deals[external] = (deal_id, journey_id, stage)
        if outcome != Deal.Outcome.OPEN:
            closed.add(external)
    asset_ids = {e.asset_id for e in events}
    named = AssetPage.objects.filter(pk__in=asset_ids)
    assets = asset_originals(assets_for_user(user, named).values_list("pk", flat=True))
    shareable = set() if trusted else assets_shareable_ids(set(assets.values()))
    return _BatchContext(deals, closed, assets, shareable, trusted)


#: How far back a rep's (or marketer's) own event may be dated: they record what they do as
#: they do it; older usage comes from an integration key or a lead's backfill.
USER_EVENT_MAX_AGE = timedelta(hours=24)


def _untrusted_error(event: EventInput, context: _BatchContext, now: datetime) -> tuple[str, str]:
    """(field, reason) a rep's or marketer's event may not claim, or ("", ""): the touches
    the effectiveness numbers count must be what the rep did, as the app's own forms record
    them. Only a share link's opening records that a buyer opened it; only an asset meant
    for buyers is shared; a deal is worked while it is open; and the moment is now-ish."""
    if event.kind == EventKind.BUYER_OPENED:
        return "kind", "buyer_opened is recorded when a buyer opens a share link, never sent"
    if event.kind == EventKind.SHARED and context.assets[event.asset_id] not in context.shareable:
        return "asset_id", f"asset {event.asset_id} is internal: it is never shared with buyers"
    if event.deal_external_id in context.closed:
        return "deal_id", f"deal {event.deal_external_id!r} is closed: name one of your open deals"
    when = event.occurred_at
    if when is not None and (when if when.tzinfo else when.replace(tzinfo=UTC)) < now - (
        USER_EVENT_MAX_AGE
    ):
        hours = int(USER_EVENT_MAX_AGE.total_seconds() // 3600)
        return (
            "occurred_at",
            f"more than {hours} hours ago: a user's events are sent as they happen",
        )
    return "", ""


def _event_time_error(when: datetime | None, now: datetime) -> str:
    """Why ``when`` cannot be when an event happened ("" when it can: none means now; a time
    without a zone is UTC)."""
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > now + EVENT_CLOCK_SKEW:
        minutes = int(EVENT_CLOCK_SKEW.total_seconds() // 60)
        return f"{when.isoformat()} is in the future (more than {minutes} minutes from now)"
    if when < EVENT_EARLIEST:
        return f"{when.isoformat()} is before {EVENT_EARLIEST.date().isoformat()}"
    return ""


def _event_error(
    index: int, event: EventInput, context: _BatchContext, reps: dict | None, now: datetime
) -> dict | None:
    """The first problem with one event, or None. An asset the caller may not see gets the
    same answer as one that does not exist, and so does a deal that is not theirs: the API
    is no oracle for what exists. ``reps`` is None when the sender may name no rep (it is
    a user, who acts themselves)."""
    if not event.idempotency_key.strip() or len(event.idempotency_key) > 100:
        error = "1 to 100 characters, not only spaces"
        return {"index": index, "field": "idempotency_key", "error": error}
    if event.kind not in _KINDS:
        error = f"unknown kind {event.kind!r}; the kinds are {', '.join(EventKind.values)}"
        return {"index": index, "field": "kind", "error": error}
    when_error = _event_time_error(event.occurred_at, now)
    if when_error:
        return {"index": index, "field": "occurred_at", "error": when_error}
    if event.metadata:
        size = len(json.dumps(event.metadata, separators=(",", ":"), ensure_ascii=False).encode())
        if size > EVENT_METADATA_MAX_BYTES:
            return {
                "index": index,
                "field": "metadata",
                "error": f"{size} bytes as JSON; at most {EVENT_METADATA_MAX_BYTES}",
            }
    if event.asset_id not in context.assets:
        return {"index": index, "field": "asset_id", "error": f"no asset {event.asset_id}"}
    if event.deal_external_id and event.deal_external_id not in context.deals:
        return {
            "index": index,
            "field": "deal_id",
            "error": f"no deal {event.deal_external_id!r}",
        }
    if event.rep and reps is None:
        error = "only an integration key names the rep; a user's events are their own"
        return {"index": index, "field": "rep", "error": error}
    if event.rep and reps[event.rep] is None:
        return {"index": index, "field": "rep", "error": f"no active user {event.rep!r}"}
    if not context.trusted:
        field, reason = _untrusted_error(event, context, now)
        if field:
            return {"index": index, "field": field, "error": reason}
    return None


def _key_reuses(events: list[EventInput]) -> dict[int, dict]:
    """Index -> the error of each event whose idempotency key an earlier event of the batch
    has with other content: one of the two would be stored and the other counted as its
    duplicate, lost without a word. The same event twice (a retry inside a batch) is fine."""
    first: dict[str, int] = {}
    errors = {}
    for index, event in enumerate(events):
        earlier = first.setdefault(event.idempotency_key, index)
        if earlier != index and event != events[earlier]:
            error = f"also the key of event {earlier}, with other content: one key, one event"
            errors[index] = {"index": index, "field": "idempotency_key", "error": error}
    return errors


def usage_record_batch(
    *, events: list[EventInput], user, api_key: ApiKey | None = None, source: str = "api"
) -> EventBatchResult:
    """Store a batch of events sent by ``user`` (with ``api_key``, if any), all or nothing:
    when any event is refused, none is stored and ``errors`` says, per event (index, field),
    why.

    Who acted: a user's events (a session, a personal key) are theirs. An integration key's
    event is the rep it names (``rep``: an active user, named as a deal's owner is) or
    nobody's; the key's owner is no rep of it. Only integration keys name a rep.

    An event may name only assets ``user`` may see, and only the user's own deals unless the
    user is an enablement lead or uses an integration key. A rep's (or marketer's) events
    claim only what the app's own forms would record (``_untrusted_error``): no
    ``buyer_opened``, no share of an internal asset, no closed deal, nothing older than
    ``USER_EVENT_MAX_AGE``; they are the touches the effectiveness numbers count, so one
    rep could otherwise make an asset look effective. Each idempotency key is stored
    once per sender (``event_sender``), however often it is retried: the insert skips keys
    the sender's unique index already holds (``ON CONFLICT DO NOTHING``), so two writers
    racing with the same key store it once; within a batch, one key on two events that
    differ is refused (``_key_reuses``). The same key from another sender is another
    event, so ``duplicates`` tells nothing of other senders' keys. ``stored`` counts rows
    really inserted. The event keeps the deal's stage as it stood when stored; the rollups
    read the stage at the event's own time from the stage history. ``occurred_at`` must lie
    between ``EVENT_EARLIEST`` and now plus ``EVENT_CLOCK_SKEW`` (none means now), and
    ``metadata`` may take at most ``EVENT_METADATA_MAX_BYTES`` as JSON.
    """
    for event in events:
        event.deal_external_id = deal_external_id_normalise(event.deal_external_id)
        event.rep = (event.rep or "").strip()
    result = EventBatchResult(received=len(events))
    integration = _is_integration(api_key)
    context = _batch_context(events, user, integration)
    reps = _reps_named(events) if integration else None
    now = timezone.now()
    row = _EventRows(event_sender(user=user, api_key=api_key), source, now)
    reuses = _key_reuses(events)
    rows, seen = [], set()
    for index, event in enumerate(events):
        error = _event_error(index, event, context, reps, now) or reuses.get(index)
        if error:
            result.errors.append(error)
            continue
        if event.idempotency_key in seen:
            result.duplicates += 1
            continue
        seen.add(event.idempotency_key)
        event.asset_id = context.assets[event.asset_id]
        rows.append(row(event, context.deals, user.pk if reps is None else reps.get(event.rep)))
    if result.errors:
        result.duplicates = 0
        return result
    result.stored = _insert_new_events(rows)
    result.duplicates += len(rows) - result.stored
    return result


_EVENT_COLUMNS = (
    "sender idempotency_key kind asset_id deal_id journey_stage_id crm_stage user_id source "
    "metadata occurred_at received_at"
).split()


def _insert_new_events(rows: list[tuple]) -> int:
    """One INSERT ... ON CONFLICT (sender, idempotency_key) DO NOTHING for the batch (SQLite
    >= 3.24 and PostgreSQL); the ORM's bulk_create costs more per row than the rest of
    ingestion."""
    table = UsageEvent._meta.db_table
    with transaction.atomic():
        return rows_insert(
            table, _EVENT_COLUMNS, rows, then="ON CONFLICT (sender, idempotency_key) DO NOTHING"
        )


class _EventRows:
    """Turns accepted events into INSERT rows; what is the same for the whole batch (the
    sender, from where, when received, an empty metadata value) is prepared once."""

    def __init__(self, sender: str, source: str, now: datetime):
        self.adapt = connection.ops.adapt_datetimefield_value
        self.sender, self.source, self.now = sender, source, now
        self.received = self.adapt(now)
        self.empty = _METADATA.get_db_prep_save({}, connection)

    def __call__(self, event: EventInput, deals: dict, user_id: int | None) -> tuple:
        when = event.occurred_at or self.now
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        deal_id, journey_id, crm_stage = (
            deals[event.deal_external_id] if event.deal_external_id else (None, None, "")
        )
        metadata = (
            _METADATA.get_db_prep_save(event.metadata, connection) if event.metadata else self.empty
        )
        return (
            self.sender,
            event.idempotency_key,
            event.kind,
            event.asset_id,
            deal_id,
            journey_id,
            crm_stage[:100],
            user_id,
            self.source,
            metadata,
            self.adapt(when),
            self.received,
        )


def usage_record(
    *,
    kind: str,
    asset: AssetPage,
    user=None,
    deal: Deal | None = None,
    share_link: ShareLink | None = None,
    source: str = "web",
) -> UsageEvent:
    """Record one event that happened now in the app (a fresh idempotency key each time).

    Never makes the request wait on a locked database, and never lost: the insert gives up
    after ``cms.spool.PATIENCE_SECONDS`` (``impatient_writes``) and the event then waits in
    the spool (``usage_spool``), stored once the response has gone (``usage_spool_replay``,
    run by ``analytics.receivers``) or by the next ``update_analytics``; its key makes a
    replay harmless. Use of an alias is recorded as use of its original. Returns the event
    (unsaved when spooled).
    """
    event = _usage_event(kind, asset, user, deal, share_link, source, timezone.now())
    try:
        with impatient_writes(), transaction.atomic():
            event.save(force_insert=True)
    except OperationalError as error:
        if not database_busy(error):
            raise
        usage_spool(event)
        return event
    _usage_spool_replay_soon()
    return event


def asset_own_use_record(*, kind: str, asset: AssetPage, user) -> UsageEvent | None:
    """Record ``user`` opening ``asset``'s page or fetching its file or link in the app
    (``asset_viewed``, ``asset_downloaded``), when that is a rep's use; None otherwise.

    People who manage content (``user_manages_content``: marketers, enablement leads, admins)
    open assets to review and check them, not to sell with them: their views and downloads
    are no usage, so they never count as views, downloads or "reps" of an asset, nor take it
    off the "not used yet" list. What anyone does with an asset in a deal (a share, "used in
    a deal") is recorded for whoever did it, and events sent through the API are stored as
    sent (``usage_record_batch``).
    """
    if user_manages_content(user):
        return None
    return usage_record(kind=kind, asset=asset, user=user)


def _usage_event(kind, asset, user, deal, share_link, source, now) -> UsageEvent:
    """The unsaved event ``usage_record`` stores, with the deal's stage as it stands."""
    journey_id, crm_stage = None, ""
    if deal is not None:
        history = list(deal.history.values_list("entered_at", "journey_stage_id", "stage"))
        journey_id, crm_stage = _stage_at(deal.pk, now, {deal.pk: history})
        journey_id = journey_id or deal.journey_stage_id
        crm_stage = crm_stage or deal.stage
    return UsageEvent(
        sender=UsageEvent.SENDER_APP,
        idempotency_key=uuid.uuid4().hex,
        kind=kind,
        asset=asset_original(asset),
        deal=deal,
        journey_stage_id=journey_id,
        crm_stage=crm_stage,
        user=user if getattr(user, "is_authenticated", False) else None,
        share_link=share_link,
        source=source,
        occurred_at=now,
    )


_SPOOLED = (
    "sender idempotency_key kind asset_id deal_id journey_stage_id crm_stage user_id "
    "share_link_id source"
).split()


USAGE_SPOOL = Spool("events")

#: Set when this process has events waiting (spooled, or in memory), so that the response
#: that follows stores them (``analytics.receivers``).
usage_events_pending = threading.Event()
_unspooled: list[dict] = []  # records the spool could not take (a disk error): kept here
_unspooled_lock = threading.Lock()


def usage_spool(event: UsageEvent, *, share_link_open: bool = False) -> None:
    """Keep an event the database could not take now, as a file under DATA_DIR/spool
    (``share_link_open``: a buyer's open, whose link is updated when it is stored). When the
    spool cannot be written (disk full, read-only) the event waits in this process's memory
    for the next replay instead."""
    data = {name: getattr(event, name) for name in _SPOOLED}
    data["occurred_at"] = event.occurred_at.isoformat()
    if share_link_open:
        data["share_link_open"] = True
    try:
        USAGE_SPOOL.put(event.idempotency_key, data)
    except OSError as error:
        logger.warning(
            "database busy and event spool unavailable (%s): event %s kept in memory",
            error,
            event.idempotency_key,
        )
        with _unspooled_lock:
            _unspooled.append(data)
    else:
        logger.warning("database busy: event %s spooled for later", event.idempotency_key)
    usage_events_pending.set()


def _usage_spool_replay_soon() -> None:
    """The database took an event: have the response store whatever still waits."""
    if _unspooled or USAGE_SPOOL.waiting():
        usage_events_pending.set()


def usage_spool_replay(*, wait: bool = True) -> int:
    """Store waiting events (spooled, or in memory) and return how many were stored. Never
    raises: what the database does not take now waits for the next replay. ``wait=False``
    (after a response) gives up on a locked database at once (``impatient_writes``).

    Once each: an app event's (sender, idempotency key) is unique, so a replay of one
    already stored stores nothing; and a buyer's open is noted on its link as it is stored
    (``share_link_opened``), and not stored when it repeats an open stored meanwhile. Events
    go in time order: plain ones in one bulk insert, opens one by one. Safe to run from
    several processes (``cms.spool``). An event spooled before senders were recorded was
    the app's, as every spooled event is; one of an alias is its original's."""
    usage_events_pending.clear()
    with _unspooled_lock:
        memory, _unspooled[:] = _unspooled[:], []
    records = [(None, data) for data in memory]
    for path in USAGE_SPOOL.claim():
        data = USAGE_SPOOL.read(path)
        if data is not None:
            records.append((path, data))
    if not records:
        return 0
    try:
        with contextlib.nullcontext() if wait else impatient_writes():
            waiting = _spooled_events(records)
    except Exception as error:  # the database is gone (a read failed): everything waits
        _spooled_events_keep([(path or data, None, None) for path, data in records], error)
        return 0
    plain = [item for item in waiting if not item[2]]
    opens = [item for item in waiting if item[2]]
    with contextlib.nullcontext() if wait else impatient_writes():
        stored, finished = _spooled_events_store(plain, bulk=True)
        if not finished:
            _spooled_events_keep(opens)
            return stored
        more, _ = _spooled_events_store(opens, bulk=False)
    return stored + more


def _spooled_events(records: list[tuple]) -> list[tuple]:
    """(source, unsaved event, is a buyer's open) per waiting record, oldest first; a record
    that makes no event is set aside (``Spool.set_aside``). ``source`` is the claimed file,
    or the record itself for one kept in memory."""
    events = []
    for path, record in records:
        try:
            data = dict(record)
            opens = data.pop("share_link_open", False)
            data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
            data.setdefault("sender", UsageEvent.SENDER_APP)
            events.append((path or record, UsageEvent(**data), opens))
        except (KeyError, TypeError, ValueError) as error:
            _spooled_event_refused(path or record, error)
    originals = asset_originals([event.asset_id for _, event, _ in events if event.asset_id])
    for _, event, _ in events:  # spooled before an alias's use was its original's
        event.asset_id = originals.get(event.asset_id, event.asset_id)
    return sorted(events, key=lambda item: item[1].occurred_at)


def _spooled_event_refused(source, error: BaseException) -> None:
    """A waiting record the database refuses for what it holds: a file is set aside, a
    record in memory dropped (logged both): it could never be stored, and must not hold
    back the others."""
    if isinstance(source, Path):
        USAGE_SPOOL.set_aside(source, error)
    else:
        key = source.get("idempotency_key") if isinstance(source, dict) else None
        logger.error("event %s refused by the database, dropped: %s", key, error)


def _spooled_events_store(items: list[tuple], *, bulk: bool) -> tuple[int, bool]:
    """Store ``items`` (``_spooled_events``), all in one transaction when ``bulk`` (one by
    one if the database refuses that for one's values). Returns how many were stored, and
    whether all were dealt with: when the database stops taking them (locked), the rest wait
    for the next replay."""
    if bulk and items:
        try:
            with transaction.atomic():
                new = _events_not_stored([event for _, event, _ in items])
                UsageEvent.objects.bulk_create(new, ignore_conflicts=True)
        except (DataError, IntegrityError):
            pass  # one event's own values: store them one by one, setting it aside
        except Exception as error:  # database locked, gone...: everything waits
            _spooled_events_keep(items, error)
            return 0, False
        else:
            _spooled_events_done(items)
            return len(new), True
    stored = 0
    for index, (source, event, opens) in enumerate(items):
        try:
            with transaction.atomic():
                link = opens and _share_link(event.share_link_id)
                taken = not link or _share_link_open(link, event.occurred_at, late=True)
                taken = taken and bool(_events_not_stored([event]))
                if taken:
                    UsageEvent.objects.bulk_create([event], ignore_conflicts=True)
        except (DataError, IntegrityError) as error:  # its own value (its asset deleted...)
            _spooled_event_refused(source, error)
            continue
        except Exception as error:  # database locked, gone...: this one and the rest wait
            _spooled_events_keep(items[index:], error)
            return stored, False
        _spooled_events_done([(source, event, opens)])
        stored += taken
    return stored, True


def _events_not_stored(events: list[UsageEvent]) -> list[UsageEvent]:
    """``events`` but those whose (sender, idempotency key) is stored already (a replay of a
    record stored before its file was removed): they are not counted again."""
    senders = {event.sender for event in events}  # the unique index leads with the sender
    keys = sorted({event.idempotency_key for event in events})
    stored = set()
    for start in range(0, len(keys), 500):  # within any database's limit on parameters
        found = UsageEvent.objects.filter(
            sender__in=senders, idempotency_key__in=keys[start : start + 500]
        )
        stored.update(found.values_list("sender", "idempotency_key"))
    return [event for event in events if (event.sender, event.idempotency_key) not in stored]


def _spooled_events_keep(items: list[tuple], error: BaseException | None = None) -> None:
    """Give ``items`` back for the next replay (files to the spool, the rest to memory)."""
    if not items:
        return
    if error is not None:
        logger.warning("%s waiting events not stored yet (%s): kept for later", len(items), error)
    USAGE_SPOOL.release([source for source, _, _ in items if isinstance(source, Path)])
    with _unspooled_lock:
        _unspooled.extend(source for source, _, _ in items if not isinstance(source, Path))
    usage_events_pending.set()


def _spooled_events_done(items: list[tuple]) -> None:
    USAGE_SPOOL.done([source for source, _, _ in items if isinstance(source, Path)])


# --- Share links ------------------------------------------------------------------------------


def share_link_create(
    *, user, asset: AssetPage, deal: Deal, recipient_note: str = ""
) -> tuple[ShareLink, str]:
    """A link for a buyer to open ``asset``; returns the link and its token.

    Refused (ValidationError) unless the asset may go to buyers, ``user`` may see it, and
    the deal is the user's own open deal (an enablement lead may use any open deal). The
    token carries 256 bits. Recording the share is an asset_shared touch of the deal. A link
    made from an alias is to its original (the same content, which whoever may see the alias
    may see), so it outlives the alias being removed.
    """
    _share_refusal(user=user, asset=asset, deal=deal)
    return _share_link_new(user=user, asset=asset_original(asset), deal=deal, note=recipient_note)


def share_link_give(
    *, user, asset: AssetPage, deal: Deal, recipient_note: str = ""
) -> tuple[ShareLink, str, bool]:
    """``share_link_create``, unless ``user`` already has an open link to ``asset`` in
    ``deal`` for the same recipient note (compared casefolded): that one is given back,
    renewed to open ``SHARE_LINK_DAYS`` from now. Returns the link, its token and whether it
    was given back.

    Sharing an asset again in the same deal for the same buyer is the rep asking for the link
    again, not a second link: a second identical link would only be one more to revoke, and
    one more "shared" touch would count the same share twice. A link made for another
    recipient note, revoked, expired, or whose token cannot be shown again is not reused. The
    same refusals as ``share_link_create`` come first: reuse gives nothing a new link would
    not."""
    _share_refusal(user=user, asset=asset, deal=deal)
    original = asset_original(asset)
    now = timezone.now()
    candidates = ShareLink.objects.filter(
        created_by=user, asset=original, deal=deal, revoked_at__isnull=True, expires_at__gt=now
    ).order_by("-created_at", "-pk")
    note = recipient_note.strip().casefold()
    for link in candidates:
        token = share_link_token(link)
        if not token or token_digest(token) != link.token_hash:
            continue  # made before nonces, or under another SECRET_KEY: it cannot be shown
        if link.recipient_note.strip().casefold() == note:
            link.expires_at = now + timedelta(days=settings.SHARE_LINK_DAYS)
            link.save(update_fields=["expires_at"])
            return link, token, True
    return (*_share_link_new(user=user, asset=original, deal=deal, note=recipient_note), False)


def _share_refusal(*, user, asset: AssetPage, deal: Deal) -> None:
    """Raise ValidationError unless ``user`` may share ``asset`` in ``deal`` now."""
    if not asset_visible_to(user, asset):
        raise ValidationError({"asset": f"no asset {asset.pk}"})
    if not asset.shareable_with_buyers:
        raise ValidationError({"asset": "This asset is internal and cannot be shared with buyers."})
    own = deal.owner_id == user.pk or user_is_enablement_lead(user)
    if not own or deal.outcome != Deal.Outcome.OPEN:
        raise ValidationError({"deal": "Pick one of your open deals."})


def _share_link_new(*, user, asset: AssetPage, deal: Deal, note: str) -> tuple[ShareLink, str]:
    link = ShareLink(
        nonce=secrets.token_hex(16),
        asset=asset,
        deal=deal,
        created_by=user,
        recipient_note=note.strip(),
        expires_at=timezone.now() + timedelta(days=settings.SHARE_LINK_DAYS),
    )
    token = share_link_token(link)
    link.token_hash = token_digest(token)
    link.full_clean()
    link.save()
    usage_record(
        kind=EventKind.SHARED, asset=asset, user=user, deal=deal, share_link=link, source="web"
    )
    return link, token


def share_link_revoke(*, link: ShareLink) -> bool:
    """Revoke ``link``; returns False when it was already revoked."""
    if link.revoked_at is not None:
        return False
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at"])
    return True


#: A rep hears that a buyer opened their link at most once in this long (a buyer reloading or
#: coming back the same afternoon is one visit).
OPEN_NOTICE_EVERY = timedelta(hours=12)


#: Opens of one link closer together than this are one open (a reload, a page and its
#: download, two tabs): one touch, one "last opened".
OPEN_REPEAT = timedelta(minutes=30)


def share_link_opened(*, link: ShareLink) -> None:
    """A buyer opened ``link``: note when (the rep's list shows it), tell the rep who made it
    (a notification, at most once per ``OPEN_NOTICE_EVERY``), and record the touch; an open
    within ``OPEN_REPEAT`` of the last one is the same open and records nothing. (Who is not
    a buyer - a link preview, a signed-in user - is for the view to tell:
    ``analytics.share_views``.) When the database is busy the buyer does not wait for it
    (``impatient_writes``): the open waits in the spool with its event, all of it done when
    the event is stored (``usage_spool_replay``, once the response has gone); the buyer
    never sees an error."""
    now = timezone.now()
    event = _usage_event(EventKind.BUYER_OPENED, link.asset, None, link.deal, link, "share", now)
    try:
        with impatient_writes(), transaction.atomic():
            if not _share_link_open(link, now):
                return
            event.save(force_insert=True)
    except OperationalError as error:
        if not database_busy(error):
            raise
        usage_spool(event, share_link_open=True)
        return
    _usage_spool_replay_soon()


def _share_link(link_id: int) -> ShareLink | None:
    return ShareLink.objects.select_related("asset", "deal").filter(pk=link_id).first()


def _share_link_open(link: ShareLink, at: datetime, late: bool = False) -> bool:
    """Note an open of ``link`` at ``at`` and tell its rep when due; False when it repeats
    an open within ``OPEN_REPEAT`` either side. One conditional UPDATE, so two requests at
    once make one open. An open stored ``late`` (spooled) may come after later ones, so
    the link's last open does not tell: the opens stored near it do."""
    near_at = (at - OPEN_REPEAT, at + OPEN_REPEAT)
    opens = UsageEvent.objects.filter(kind=EventKind.BUYER_OPENED, share_link=link)
    if late and opens.filter(deal_id=link.deal_id, occurred_at__range=near_at).exists():
        return False  # (deal, occurred_at) is indexed
    before = ShareLink.objects.filter(pk=link.pk).values_list("last_opened_at", flat=True).get()
    near = Q(last_opened_at__gt=near_at[0], last_opened_at__lt=near_at[1])
    when = Value(at, output_field=DateTimeField())
    latest = Greatest(Coalesce("last_opened_at", when), when)
    if not ShareLink.objects.filter(pk=link.pk).exclude(near).update(last_opened_at=latest):
        return False
    if before is None or at - before >= OPEN_NOTICE_EVERY:
        _share_link_open_notice(link)
    link.last_opened_at = max(before, at) if before else at
    return True


def _share_link_open_notice(link: ShareLink) -> None:
    deal = link.deal.name or link.deal.external_id
    whom = f" ({link.recipient_note})" if link.recipient_note else ""
    text = f"Your buyer opened “{link.asset.title}” for {deal}{whom}."
    notify(
        users=[link.created_by],
        kind="share_opened",
        text=text,
        url=reverse("analytics:share_links"),
        asset_id=link.asset_id,
    )
