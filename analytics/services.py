"""Writes: deals and their stage history, the lead's choices, feedback, API keys (usage events
and share links: ``analytics.usage``)."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.throttle import APP_KEY_PREFIX, credentials_check, credentials_failed
from analytics.models import (
    AnalyticsSettings,
    ApiKey,
    AssetFeedback,
    Deal,
    DealChanged,
    DealStageChange,
)
from analytics.outdated_reviews import outdated_review_check
from analytics.parsing import date_range_check
from analytics.scope import strata_choices
from analytics.tokens import token_digest
from cms.middleware import database_busy
from cms.models import AssetPage, BuyerStage
from cms.selectors import (
    asset_original,
)
from cms.spool import impatient_writes

logger = logging.getLogger(__name__)
WON_STAGES = {"closed won"}
LOST_STAGES = {"closed lost"}


# --- Stage mapping ----------------------------------------------------------------------------


class StageMap:
    """CRM stage name (case-insensitive) -> journey stage, from BuyerStage.crm_stage_names.

    "Closed Won" and "Closed Lost" are always known: they decide the outcome. Any other name
    that no journey stage lists is unmapped, and callers report it rather than guess.
    """

    def __init__(self) -> None:
        self.stages = list(BuyerStage.objects.order_by("sort_order", "name"))
        self.by_name: dict[str, BuyerStage] = {}
        for stage in self.stages:
            for name in stage.crm_stages():
                self.by_name.setdefault(name.casefold(), stage)
        self.top_order = max((s.sort_order for s in self.stages), default=0)
        self.bottom_order = min((s.sort_order for s in self.stages), default=0)

    def journey(self, crm_stage: str) -> BuyerStage | None:
        return self.by_name.get(crm_stage.strip().casefold())

    def is_known(self, crm_stage: str) -> bool:
        key = crm_stage.strip().casefold()
        return key in self.by_name or key in WON_STAGES or key in LOST_STAGES

    @staticmethod
    def outcome(crm_stage: str) -> str | None:
        key = crm_stage.strip().casefold()
        if key in WON_STAGES:
            return Deal.Outcome.WON
        if key in LOST_STAGES:
            return Deal.Outcome.LOST
        return None


def deal_reached_order(*, outcome: str, orders: Iterable[int], stage_map: StageMap) -> int:
    """The furthest journey stage a deal reached: the highest sort_order among its history's
    mapped stages, the top stage for a won deal, the first stage when nothing is known."""
    if outcome == Deal.Outcome.WON:
        return stage_map.top_order
    return max(orders, default=stage_map.bottom_order)


def deals_mark_changed(*, deal_ids: Iterable[int]) -> None:
    """Note that these deals' rollup rows must be recomputed (history, close, amount or
    attributes moved). Call inside the transaction that changes them."""
    rows = [DealChanged(deal_id=deal_id) for deal_id in sorted(set(deal_ids))]
    DealChanged.objects.bulk_create(rows, batch_size=1000)


REFRESH_SLICE = 2000


def deals_refresh_reached(*, deal_ids: Iterable[int], stage_map: StageMap) -> dict[int, int]:
    """Recompute ``reached_stage_order`` for ``deal_ids`` from their history and current
    journey stage (``deal_reached_order``); returns it by deal id. The current stage and
    outcome stay as the opportunity report (or webhook) last said.

    Only deals whose order moved are written, one UPDATE per new order (there are as many
    orders as journey stages): an import calls this for every chunk inside its write
    transaction, and a per-row CASE update cost it more than the rest of the chunk."""
    ids = sorted(set(deal_ids))
    sort_order = {stage.pk: stage.sort_order for stage in stage_map.stages}
    deals: dict[int, tuple] = {}
    orders: dict[int, list[int]] = {}
    # Plain index lookups in slices: a grouped join over a freshly bulk-loaded table can get
    # a quadratic plan on PostgreSQL before autovacuum has analysed it.
    for start in range(0, len(ids), REFRESH_SLICE):
        part = ids[start : start + REFRESH_SLICE]
        rows = Deal.objects.filter(pk__in=part).values_list(
            "pk", "outcome", "journey_stage_id", "reached_stage_order"
        )
        deals.update((pk, rest) for pk, *rest in rows)
        changes = DealStageChange.objects.filter(
            deal_id__in=part, journey_stage__isnull=False
        ).values_list("deal_id", "journey_stage_id")
        for deal_id, stage_id in changes:
            if stage_id in sort_order:
                orders.setdefault(deal_id, []).append(sort_order[stage_id])
    reached, moved = {}, {}
    for pk, (outcome, journey_stage_id, stored) in deals.items():
        known = orders.get(pk, [])
        if journey_stage_id in sort_order:
            known.append(sort_order[journey_stage_id])
        reached[pk] = deal_reached_order(outcome=outcome, orders=known, stage_map=stage_map)
        if reached[pk] != stored:
            moved.setdefault(reached[pk], []).append(pk)
    for order, pks in moved.items():
        for start in range(0, len(pks), REFRESH_SLICE):
            part = pks[start : start + REFRESH_SLICE]
            Deal.objects.filter(pk__in=part).update(reached_stage_order=order)
    return reached


def deal_refresh_reached(*, deal: Deal, stage_map: StageMap) -> None:
    """The single-deal twin of ``deals_refresh_reached``."""
    reached = deals_refresh_reached(deal_ids=[deal.pk], stage_map=stage_map)
    deal.reached_stage_order = reached[deal.pk]


#: An event or a stage change may say it happened at most this far ahead of the server's clock
#: (senders' clocks drift); a later one would count in "the last 90 days" before it happened.
EVENT_CLOCK_SKEW = timedelta(minutes=5)


# --- Deals ------------------------------------------------------------------------------------


def deal_external_id_normalise(value) -> str:
    """A CRM id as the library keys deals: surrounding whitespace (spaces, tabs, a CSV's
    stray newline, no-break spaces) removed. The webhook, the import and the events API all
    go through here, so " 006A" and "006A" are one deal."""
    return str(value or "").strip()


def deal_external_id_problem(external_id: str) -> str:
    """Why a normalised, non-empty CRM id cannot key a deal, or "": a slash at either end
    (the deal's page and API addresses hold its id, slashes inside included:
    ``enablement.converters.CrmId``), or a part between slashes that is "." or "..": a browser
    resolves those before asking, so "../../admin" linked to /admin/."""
    if external_id.startswith("/") or external_id.endswith("/"):
        return f"{external_id!r} starts or ends with “/”, which no deal's address can hold"
    if {".", ".."} & set(external_id.split("/")):
        return f"{external_id!r} has “.” or “..” between slashes, which a browser's address drops"
    return ""


@dataclass
class DealInput:
    """One deal as a CRM describes it; only ``external_id`` and ``stage`` are required."""

    external_id: str
    stage: str
    name: str = ""
    account: str = ""
    amount: Decimal | None = None
    currency: str = ""
    close_date: date | None = None
    created_date: date | None = None
    owner: str = ""
    industry: str = ""
    segment: str = ""
    won: bool | None = None
    closed: bool | None = None
    stage_changed_at: datetime | None = None
    attributes: dict = field(default_factory=dict)


#: DealInput field -> the Deal column that stores it (its max_length bounds the input).
_STORED_AS = {
    "external_id": "external_id",
    "stage": "stage",
    "name": "name",
    "account": "account",
    "currency": "currency",
    "owner": "owner_name",
    "industry": "industry",
    "segment": "segment",
}


def deal_input_problems(data: DealInput) -> dict[str, str]:
    """Field -> why its value cannot be stored (too long for its column, a NUL character, a
    date out of range, not a currency code), checked here so
    that SQLite (which would store it) and PostgreSQL (which would fail the whole write)
    answer alike, and the webhook and the import report the same field."""
    problems = {}
    for name, column in _STORED_AS.items():
        value = str(getattr(data, name) or "").strip()
        limit = Deal._meta.get_field(column).max_length
        if len(value) > limit:
            problems[name] = f"is {len(value)} characters long; at most {limit} are allowed"
        elif "\x00" in value:
            problems[name] = NUL_PROBLEM
    for name, value in (data.attributes or {}).items():
        if len(str(name)) > ATTRIBUTE_LIMIT or len(str(value or "")) > ATTRIBUTE_LIMIT:
            problems[str(name)[:ATTRIBUTE_LIMIT]] = (
                f"attribute names and values are at most {ATTRIBUTE_LIMIT} characters long"
            )
        elif "\x00" in str(name) or "\x00" in str(value or ""):
            problems[str(name).replace("\x00", "")] = NUL_PROBLEM
    currency = (data.currency or "").strip()
    if currency and "currency" not in problems and not CURRENCY_CODE.fullmatch(currency):
        problems["currency"] = (
            f"{currency[:20]!r} is not a three-letter currency code (ISO 4217, e.g. EUR)"
        )
    for name in ("close_date", "created_date", "stage_changed_at"):
        value = getattr(data, name)
        try:
            if value is not None:
                date_range_check(value)
        except ValueError as error:
            problems[name] = str(error)
    return problems


ATTRIBUTE_LIMIT = 100
NUL_PROBLEM = "contains a NUL character, which no text here may contain"
CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")


def deal_outcome(data: DealInput) -> str:
    """Outcome from the stage ("Closed Won"/"Closed Lost"), else from the Closed/Won flags."""
    from_stage = StageMap.outcome(data.stage)
    if from_stage:
        return from_stage
    if data.closed:
        return Deal.Outcome.WON if data.won else Deal.Outcome.LOST
    return Deal.Outcome.OPEN


def owner_for(name: str, cache: dict[str, object]):
    """The user an owner name refers to (username, email or full name), or None."""
    key = name.strip().casefold()
    if not key:
        return None
    if key not in cache:
        User = get_user_model()
        users = User.objects.filter(is_active=True)
        match = users.filter(username__iexact=key).first()
        match = match or users.filter(email__iexact=key).first()
        if match is None and " " in key:
            first, _, last = name.strip().partition(" ")
            match = users.filter(first_name__iexact=first, last_name__iexact=last.strip()).first()
        cache[key] = match
    return cache[key]


def deal_apply(
    *, deal: Deal | None, data: DealInput, stage_map: StageMap, owners: dict, now: datetime
) -> Applied:
    """Fill ``deal`` (or a new one) from ``data`` without saving. Returns the deal, the
    stage change to append when the stage differs from the stored one (or the deal is new),
    and whether a closed deal was dated today for want of a date (``Applied``).

    Closing (``deal_close_date``): a closed deal keeps the close date the CRM gives, else the
    day its closing stage was entered, else today; a deal reopened clears it unless the CRM
    gives a (new expected) close date."""
    stage = data.stage.strip()
    if not stage_map.is_known(stage):
        raise ValidationError({"stage": f"stage {stage!r} is not mapped to a journey stage"})
    problems = deal_input_problems(data)
    if problems:
        raise ValidationError(problems)
    is_new = deal is None
    deal = deal or Deal(external_id=deal_external_id_normalise(data.external_id))
    changed_stage = is_new or deal.stage.casefold() != stage.casefold()
    for attr in ("name", "account", "industry", "segment"):
        value = getattr(data, attr)
        if value or is_new:
            setattr(deal, attr, value.strip())
    if data.amount is not None:
        deal.amount = data.amount
    deal.currency = (data.currency.strip() or deal.currency or default_currency()).upper()
    deal.created_date = data.created_date or deal.created_date
    if data.owner:
        deal.owner_name = data.owner.strip()
        deal.owner = owner_for(data.owner, owners)
    if data.attributes:
        kept = dict(deal.attributes or {})
        kept.update({str(k).strip(): str(v).strip() for k, v in data.attributes.items()})
        deal.attributes = {k: v for k, v in kept.items() if k and v}
    deal.stage = stage
    journey = stage_map.journey(stage)
    if journey is not None:
        deal.journey_stage = journey
    was_closed = deal.outcome in (Deal.Outcome.WON, Deal.Outcome.LOST)
    deal.outcome = deal_outcome(data)
    deal.close_date, dated_now = deal_close_date(
        deal=deal,
        given=data.close_date,
        closing_since=data.stage_changed_at if changed_stage else None,
        was_closed=was_closed,
        now=now,
    )
    change = None
    if changed_stage:
        entered = data.stage_changed_at or (_closing_moment(deal) if is_new else None) or now
        change = DealStageChange(stage=stage, journey_stage=journey, entered_at=entered)
    return Applied(deal, change, dated_now)


class Applied(NamedTuple):
    """What ``deal_apply`` made: the deal, the stage change to append (or None), and whether
    the deal's close date is today for want of any other (``deal_close_date``)."""

    deal: Deal
    change: DealStageChange | None
    closed_today_for_want_of_a_date: bool


