"""Usage the app sees itself: a rep opening an asset page, a rep downloading its file.

Handlers are thin: they hand the event to ``analytics.services.usage_record``.
"""

from __future__ import annotations

from django.dispatch import receiver
from wagtail.documents.models import document_served

from analytics.models import EventKind
from analytics.services import usage_record
from cms.selectors import assets_for_user, assets_live
from cms.signals import asset_viewed


@receiver(asset_viewed)
def _asset_viewed(sender, request, asset, **kwargs):
    usage_record(kind=EventKind.VIEWED, asset=asset, user=request.user)


@receiver(document_served)
def _document_served(sender, instance, request, **kwargs):
    """A signed-in user downloaded a document: one asset_downloaded event per asset that
    uses it and that the user may see."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return
    for asset in assets_for_user(user, assets_live().filter(document=instance)):
        usage_record(kind=EventKind.DOWNLOADED, asset=asset, user=user)
