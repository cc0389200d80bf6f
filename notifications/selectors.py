"""Reads: a user's notifications and how many are unread (the bell).

A notification about an asset (``Notification.asset_id``) is shown to its user only while
they may see that asset, asked at each read and each mail, never remembered: restricted to
another team, unpublished, archived or deleted since, it is left out everywhere (the list,
the bell, its link, the mails), as if it had never been made, and it comes back as it was if
the asset is shown to them again. Notifications cannot ask cms who sees what (cms sits above
them), so cms answers through the Wagtail hook ``ASSETS_SEEN_HOOK``; with no answer, nothing
about an asset is shown (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, QuerySet
from wagtail import hooks

from notifications.models import Notification, NotificationPreference

#: The Wagtail hook cms registers: a function ``(user, asset_ids: set[int]) -> set[int]``
#: answering which of ``asset_ids`` ``user`` may see now. Every function registered must
#: admit an asset for it to be shown.
ASSETS_SEEN_HOOK = "notification_assets_seen"


def notification_assets_seen(*, user, asset_ids: Iterable[int]) -> set[int]:
    """Those of ``asset_ids`` that ``user`` may see now (``ASSETS_SEEN_HOOK``); none for an
    inactive or anonymous user, or when no app answers."""
    wanted = {int(asset_id) for asset_id in asset_ids}
    if not wanted or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    answers = hooks.get_hooks(ASSETS_SEEN_HOOK)
    if not answers:
        return set()
    seen = set(wanted)
    for answer in answers:
        seen &= set(answer(user, set(wanted)))
    return seen


def notifications_shown(*, user) -> QuerySet[Notification]:
    """``user``'s own notifications that they may see now (see the module's docstring), as
    a queryset; none for an anonymous user."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    mine = Notification.objects.filter(user=user)
    about = set(mine.filter(asset_id__isnull=False).values_list("asset_id", flat=True).distinct())
    hidden = about - notification_assets_seen(user=user, asset_ids=about)
    return mine.exclude(asset_id__in=hidden) if hidden else mine


def notifications_shown_of(*, user, notifications: list[Notification]) -> list[Notification]:
    """Those of ``notifications`` (``user``'s, already read) that ``user`` may see now."""
    about = {n.asset_id for n in notifications if n.asset_id is not None}
    seen = notification_assets_seen(user=user, asset_ids=about) if about else set()
    return [n for n in notifications if n.asset_id is None or n.asset_id in seen]


def notifications_unread_count(*, user) -> int:
    """How many of ``user``'s shown notifications are unread: one query on the notifications
    (their unread counts per asset), then the asset check for those about an asset."""
    if not getattr(user, "is_authenticated", False):
        return 0
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    per_asset = dict(
        unread.order_by().values("asset_id").annotate(n=Count("pk")).values_list("asset_id", "n")
    )
    plain = per_asset.pop(None, 0)
    seen = notification_assets_seen(user=user, asset_ids=per_asset) if per_asset else set()
    return plain + sum(n for asset_id, n in per_asset.items() if asset_id in seen)


def notifications_for(*, user, limit: int = 100) -> list[Notification]:
    """``user``'s own notifications that they may see now, newest first (nobody else's,
    whatever their role)."""
    return list(notifications_shown(user=user)[:limit])


def notification_of(*, user, notification_id: int) -> Notification | None:
    """One of ``user``'s own notifications they may see now, or None (someone else's, or
    one about an asset they may no longer see, reads as missing)."""
    notification = Notification.objects.filter(user=user, pk=notification_id).first()
    if notification is None:
        return None
    shown = notifications_shown_of(user=user, notifications=[notification])
    return shown[0] if shown else None


def notification_email_choice(*, user) -> str:
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email if preference else NotificationPreference.Email.IMMEDIATE