def deal_close_date(
    *, deal: Deal, given: date | None, closing_since: datetime | None, was_closed: bool, now
) -> tuple[date | None, bool]:
    """The close date a deal keeps after a change: the one given; for a closed deal the one
    it had, else the day it entered its closing stage, else today; for an open deal the
    expected one it had, unless it was just reopened (then none). With it, whether it is
    today for want of any other: the webhook's "it closed now" is right for the webhook, but
    a file of past deals that gives no date is not saying it, and an import reports them."""
    if given is not None:
        return given, False
    if deal.outcome in (Deal.Outcome.WON, Deal.Outcome.LOST):
        if deal.close_date is not None and was_closed:
            return deal.close_date, False
        return (closing_since or now).astimezone(UTC).date(), closing_since is None
    return (None if was_closed else deal.close_date), False


def _closing_moment(deal: Deal) -> datetime | None:
    """A closed deal imported without its history: its closing stage entered at the start of
    its close day (rather than at import time), so the history and the close agree."""
    if deal.outcome == Deal.Outcome.OPEN or deal.close_date is None:
        return None
    return datetime.combine(deal.close_date, datetime.min.time(), tzinfo=UTC)


def default_currency() -> str:
    return getattr(settings, "ANALYTICS_CURRENCY", "USD")


