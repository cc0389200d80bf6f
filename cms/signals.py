"""Signal wiring for cms. Handlers only hand work to services or tasks."""

from django.conf import settings
from django.db.models import ProtectedError
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import Signal, receiver
from wagtail.signals import page_published

# Sent by the rep-facing asset page with ``request`` and ``asset`` after the permission check;
# analytics records it as an asset_viewed event.
asset_viewed = Signal()

# Sent with ``document`` after a document's processing results (text, page count, thumbnail,
# status) were stored, so that search can reindex the assets that use it.
document_processed = Signal()


@receiver(pre_save, sender=settings.WAGTAILDOCS_DOCUMENT_MODEL)
def _document_pre_save(sender, instance, raw=False, **kwargs):
    if raw:
        return
    from cms.documents import document_prepare_save

    document_prepare_save(document=instance)


@receiver(post_save, sender=settings.WAGTAILDOCS_DOCUMENT_MODEL)
def _document_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    from cms.documents import document_after_save

    document_after_save(document=instance, created=created)


@receiver(page_published)
def _asset_published(sender, instance, revision=None, **kwargs):
    from cms.models import AssetPage

    if not isinstance(instance, AssetPage):
        return
    from cms.services import asset_review_by_default

    asset_review_by_default(asset=instance)


@receiver(pre_delete, sender="accounts.Team")
def _team_pre_delete(sender, instance, **kwargs):
    """Refuse to delete a team that restricts content: the restriction would vanish and the
    content become visible to everyone. (The admin says so before it gets here.)"""
    from cms.selectors import team_usage

    usage = team_usage([instance.pk])
    if usage:
        raise ProtectedError(
            f"Team “{instance}” still restricts: {'; '.join(usage)}. "
            "Remove it from these pages first.",
            set(),
        )
