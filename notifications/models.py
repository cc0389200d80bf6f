"""What a user is told: one row per message (the bell counts the unread ones) and how each
user wants them by e-mail."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Notification(models.Model):
    """One message for one user, with a link to what it is about. ``emailed_at`` is set once
    it went out by e-mail (at once, or in a digest), so nothing is mailed twice;
    ``mail_claimed_at`` while a task or run is sending it (a claim older than
    ``notifications.services.CLAIM_EXPIRES`` was a worker's that died, and is taken over).

    ``asset_id`` names the library asset the message is about (its text names the asset),
    when it is about one. Such a message exists for its user only while they may see that
    asset (``notifications.selectors.notification_assets_seen``): restricted away from them,
    unpublished or deleted, it is left out of the list, the bell, its link and every mail.
    A plain id, not a foreign key: notifications sit below cms (cms uses them), and a key
    set to NULL when the asset is deleted would turn the message into one about nothing,
    shown with the deleted asset's title."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30)
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    asset_id = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    mail_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text


class NotificationPreference(models.Model):
    """How one user gets notifications by e-mail; without a row, ``IMMEDIATE``."""

    class Email(models.TextChoices):
        IMMEDIATE = "immediate", "Each one as it happens"
        DAILY = "daily", "One daily digest"
        NEVER = "never", "Never (only here)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.CharField(max_length=10, choices=Email.choices, default=Email.IMMEDIATE)