def _deal_flag_problems(data: DealInput) -> dict[str, str]:
    """Field -> why the Closed or Won flag (Salesforce's IsClosed, IsWon) cannot be read: it
    contradicts the closing stage sent with it, or says won of a deal that nothing closes.
    ``deal_outcome`` reads the stage first and the flags only for a stage that closes
    nothing, so either was ignored without a word."""
    stage = data.stage.strip()
    problems = {}
    if StageMap.outcome(stage):
        outcome = deal_outcome(data)
        for name, says in (("closed", True), ("won", outcome == Deal.Outcome.WON)):
            flag = getattr(data, name)
            if flag is not None and flag != says:
                problems[name] = f"{str(flag).lower()} contradicts the stage {stage!r}"
    elif data.won and not data.closed:
        problems["won"] = (
            f"true, but nothing closes the deal (stage {stage!r}): send closed: true with it"
        )
    return problems


@transaction.atomic
def deal_upsert(*, data: DealInput, stage_map: StageMap | None = None) -> tuple[Deal, bool]:
    """Create or update one deal by external id, appending a stage change when the stage
    moved. Returns (deal, created). Raises ValidationError naming the field (also for a Won
    or Closed flag that cannot be read: ``_deal_flag_problems``)."""
    data.external_id = deal_external_id_normalise(data.external_id)
    if not data.external_id:
        raise ValidationError({"external_id": "is required"})
    if problem := deal_external_id_problem(data.external_id):
        raise ValidationError({"external_id": problem})
    problems = _deal_flag_problems(data)
    if problems:
        raise ValidationError(problems)
    stage_map = stage_map or StageMap()
    existing = Deal.objects.select_for_update().filter(external_id=data.external_id).first()
    deal, change, _ = deal_apply(
        deal=existing, data=data, stage_map=stage_map, owners={}, now=timezone.now()
    )
    deal.full_clean(validate_unique=False)
    deal.save()
    if change is not None:
        change.deal = deal
        DealStageChange.objects.bulk_create([change], ignore_conflicts=True)
    deal_refresh_reached(deal=deal, stage_map=stage_map)
    deals_mark_changed(deal_ids=[deal.pk])
    return deal, existing is None


