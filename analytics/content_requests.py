"""The content-request backlog: reps ask (or back someone's ask), marketing plans, answers or
declines, and everyone who asked or backed it hears back. Writes first, then reads.

Who sees what: marketing (content managers) sees every request with its private note; a rep
sees the open requests' texts, statuses and vote counts, and the private notes of their own
requests only; requesters' names are never shown to other reps.
"""

from __future__ import annotations

from datetime import timedelta
from difflib import SequenceMatcher

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.roles import ENABLEMENT_LEAD, MARKETER, user_manages_content
from accounts.services import role_permissions_grant
from analytics.models import ContentRequest, ContentRequestVote
from cms.models import AssetPage
from cms.selectors import asset_visible_to
from notifications.services import notify
from search.query import STOP_WORDS, normalize_text

Status = ContentRequest.Status


#: Two open requests are one ask when their keys share this share of their words (Jaccard), or
#: read nearly the same letter by letter (a typo: "battlecard" / "batlecard").
SAME_WORDS = 0.75
SAME_LETTERS = 0.9
#: How many open requests a new ask is compared with (the newest first).
COMPARED = 2000
#: The rolling window ``settings.CONTENT_REQUESTS_PER_DAY`` counts a rep's new requests in.
REQUEST_WINDOW = timedelta(hours=24)


