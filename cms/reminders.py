"""Governance reminders: an asset's owner is told, in the app and by e-mail, when its review-by
date has passed (a live, unarchived asset) and when it has just expired, once per date.

``owner_reminders_send`` runs from the analytics scheduler every hour and from ``manage.py
owner_reminders``. Each reminder is recorded (``OwnerReminder``, unique per asset, kind, date
and owner) in the same transaction as its notification, so a second run, a restart or two
schedulers at once never tell an owner twice, and a new date that passes is told again, as
is the new owner of an asset handed over while it is overdue or just expired. One
owner's reminders of a run are one mail listing them (``notify_together``), following the
owner's e-mail choice (at once, daily digest, never). Assets without an owner, or whose owner
is inactive or no longer manages content, are told to nobody: they stay on Reports > Needs
review and on the health page.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.roles import content_managers_q
from cms.middleware import database_busy
from cms.models import AssetPage, OwnerReminder
from cms.selectors import assets_live
from notifications.services import notify_together

logger = logging.getLogger(__name__)
Kind = OwnerReminder.Kind

# An expiry older than this when the job first sees it (the job was not running, or the
# feature is new) is not news: the owner is not told about assets that expired long ago.
EXPIRY_NEWS_DAYS = 7


@dataclass(frozen=True)
class Reminder:
    asset: AssetPage
    kind: str
    due: str  # OwnerReminder.due
    text: str


def owner_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Tell each owner about their assets whose review date has passed or that have just
    expired, those not told yet for that date; returns how many reminders were recorded.
    A database locked past its busy timeout stops the run (logged): what was not recorded
    is sent by the next run."""
    now = now or timezone.now()
    due = reminders_due(now=now)
    by_owner: dict[int, list[Reminder]] = {}
    for reminder in due:
        by_owner.setdefault(reminder.asset.owner_id, []).append(reminder)
    recorded = 0
    for reminders in by_owner.values():
        try:
            recorded += _owner_remind(reminders)
        except OperationalError as error:
            if not database_busy(error):
                raise
            logger.warning("owner reminders: the database is locked (%s); next run", error)
            break
    return recorded


def _owner_remind(reminders: list[Reminder]) -> int:
    """Record and send one owner's reminders in one transaction. A reminder another process
    recorded meanwhile is skipped (the unique constraint says so)."""
    owner = reminders[0].asset.owner
    with transaction.atomic():
        fresh = [reminder for reminder in reminders if _record(reminder)]
        notices = [
            (
                f"asset_{r.kind}",
                r.text,
                reverse("wagtailadmin_pages:edit", args=[r.asset.pk]),
                r.asset.pk,
            )
            for r in fresh
        ]
        if len(fresh) == 1:
            subject = fresh[0].text
        else:
            subject = f"{len(fresh)} of your assets need your attention"
        if fresh:
            notify_together(user=owner, notices=notices, subject=subject)
    return len(fresh)


def _record(reminder: Reminder) -> bool:
    try:
        with transaction.atomic():
            OwnerReminder.objects.create(
                asset=reminder.asset,
                kind=reminder.kind,
                due=reminder.due,
                owner_id=reminder.asset.owner_id,
            )
    except IntegrityError:
        return False
    return True


# --- Reads ------------------------------------------------------------------------------------


def reminders_due(*, now: datetime.datetime) -> list[Reminder]:
    """The reminders not sent yet to the asset's present owner: live, unarchived assets
    whose review-by date is before
    today (as Reports > Needs review counts it), and assets whose own expiry passed in the
    last ``EXPIRY_NEWS_DAYS`` while they were published; only assets whose owner still manages
    content (an owner moved to another role may no longer see a restricted asset: their
    assets stay on Reports > Needs review, as unowned ones do)."""
    owned = Q(owner__in=get_user_model().objects.filter(content_managers_q()))
    overdue = assets_live().filter(owned, review_by__lt=timezone.localdate(now))
    expired = AssetPage.objects.filter(
        owned,
        Q(live=True) | Q(expired=True),
        alias_of__isnull=True,
        archived=False,
        expire_at__lte=now,
        expire_at__gt=now - datetime.timedelta(days=EXPIRY_NEWS_DAYS),
    )
    candidates = [
        *(_review(asset) for asset in overdue.select_related("owner").order_by("review_by")),
        *(_expiry(asset) for asset in expired.select_related("owner").order_by("expire_at")),
    ]
    sent = set(
        OwnerReminder.objects.filter(asset_id__in={c.asset.pk for c in candidates}).values_list(
            "asset_id", "kind", "due", "owner_id"
        )
    )
    return [c for c in candidates if (c.asset.pk, c.kind, c.due, c.asset.owner_id) not in sent]


def _review(asset: AssetPage) -> Reminder:
    day = date_format(asset.review_by, "j F Y")
    text = f"“{asset.title}” was due for review on {day}: check it and set a new review-by date."
    return Reminder(asset, Kind.REVIEW, asset.review_by.isoformat(), text)


def _expiry(asset: AssetPage) -> Reminder:
    when = date_format(timezone.localtime(asset.expire_at), "j F Y H:i")
    text = (
        f"“{asset.title}” expired on {when}: reps no longer see it. "
        "Set a new expiry date and publish it again, or archive it."
    )
    due = asset.expire_at.astimezone(datetime.UTC).isoformat()
    return Reminder(asset, Kind.EXPIRY, due, text)
