"""Usage the app sees itself: a rep opening an asset page, a rep downloading its file; and
the backlog permissions after ``migrate``. A content manager's views and downloads are review,
not usage, and record nothing (``analytics.usage.asset_own_use_record``).

A file downloaded at Wagtail's own document URL (``/documents/``: the admin's, for content
managers only) is not usage of an asset: it names no asset, and it is a marketer handling the
file, not a rep using it. It was once recorded as a download of every asset using the file.

A HEAD (a link checker, a prefetching proxy) is answered as a GET and records nothing.
Handlers are thin: they hand the event to ``analytics.usage.asset_own_use_record``. Events
the database was too busy to take at once are stored once the response has gone
(``events_store_after_response``), as search stores its searches.
"""

from __future__ import annotations

import logging

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.core.signals import request_finished
from django.db import close_old_connections, connection, connections
from django.dispatch import receiver
from wagtail.signals import page_published

from analytics.content_requests import content_request_roles_ensure
from analytics.field_materials import field_material_file_unreadable, field_material_published
from analytics.models import EventKind
from analytics.usage import asset_own_use_record, usage_events_pending, usage_spool_replay
from cms.models import AssetPage
from cms.signals import asset_downloaded, asset_viewed, document_processed

logger = logging.getLogger(__name__)


@receiver(asset_viewed)
def _asset_viewed(sender, request, asset, **kwargs):
    if request.method != "HEAD":  # answered as a GET, but nobody looked at anything
        asset_own_use_record(kind=EventKind.VIEWED, asset=asset, user=request.user)


@receiver(asset_downloaded)
def _asset_downloaded(sender, request, asset, **kwargs):
    if request.method != "HEAD":  # a HEAD fetches no file and follows no link
        asset_own_use_record(kind=EventKind.DOWNLOADED, asset=asset, user=request.user)


@receiver(request_finished, dispatch_uid="analytics-events-after-response")
def events_store_after_response(**kwargs):
    """request_finished comes after the response's last byte was handed to the server: events
    this process keeps waiting (the database was busy) are stored here, off the reader's
    wait and without waiting on a database still locked (``usage_spool_replay(wait=False)``).
    The connection this opened is closed like Django closes the request's own."""
    if usage_events_pending.is_set():
        usage_spool_replay(wait=False)
        if not connection.in_atomic_block:
            close_old_connections()


@receiver(page_published)
def _page_published(sender, instance, **kwargs):
    """A rep's material was accepted: tell them (``field_material_published``)."""
    if isinstance(instance, AssetPage):
        field_material_published(asset=instance)


@receiver(document_processed)
def _document_processed(sender, document, **kwargs):
    """A rep's material whose file could not be read: tell the rep and the reviewers
    (``field_material_file_unreadable``). Logged, never raised: search's reindex of the
    document, another receiver of the signal, must still run."""
    try:
        field_material_file_unreadable(document=document)
    except Exception:
        logger.exception("could not tell about field material document %s", document.pk)


def roles_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate of this app: grant the backlog permissions (skipped when the tables are
    not there). Permissions are created first: auth's own receiver may run after this one."""
    tables = set(connections[using].introspection.table_names())
    if not {"auth_group", "analytics_contentrequest"} <= tables:
        return
    create_contenttypes(sender, verbosity=0, using=using)
    create_permissions(sender, verbosity=0, using=using)
    content_request_roles_ensure()
