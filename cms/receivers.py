"""cms's signal receivers. Each only hands work to a service or schedules a task.
Imported by ``cms.apps.CmsConfig.ready``, which also connects ``roles_after_migrate``."""

import logging

from django.apps import apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import connections
from django.db.models import ProtectedError
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver
from wagtail.models import Page
from wagtail.signals import page_published

from accounts.models import Team
from cms import tasks
from cms.document_notices import document_unreadable_notify
from cms.documents import document_after_save, document_prepare_save
from cms.models import AssetPage
from cms.selectors import team_usage, term_usage
from cms.services import asset_review_by_default, roles_ensure
from cms.signals import document_processed
from cms.taxonomy import facets

logger = logging.getLogger(__name__)


@receiver(pre_save, sender=settings.WAGTAILDOCS_DOCUMENT_MODEL)
def _document_pre_save(sender, instance, raw=False, **kwargs):
    if raw:
        return
    document_prepare_save(document=instance)


@receiver(post_save, sender=settings.WAGTAILDOCS_DOCUMENT_MODEL)
def _document_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    if document_after_save(document=instance, created=created):
        tasks.document_schedule_processing(document_id=instance.pk)


@receiver(document_processed)
def _document_processed(sender, document, **kwargs):
    """Tell the uploader of a file that could not be read. A failure to tell is logged, never
    raised: the signal's other receivers (search's reindex) must still run."""
    try:
        document_unreadable_notify(document=document)
    except Exception:
        logger.exception("could not tell the uploader of document %s", document.pk)


@receiver(page_published)
def _asset_published(sender, instance, revision=None, **kwargs):
    if isinstance(instance, AssetPage):
        asset_review_by_default(asset=instance)


@receiver(pre_delete, sender=Team)
def _team_pre_delete(sender, instance, **kwargs):
    """Refuse to delete a team that restricts content: the restriction would vanish and the
    content become visible to everyone. (The admin says so before it gets here.)"""
    usage = team_usage([instance.pk])
    if usage:
        raise ProtectedError(
            f"Team “{instance}” still restricts: {'; '.join(usage)}. "
            "Remove it from these pages first.",
            set(),
        )


def _term_pre_delete(sender, instance, **kwargs):
    """Refuse to delete a taxonomy term in use (``cms.selectors.term_usage``): its assets
    would lose it and deal history its stage. (The admin says so before it gets here.)"""
    usage = term_usage(sender, [instance.pk])
    if usage:
        raise ProtectedError(
            f"“{instance}” is still used by {'; '.join(usage)}.",
            set(),
        )


for _facet in facets():
    pre_delete.connect(_term_pre_delete, sender=_facet.term_model, dispatch_uid="cms-term-in-use")


REQUIRED_TABLES = {"auth_group", "cms_librarypage", "wagtailcore_workflowpage"}


def roles_after_migrate(sender, using="default", **kwargs):
    """Create the role groups after ``migrate`` (``cms.services.roles_ensure``). cms's
    post_migrate runs before the apps listed after it have created their content types and
    permissions, so those are created first (both are idempotent). Skipped when the tables
    are not there (an app migrated back to zero) and after a test database flush, which
    leaves no page tree to attach the library to."""
    if not REQUIRED_TABLES <= set(connections[using].introspection.table_names()):
        return
    if not Page.objects.using(using).filter(depth=1).exists():
        return
    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0, using=using)
        create_permissions(app_config, verbosity=0, using=using)
    roles_ensure()