@transaction.atomic
def deal_stage_change(
    *, deal: Deal, stage: str, entered_at: datetime, stage_map: StageMap | None = None
) -> DealStageChange:
    """Append ``stage`` to a deal's history (the same stage and time twice is stored once).

    The latest entry of the history decides the deal's current stage and outcome: entering
    Closed Won or Closed Lost closes the deal on that day (outcome and close date set);
    entering any other stage after a close reopens it (both cleared); a later close sets them
    again. An entry older than the latest changes only the history; touches are judged
    "before close" against the final close when the rollups run. An entry dated ahead of
    now (beyond ``EVENT_CLOCK_SKEW``) is refused: as the latest, it would hold the deal in that
    stage against every real change sent until its date passed."""
    stage_map = stage_map or StageMap()
    if not stage_map.is_known(stage):
        raise ValidationError({"stage": f"stage {stage!r} is not mapped to a journey stage"})
    try:
        date_range_check(entered_at)
    except ValueError as error:
        raise ValidationError({"entered_at": str(error)}) from None
    if entered_at > timezone.now() + EVENT_CLOCK_SKEW:  # as for events: it has not happened
        raise ValidationError(
            {"entered_at": f"{entered_at.isoformat()} is in the future: send a stage once entered"}
        )
    journey = stage_map.journey(stage)
    change, _ = DealStageChange.objects.get_or_create(
        deal=deal, stage=stage.strip(), entered_at=entered_at, defaults={"journey_stage": journey}
    )
    latest = deal.history.order_by("-entered_at", "-id").first()
    if latest is not None and latest.pk == change.pk:
        deal.stage = change.stage
        deal.journey_stage = journey or deal.journey_stage
        outcome = StageMap.outcome(stage) or Deal.Outcome.OPEN
        if outcome != Deal.Outcome.OPEN:
            deal.close_date = entered_at.astimezone(UTC).date()
        elif deal.outcome != Deal.Outcome.OPEN:
            deal.close_date = None
        deal.outcome = outcome
        deal.save()
    deal_refresh_reached(deal=deal, stage_map=stage_map)
    deals_mark_changed(deal_ids=[deal.pk])
    return change


