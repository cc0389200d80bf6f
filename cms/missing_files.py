"""A stored file found missing when someone asked for it: deleted, or moved away from the
media directory or the bucket while its row still names it (``cms.downloads.StoredFileMissing``).

Asking again cannot bring it back, so the person asking is told it is unavailable (a 404, by
the view), and those who can put it back are told: one ERROR line per request naming the asset
and the stored file, and the asset's owner (or, when it has none who still manages content,
every content manager) notified once per asset per day, in the app and by e-mail as each
chose. A store that does not answer is another matter (``cms.middleware``: 503, try again).
"""

from __future__ import annotations

import datetime
import logging

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.roles import content_managers_q, user_manages_content
from cms.downloads import StoredFileMissing
from cms.models import AssetPage
from cms.selectors import asset_original
from notifications.models import Notification
from notifications.services import notify

logger = logging.getLogger(__name__)
NOTICE_KIND = "asset_file_missing"


def asset_file_missing_report(*, asset: AssetPage, missing: StoredFileMissing, what: str) -> bool:
    """Log that ``asset``'s ``what`` ("file", "thumbnail"...) is missing from the store and
    tell its owner, unless someone was told of this asset today; True when someone was."""
    logger.error(
        "stored file missing: asset %s, its %s %s (storage %s)",
        asset.pk,
        what,
        missing.name,
        missing.storage,
    )
    original = asset_original(asset)
    url = reverse("wagtailadmin_pages:edit", args=[original.pk])
    today = timezone.localdate()
    # One process's requests at the same moment (a page's several previews) ask the cache;
    # other processes, and later days' restarts, find today's notification.
    if not cache.add(f"asset-file-missing:{original.pk}:{today.isoformat()}", True, 24 * 3600):
        return False
    if _told_since(url, _day_start(today)):
        return False
    text = (
        f"The {what} of “{original.title}” is missing from the file store ({missing.name}): "
        "reps and buyers who ask for it are told it is unavailable. Upload it again."
    )
    told = notify(
        users=_recipients(original), kind=NOTICE_KIND, text=text, url=url, asset_id=original.pk
    )
    return bool(told)


def _recipients(asset: AssetPage) -> list:
    """The owner when they can act on it (active, still manages content), as reminders;
    else every active content manager."""
    owner = asset.owner
    if owner is not None and owner.is_active and user_manages_content(owner):
        return [owner]
    return list(get_user_model().objects.filter(content_managers_q()).distinct())


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _told_since(url: str, since: datetime.datetime) -> bool:
    return Notification.objects.filter(kind=NOTICE_KIND, url=url, created_at__gte=since).exists()