def _singular(word: str) -> str:
    """A plain English plural's singular, enough to hear "case studies" as "case study"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def request_key(text: str) -> str:
    """What makes two requests the same: their words, lower-case, singular, without stop
    words, each once, in order ("Banks: the SOC 2 report" and "soc 2 report for banks" are
    one key; "SOC 2 report" and "SOC 2 summary" are not)."""
    words = [_singular(w) for w in normalize_text(text).split() if w not in STOP_WORDS]
    return " ".join(sorted(set(words)))[:500]


def keys_alike(first: str, second: str) -> bool:
    """Whether two request keys are near enough to be one ask (``SAME_WORDS``,
    ``SAME_LETTERS``)."""
    if not first or not second:
        return False
    if first == second:
        return True
    a, b = set(first.split()), set(second.split())
    if len(a & b) / len(a | b) >= SAME_WORDS:
        return True
    return SequenceMatcher(None, first, second).ratio() >= SAME_LETTERS


def _open_request_like(key: str) -> ContentRequest | None:
    """The oldest open request with ``key``, else the oldest whose key is alike."""
    if not key:
        return None
    open_requests = ContentRequest.objects.filter(status__in=ContentRequest.OPEN_STATUSES)
    same = open_requests.filter(key=key).order_by("created_at", "pk").first()
    if same is not None:
        return same
    recent = open_requests.exclude(key="").order_by("-created_at", "-pk")[:COMPARED]
    alike = [row for row in recent.only("pk", "key", "created_at") if keys_alike(key, row.key)]
    return min(alike, key=lambda row: (row.created_at, row.pk), default=None)


# --- Writes -----------------------------------------------------------------------------------


def content_request_create(
    *, user, text: str, source: str = "request", private_note: str = ""
) -> tuple[ContentRequest, bool]:
    """Ask marketing for content; returns the request and whether it is new.

    An open request with the same or nearly the same words (``request_key``, ``keys_alike``)
    is not duplicated: the asker backs it with a vote instead (their own repeated ask changes
    nothing). Bad input raises ValidationError naming the field; nothing is saved then.

    Each new request mails every marketer, so a rep may open at most
    ``settings.CONTENT_REQUESTS_PER_DAY`` in ``REQUEST_WINDOW``; past that a new ask raises
    ValidationError (not a field's: the form shows it above the fields) saying when they may
    ask again. Backing an open request is never capped, nor is marketing (``_refuse_over_cap``)."""
    text = (text or "").strip()
    if len(text) > 500:
        raise ValidationError({"text": f"is {len(text)} characters long; at most 500"})
    for name, value in (("text", text), ("private_note", private_note or "")):
        if "\x00" in value:  # PostgreSQL stores no NUL; the forms refuse it, the gap page did not
            raise ValidationError({name: "contains a NUL character"})
    key = request_key(text)
    with transaction.atomic():
        existing = _open_request_like(key)
        if existing is not None:
            content_request_vote(user=user, content_request=existing)
            return existing, False
        _refuse_over_cap(user)
        request = ContentRequest(
            text=text,
            key=key,
            source=source,
            requested_by=user,
            private_note=(private_note or "").strip(),
        )
        request.full_clean()
        request.save()
        _notify_marketing(request)
    return request, True


def _refuse_over_cap(user) -> None:
    """Raise ValidationError when ``user`` already opened ``CONTENT_REQUESTS_PER_DAY`` new
    requests in the last ``REQUEST_WINDOW``, saying when the oldest of them leaves it.

    Counted from the stored requests, so the cap holds across processes and restarts; a
    request marketing has since closed still counts (declining spam must not refill the
    quota). Marketers, enablement leads and admins are not capped: they are the audience of
    the mail, not strangers to it, and a lead turns a page of search gaps into requests at
    once. Runs inside ``content_request_create``'s transaction, after the user's row is
    locked (PostgreSQL; SQLite's transactions are IMMEDIATE already), so two asks sent at
    once cannot both take the last place."""
    if user is None or user_manages_content(user):
        return
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()  # the lock
    cap = settings.CONTENT_REQUESTS_PER_DAY
    since = timezone.now() - REQUEST_WINDOW
    recent = ContentRequest.objects.filter(requested_by=user, created_at__gt=since)
    times = list(recent.order_by("-created_at").values_list("created_at", flat=True)[:cap])
    if len(times) < cap:
        return
    # The cap-th newest leaving the window frees a place; shown rounded up to the minute.
    free_at = (times[-1] + REQUEST_WINDOW + timedelta(minutes=1)).replace(second=0, microsecond=0)
    when = date_format(timezone.localtime(free_at), "j M Y H:i T")
    raise ValidationError(
        {
            NON_FIELD_ERRORS: (
                f"You have opened {cap} new request{'s' if cap != 1 else ''} in the last 24 "
                "hours, the most one person may: you can ask for something new again from "
                f"{when}. Backing a request already asked for still works (“Me too” below, or "
                "asking in the same words)."
            )
        }
    )


def _notify_marketing(content_request: ContentRequest) -> None:
    """Marketers hear of a new ask, linked to it in the backlog (a vote on an existing one
    changes its count, not their to-do); the asker is not told of their own request."""
    marketers = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=MARKETER)
        .exclude(pk=content_request.requested_by_id)
    )
    url = reverse("wagtailsnippets_analytics_contentrequest:edit", args=[content_request.pk])
    text = f"New content request: “{content_request.text}”"
    notify(users=marketers, kind="request_new", text=text, url=url)


def content_request_vote(*, user, content_request: ContentRequest) -> bool:
    """``user`` backs ``content_request`` ("me too"); False when they already did, asked for
    it themselves, or it is closed."""
    if not content_request.is_open or content_request.requested_by_id == user.pk:
        return False
    try:
        with transaction.atomic():
            ContentRequestVote.objects.create(request=content_request, user=user)
    except IntegrityError:  # voted before (a double click, two tabs)
        return False
    return True


EDITABLE = (
    "text",
    "status",
    "owner",
    "stage",
    "pillar",
    "decline_reason",
    "fulfilled_by",
    "private_note",
)


def content_request_update(*, content_request: ContentRequest, **changes) -> ContentRequest:
    """Marketing's changes to a request (any of ``EDITABLE``). Moving it to done (with a
    live asset: ``ContentRequest.clean``) or declined (with a reason) closes it and notifies
    everyone who asked or voted, once. A changed answer tells them again: another asset for a
    done request, or done after declined (and the reverse); a save that changes no answer
    tells nobody. Invalid changes raise ValidationError naming the field, and nothing is
    saved."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "cannot be changed here"})
    stored = ContentRequest.objects.filter(pk=content_request.pk)
    was_status, was_answer = stored.values_list("status", "fulfilled_by").first() or (None, None)
    for name, value in changes.items():
        setattr(content_request, name, value)
    content_request.key = request_key(content_request.text)
    answer_changed = not content_request.is_open and (
        content_request.status != was_status
        or (content_request.status == Status.DONE and content_request.fulfilled_by_id != was_answer)
    )
    content_request.closed_at = (
        (content_request.closed_at or timezone.now()) if not content_request.is_open else None
    )
    with transaction.atomic():
        content_request.full_clean()
        content_request.save()
        if answer_changed:
            _notify_closed(content_request)
    return content_request


def content_request_askers(content_request: ContentRequest) -> list:
    """Everyone who asked for or backed ``content_request``."""
    voters = [vote.user for vote in content_request.votes.select_related("user")]
    asker = [content_request.requested_by] if content_request.requested_by else []
    return [*asker, *voters]


def _notify_closed(content_request: ContentRequest) -> None:
    """Tell the askers. For a fulfilled request only those who may see the asset are told
    (its title and link would tell the others what they may not see); the rest hear that
    it was answered with content they cannot open, so the request does not just vanish."""
    people = content_request_askers(content_request)
    mine = reverse("analytics:requests")
    if content_request.status == Status.DECLINED:
        reason = content_request.decline_reason
        text = f"Your request “{content_request.text}” was declined: {reason}"
        notify(users=people, kind="request_declined", text=text, url=mine)
        return
    asset: AssetPage = content_request.fulfilled_by
    can_see = [user for user in people if asset_visible_to(user, asset)]
    text = f"Your request “{content_request.text}” is answered: {asset.title}"
    notify(users=can_see, kind="request_done", text=text, url=asset.url or mine, asset_id=asset.pk)
    others = [user for user in people if user not in can_see]
    text = f"Your request “{content_request.text}” is answered with content for other teams."
    notify(users=others, kind="request_done", text=text, url=mine)


# --- Reads ------------------------------------------------------------------------------------


def content_requests_backlog(*, status: str = ""):
    """Every request with its vote count (``vote_count``), for marketing; most backed first."""
    requests = ContentRequest.objects.select_related(
        "requested_by", "owner", "stage", "pillar", "fulfilled_by"
    ).annotate(vote_count=Count("votes", distinct=True))
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("-vote_count", "-created_at")


def content_requests_for_rep(*, user, limit: int = 100) -> dict:
    """What a rep's request page shows: ``mine`` (asked or backed by ``user``, any status,
    with ``is_mine`` telling which may show its private note) and ``open`` (others' open
    requests to back). Marketing (content managers) reads the backlog instead. A done
    request whose asset has since left the library (``answer_gone``) says so, not that it
    was answered with content for other teams."""
    voted = ContentRequestVote.objects.filter(request=OuterRef("pk"), user=user)
    requests = (
        ContentRequest.objects.select_related("fulfilled_by", "stage", "pillar")
        .annotate(vote_count=Count("votes", distinct=True), voted=Exists(voted))
        .order_by("-created_at", "-pk")
    )
    involved = Q(requested_by=user) | Q(voted=True)
    mine = list(requests.filter(involved)[:limit])
    others = list(
        requests.exclude(involved).filter(status__in=ContentRequest.OPEN_STATUSES)[:limit]
    )
    for request in mine:
        request.is_mine = request.requested_by_id == user.pk
        request.answer_gone = request.status == Status.DONE and not request.answer_live()
        if request.fulfilled_by and not asset_visible_to(user, request.fulfilled_by):
            request.fulfilled_by = None  # answered with content this rep may not open
    for request in others:
        request.is_mine = False
    return {"mine": mine, "open": others}


def content_request_visible_to(*, user, content_request: ContentRequest) -> bool:
    """Whether ``user`` may read ``content_request`` (its text, its status): marketing reads
    every request, a rep only those ``content_requests_for_rep`` lists to them (their own,
    those they backed, and the open ones)."""
    if content_request.is_open or user_manages_content(user):
        return True
    if content_request.requested_by_id == user.pk:
        return True
    return content_request.votes.filter(user=user).exists()


def private_note_visible(*, user, content_request: ContentRequest) -> bool:
    return content_request.requested_by_id == user.pk or user_manages_content(user)


def open_requests_by_cell() -> dict[tuple[int, int], int]:
    """Open requests per (stage id, pillar id) cell, for the coverage matrix."""
    rows = (
        ContentRequest.objects.filter(
            status__in=ContentRequest.OPEN_STATUSES, stage__isnull=False, pillar__isnull=False
        )
        .values_list("stage_id", "pillar_id")
        .annotate(n=Count("pk"))
    )
    return {(stage, pillar): n for stage, pillar, n in rows}


def content_request_roles_ensure() -> None:
    """Let marketers and enablement leads work the backlog (Content requests in the admin);
    runs after every ``migrate`` (``analytics.receivers``). Only adds."""
    role_permissions_grant(
        roles=(MARKETER, ENABLEMENT_LEAD),
        permissions=["analytics.view_contentrequest", "analytics.change_contentrequest"],
    )