# --- The lead's choices -------------------------------------------------------------------------


def analytics_settings_update(*, strata: list[str]) -> None:
    """Save what the estimates compare within (besides segment and owner). Unknown names
    raise ValidationError naming them."""
    known = {name for name, _ in strata_choices()}
    unknown = [name for name in strata if name not in known]
    if unknown:
        raise ValidationError({"strata": f"unknown attribute(s): {', '.join(unknown)}"})
    with transaction.atomic():
        row = AnalyticsSettings.objects.order_by("pk").first() or AnalyticsSettings()
        row.strata = list(dict.fromkeys(strata))
        row.full_clean()
        row.save()


# --- Feedback, API keys (content requests: analytics.content_requests) ------------------


def feedback_create(*, user, asset: AssetPage, kind: str, text: str = "") -> AssetFeedback:
    """A rep's word on ``asset`` (on an alias: on its original, so that reps calling it
    outdated in either place count together)."""
    asset = asset_original(asset)
    text = text.strip()
    if kind == AssetFeedback.Kind.REQUEST and not text:
        raise ValidationError({"text": "Say what you needed."})
    feedback = AssetFeedback(asset=asset, user=user, kind=kind, text=text)
    feedback.full_clean()
    feedback.save()
    if kind == AssetFeedback.Kind.OUTDATED:
        outdated_review_check(asset=asset)
    return feedback


def api_key_create(
    *,
    user,
    name: str,
    scope: str = ApiKey.Scope.PERSONAL,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new bearer key for ``user``; the key itself is returned once and stored hashed."""
    key = APP_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey(
        user=user, name=name, key_hash=token_digest(key), scope=scope, expires_at=expires_at
    )
    api_key.full_clean()
    api_key.save()
    return api_key, key


LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_authenticate(*, token: str, request=None) -> ApiKey | None:
    """The usable key for ``token``, or None: unknown, revoked, expired, or its user is
    inactive. Read from the database on every call (no cache), so revoking takes effect on
    the next request. Notes the last use (to the minute, to spare writes) and reports
    failures to the login throttle, which then refuses further unknown keys from that client
    (``Throttled``); a valid key is never refused by it: keys are random and cannot be guessed,
    so locking one out would only let one integration still sending a revoked key, or anyone
    behind the same address, take every other integration there down."""
    now = timezone.now()
    key = (
        ApiKey.objects.select_related("user")
        .filter(key_hash=token_digest(token), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if key is None or not key.user.is_active:
        credentials_check(request=request, username="api-key")
        credentials_failed(request=request, username="api-key")
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        _api_key_used(key, now)
    return key


def _api_key_used(key: ApiKey, now: datetime) -> None:
    """Note ``key``'s use at ``now`` unless the database is busy: then a later call notes it
    (it is kept to the minute anyway), and a read with the key does not wait out the busy
    timeout for it (20 s)."""
    try:
        with impatient_writes(), transaction.atomic():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    except OperationalError as error:
        if not database_busy(error):
            raise
        logger.info("API key %s: its last use is noted later (database busy)", key.pk)
        return
    key.last_used_at = now


def api_key_revoke(*, key: ApiKey) -> bool:
    """Revoke ``key`` now; False when it was already revoked."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return True
