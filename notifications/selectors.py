"""Reads: a user's notifications and how many are unread (the bell)."""

from __future__ import annotations

from notifications.models import Notification, NotificationPreference


def notifications_unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for(*, user, limit: int = 100) -> list[Notification]:
    """``user``'s own notifications, newest first (nobody else's, whatever their role)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Notification.objects.filter(user=user)[:limit])


def notification_of(*, user, notification_id: int) -> Notification | None:
    """One of ``user``'s own notifications, or None (someone else's reads as missing)."""
    return Notification.objects.filter(user=user, pk=notification_id).first()


def notification_email_choice(*, user) -> str:
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email if preference else NotificationPreference.Email.IMMEDIATE
