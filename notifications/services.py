"""Writes: tell users something (in-app, and by e-mail through the configured backend as
each user chose), mark notifications read, send the daily digests.

E-mail goes out after the transaction that made the notification commits, so a rolled-back
change never mails anyone, and a mail backend that fails never undoes the notification: the
message stays in the list and unmailed, and the next digest run does not retry immediate
ones (they were meant as they happened; the bell still shows them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationPreference

logger = logging.getLogger(__name__)
Email = NotificationPreference.Email


def _email_choice(user) -> str:
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email if preference else Email.IMMEDIATE


def absolute_url(url: str) -> str:
    """``url`` as a link that works from an e-mail (relative ones get ``BASE_URL``)."""
    if not url or url.startswith(("http://", "https://")):
        return url
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + url


def _create(*, user, kind: str, text: str, url: str) -> Notification:
    notification = Notification(user=user, kind=kind, text=text[:500], url=url[:500])
    notification.full_clean()
    notification.save()
    return notification


def _mailed_at_once(user) -> bool:
    return bool(user.email) and _email_choice(user) == Email.IMMEDIATE


def notify(*, users: Iterable, kind: str, text: str, url: str = "") -> list[Notification]:
    """One notification per distinct active user in ``users``; those who want e-mail at
    once are mailed when the surrounding transaction commits."""
    distinct = {user.pk: user for user in users if user is not None and user.is_active}
    made = []
    for user in distinct.values():
        notification = _create(user=user, kind=kind, text=text, url=url)
        made.append(notification)
        if _mailed_at_once(user):
            transaction.on_commit(lambda pk=notification.pk: notification_email(notification_id=pk))
    return made


def notify_together(
    *, user, notices: Iterable[tuple[str, str, str]], subject: str
) -> list[Notification]:
    """Several notifications for one user that belong together, each ``(kind, text, url)``:
    one row each in the list, and for a user who wants e-mail at once one message listing
    them all (``subject``), sent when the surrounding transaction commits, so forty assets
    due at once are one mail, not forty. The daily digest and "never" work as for
    ``notify``; an inactive user gets nothing."""
    if user is None or not user.is_active:
        return []
    made = [_create(user=user, kind=kind, text=text, url=url) for kind, text, url in notices]
    if made and _mailed_at_once(user):
        ids = [notification.pk for notification in made]
        transaction.on_commit(lambda: notifications_email(notification_ids=ids, subject=subject))
    return made


def notification_email(*, notification_id: int) -> bool:
    """Mail one notification to its user, its text as the subject: ``notifications_email``
    with one id. False (logged) when the backend failed or there was nothing to send."""
    text = Notification.objects.filter(pk=notification_id).values_list("text", flat=True).first()
    if text is None:
        return False
    return notifications_email(notification_ids=[notification_id], subject=text)


def notifications_email(*, notification_ids: list[int], subject: str) -> bool:
    """Mail one user's notifications ``notification_ids`` not mailed yet as one message;
    False (logged) when the backend failed or there was nothing to send."""
    waiting = list(
        Notification.objects.select_related("user")
        .filter(pk__in=notification_ids, emailed_at__isnull=True)
        .order_by("created_at", "pk")
    )
    if not waiting:
        return False
    return _send(waiting, subject=_one_line(subject)[:150], body=_listing(waiting))


def _one_line(text: str) -> str:
    """``text`` with its line breaks (a rep's note, a CRM deal name) as spaces: a mail
    header may hold none, and a subject that did was never sent."""
    return " ".join(text.split())


def _listing(notifications: list[Notification]) -> str:
    lines = [f"- {n.text}\n  {absolute_url(n.url)}".rstrip() for n in notifications]
    return "\n".join(lines) + "\n"


def _send(notifications: list[Notification], *, subject: str, body: str) -> bool:
    user = notifications[0].user
    try:
        sent = send_mail(subject, body, None, [user.email])
    except Exception as error:  # any backend failure: the notification stays in-app
        logger.warning("notification e-mail to user %s failed: %s", user.pk, error)
        return False
    if not sent:
        return False
    Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(
        emailed_at=timezone.now()
    )
    return True


def notifications_digest_send() -> int:
    """Mail each user who chose the daily digest their notifications not mailed yet, in one
    message; returns how many digests went out."""
    sent = 0
    users = NotificationPreference.objects.filter(email=Email.DAILY).values_list("user", flat=True)
    waiting = (
        Notification.objects.filter(user__in=users, emailed_at__isnull=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("user_id", "created_at")
    )
    by_user: dict[int, list[Notification]] = {}
    for notification in waiting:
        by_user.setdefault(notification.user_id, []).append(notification)
    for notifications in by_user.values():
        subject = f"{len(notifications)} update{'s' if len(notifications) != 1 else ''} for you"
        sent += _send(notifications, subject=subject, body=_listing(notifications))
    return sent


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s notifications read (only those ``ids`` when given); others' are never
    touched. Returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def notification_preference_set(*, user, email: str) -> NotificationPreference:
    if email not in Email.values:
        raise ValidationError({"email": f"choose one of {', '.join(Email.values)}"})
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    preference.email = email
    preference.full_clean()
    preference.save()
    return preference
