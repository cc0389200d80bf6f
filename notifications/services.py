"""Writes: tell users something (in-app, and by e-mail through the configured backend as
each user chose), mark notifications read, send the daily digests.

E-mail never goes out inside the request that made the notification: when the transaction
that made it commits, a background task (``notifications.tasks``) is enqueued that mails it,
so a slow or failing mail server never holds up or breaks that request (with the immediate
task backend the task runs in the request, after the commit: a failure is still only logged),
and a rolled-back change never mails anyone. A mail is claimed before it is sent
(``mail_claimed_at``, one row at a time) and marked sent after (``emailed_at``), so a task and
a retry running at once never mail it twice. A backend that fails never undoes the
notification: it stays in the list, unmailed, the failure is logged, and
``notifications_failed_resend`` (hourly, and in the digest run) sends it again (up to
``RETRY_WITHIN`` after it was made; older news stays in the app only). So does a mail whose
worker died holding its claim (killed, restarted, out of memory) once ``CLAIM_EXPIRES`` has
passed: a mail is sent at least once, and twice only when the worker died between the mail
server taking it and the row being marked (before 2026-12-06 such a claim was taken as sent,
and the mail was lost).

A notification about an asset (``asset_id``) is mailed only if its user may see the asset
when the mail goes out (``notifications.selectors``), whenever that is.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from notifications.models import Notification, NotificationPreference
from notifications.selectors import notifications_shown, notifications_shown_of

logger = logging.getLogger(__name__)
Email = NotificationPreference.Email

#: How long after it was made a notification meant to be mailed at once is still mailed when
#: its first try failed (``notifications_failed_resend`` retries it every hour).
RETRY_WITHIN = datetime.timedelta(days=2)
#: A mail meant to go at once that is not out this long after it was made has failed.
RESEND_AFTER = datetime.timedelta(minutes=10)
#: A claim this old on a mail not marked sent was a worker's that died: the next run takes it
#: over. Far longer than a send may take (``EMAIL_TIMEOUT``, 10 s by default).
CLAIM_EXPIRES = datetime.timedelta(minutes=10)


def _email_choice(user) -> str:
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email if preference else Email.IMMEDIATE


def absolute_url(url: str) -> str:
    """``url`` as a link that works from an e-mail (relative ones get ``BASE_URL``)."""
    if not url or url.startswith(("http://", "https://")):
        return url
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + url


def _create(*, user, kind: str, text: str, url: str, asset_id: int | None) -> Notification:
    notification = Notification(
        user=user, kind=kind, text=text[:500], url=url[:500], asset_id=asset_id
    )
    notification.full_clean()
    notification.save()
    return notification


def _mailed_at_once(user) -> bool:
    return bool(user.email) and _email_choice(user) == Email.IMMEDIATE


def _mail_later(notification_ids: list[int], subject: str = "") -> None:
    """Enqueue the mail of ``notification_ids`` when the surrounding transaction commits.
    A queue that refuses is logged; the digest run retries the mail."""

    def enqueue() -> None:
        # Imported here: notifications.tasks calls this module's services, so it loads after.
        from notifications.tasks import notifications_email_task

        try:
            notifications_email_task.enqueue(notification_ids=notification_ids, subject=subject)
        except Exception:  # the task queue itself is down: the digest run retries the mail
            logger.exception("could not enqueue the e-mail of notifications %s", notification_ids)

    transaction.on_commit(enqueue)


def notify(
    *, users: Iterable, kind: str, text: str, url: str = "", asset_id: int | None = None
) -> list[Notification]:
    """One notification per distinct active user in ``users``; those who want e-mail at
    once are mailed by a task enqueued when the surrounding transaction commits. A text
    that names an asset passes its ``asset_id``: the notification is then shown and mailed
    only while its user may see that asset."""
    distinct = {user.pk: user for user in users if user is not None and user.is_active}
    made = []
    for user in distinct.values():
        notification = _create(user=user, kind=kind, text=text, url=url, asset_id=asset_id)
        made.append(notification)
        if _mailed_at_once(user):
            _mail_later([notification.pk])
    return made


def notify_together(
    *, user, notices: Iterable[tuple[str, str, str, int | None]], subject: str
) -> list[Notification]:
    """Several notifications for one user that belong together, each ``(kind, text, url,
    asset_id)``: one row each in the list, and for a user who wants e-mail at once one
    message listing them all (``subject``, which must name only what they name), sent by a
    task when the surrounding transaction commits, so forty assets due at once are one mail,
    not forty. The daily digest and "never" work as for ``notify``; an inactive user gets
    nothing."""
    if user is None or not user.is_active:
        return []
    made = [
        _create(user=user, kind=kind, text=text, url=url, asset_id=asset_id)
        for kind, text, url, asset_id in notices
    ]
    if made and _mailed_at_once(user):
        _mail_later([notification.pk for notification in made], subject)
    return made


def notification_email(*, notification_id: int) -> bool:
    """Mail one notification to its user, its text as the subject: ``notifications_email``
    with one id."""
    return notifications_email(notification_ids=[notification_id])


def notifications_email(*, notification_ids: list[int], subject: str = "") -> bool:
    """Mail one user's notifications ``notification_ids`` not mailed yet, and that the user
    may see now, as one message; ``subject`` when every one of them goes out, else one
    made from what does (the text of a single one, or how many). False (logged) when the
    backend failed or there was nothing to send."""
    asked = list(
        Notification.objects.select_related("user")
        .filter(pk__in=notification_ids, emailed_at__isnull=True)
        .order_by("created_at", "pk")
    )
    if not asked:
        return False
    user = asked[0].user
    mine = [n for n in asked if n.user_id == user.pk]
    if len(mine) != len(notification_ids):
        subject = ""
    return _mail(user, mine, subject=subject)


def _one_line(text: str) -> str:
    """``text`` with its line breaks (a rep's note, a CRM deal name) as spaces: a mail
    header may hold none, and a subject that did was never sent."""
    return " ".join(text.split())


#: A mail's subject is cut to this many characters (mail programs show fewer).
SUBJECT_MAX = 150


def _subject_line(text: str) -> str:
    """``text`` on one line, cut after its last whole word within ``SUBJECT_MAX`` with "…"
    when longer: "set a new review-by d" read as a typo."""
    line = _one_line(text)
    if len(line) <= SUBJECT_MAX:
        return line
    cut = line[: SUBJECT_MAX - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:·-") + "…"


def _listing(notifications: list[Notification]) -> str:
    lines = [f"- {n.text}\n  {absolute_url(n.url)}".rstrip() for n in notifications]
    return "\n".join(lines) + "\n"


def _counted(notifications: list[Notification]) -> str:
    return f"{len(notifications)} update{'s' if len(notifications) != 1 else ''} for you"


def _claim(notifications: list[Notification], at: datetime.datetime) -> list[Notification]:
    """Those of ``notifications`` this call claims for sending (``at``), one row at a time: a
    row another task or run is sending is left to it, unless its claim has expired."""
    free = Q(mail_claimed_at__isnull=True) | Q(mail_claimed_at__lte=at - CLAIM_EXPIRES)
    unmailed = Notification.objects.filter(free, emailed_at__isnull=True)
    return [n for n in notifications if unmailed.filter(pk=n.pk).update(mail_claimed_at=at)]


def _mail(
    user,
    notifications: list[Notification],
    *,
    subject: str = "",
    digest=False,
    now: datetime.datetime | None = None,
) -> bool:
    """Mail ``user`` those of ``notifications`` they may see now and nobody mailed yet, as one
    message: ``subject`` when all of them go out, else the text of a single one or (and
    always for a ``digest``) how many. The rows are claimed first, marked sent after, and
    given back when the backend fails (logged), so the next run retries them and a live
    task's mail is never sent twice."""
    if not user.is_active or not user.email:
        return False
    shown = notifications_shown_of(user=user, notifications=notifications)
    at = now or timezone.now()
    claimed = _claim(shown, at)
    if not claimed:
        return False
    if digest:
        subject = _counted(claimed)
    elif len(claimed) != len(notifications) or not subject:
        subject = claimed[0].text if len(claimed) == 1 else _counted(claimed)
    try:
        sent = send_mail(_subject_line(subject), _listing(claimed), None, [user.email])
    except Exception as error:  # any backend failure: the notification stays in-app
        sent = 0
        logger.warning(
            "notification e-mail to user %s failed (sent again by the next digest run): %s",
            user.pk,
            error,
        )
    ids = [n.pk for n in claimed]
    if not sent:
        Notification.objects.filter(pk__in=ids, mail_claimed_at=at).update(mail_claimed_at=None)
        return False
    Notification.objects.filter(pk__in=ids).update(emailed_at=at)
    return True


def _by_user(notifications) -> list[list[Notification]]:
    by_user: dict[int, list[Notification]] = {}
    for notification in notifications.select_related("user").order_by("user_id", "created_at"):
        by_user.setdefault(notification.user_id, []).append(notification)
    return list(by_user.values())


def _unmailed() -> QuerySet[Notification]:
    return Notification.objects.filter(emailed_at__isnull=True, user__is_active=True).exclude(
        user__email=""
    )


def notifications_digest_send(*, now: datetime.datetime | None = None) -> int:
    """Mail each user who chose the daily digest their notifications not mailed yet, in one
    message, and send again the failed mails meant to go at once
    (``notifications_failed_resend``); returns how many messages went out. Only what each
    user may see now is mailed."""
    daily = NotificationPreference.objects.filter(email=Email.DAILY).values_list("user", flat=True)
    sent = 0
    for notifications in _by_user(_unmailed().filter(user__in=daily)):
        sent += _mail(notifications[0].user, notifications, digest=True, now=now)
    return sent + notifications_failed_resend(now=now)


def notifications_failed_resend(*, now: datetime.datetime | None = None) -> int:
    """Send again the mails meant to go at once that are not out yet (the backend failed, or
    the queue refused the task), made within ``RETRY_WITHIN`` and at least ``RESEND_AFTER``
    ago (younger ones are their task's), one message per user; returns how many went out.
    The scheduler runs it every hour, and the daily digest run too."""
    now = now or timezone.now()
    chose = NotificationPreference.objects.filter(user=OuterRef("user")).exclude(
        email=Email.IMMEDIATE
    )
    failed = _unmailed().filter(
        ~Exists(chose),
        created_at__gte=now - RETRY_WITHIN,
        created_at__lte=now - RESEND_AFTER,
    )
    return sum(
        _mail(notifications[0].user, notifications, now=now) for notifications in _by_user(failed)
    )


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s notifications they may see now read (only those ``ids`` when given);
    others' are never touched. Returns how many changed."""
    unread = notifications_shown(user=user).filter(read_at__isnull=True)
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
