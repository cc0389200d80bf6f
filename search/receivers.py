"""Search's signal receivers: they keep the index in step with the library (each only works
out which assets are affected and calls ``tasks.index_schedule*``, a task on commit), clear
the label and synonym caches when terms or synonyms change, and grant search's permissions
after ``migrate``, write the searches a request spooled once its response has gone, and scope
the admin search's shared server totals to each request (``admin_backend``).
``connect`` wires them (``search.apps``)."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, connections
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_delete
from wagtail.documents import get_document_model
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move

from cms import signals as cms_signals
from cms.models import AssetPage, LibraryPage
from cms.selectors import asset_ids_placed_under
from cms.spool import impatient_writes
from cms.taxonomy import facets
from search import admin_backend, services, tasks
from search.models import SearchSynonyms
from search.selectors import synonym_sets_clear, taxonomy_labels_clear

UID = "library_search"


def connect(app_config) -> None:
    """Connect every receiver: publish, unpublish, move, delete and restriction changes of
    assets and sections (their teams and Wagtail's privacy setting), aliases converted to pages
    of their own, processed and deleted files, renamed terms; term edits to the label cache,
    synonym edits to the synonym cache; this app's post_migrate to its permissions."""
    for model in (AssetPage, LibraryPage):
        page_published.connect(page_changed, sender=model, dispatch_uid=f"{UID}-p")
        page_unpublished.connect(page_changed, sender=model, dispatch_uid=f"{UID}-u")
        post_page_move.connect(page_changed, sender=model, dispatch_uid=f"{UID}-m")
        m2m_changed.connect(
            restrictions_changed, sender=model.restricted_teams.through, dispatch_uid=f"{UID}-r"
        )
        post_save.connect(alias_converted, sender=model, dispatch_uid=f"{UID}-a")
    post_delete.connect(asset_deleted, sender=AssetPage, dispatch_uid=f"{UID}-d")
    for signal in (post_save, post_delete):
        signal.connect(privacy_changed, sender=PageViewRestriction, dispatch_uid=f"{UID}-v")
    cms_signals.document_processed.connect(document_processed, dispatch_uid=f"{UID}-doc")
    pre_delete.connect(document_deleting, sender=get_document_model(), dispatch_uid=f"{UID}-doc-d")
    for item in facets():
        model = item.term_model
        post_save.connect(taxonomy_labels_clear, sender=model, dispatch_uid=f"{UID}-t")
        post_save.connect(term_saved, sender=model, dispatch_uid=f"{UID}-tr")
        post_delete.connect(taxonomy_labels_clear, sender=model, dispatch_uid=f"{UID}-td")
    post_save.connect(synonym_sets_clear, sender=SearchSynonyms, dispatch_uid=f"{UID}-s")
    post_migrate.connect(roles_after_migrate, sender=app_config, dispatch_uid=f"{UID}-roles")
    request_finished.connect(searches_write_after_response, dispatch_uid=f"{UID}-events")
    request_started.connect(admin_backend.totals_start, dispatch_uid=f"{UID}-totals")
    request_finished.connect(admin_backend.totals_end, dispatch_uid=f"{UID}-totals-end")


def searches_write_after_response(**kwargs) -> None:
    """request_finished comes after the response's last byte was handed to the server: the
    search event a request spooled is written here, off the rep's wait. The connection this
    opened is closed like Django closes the request's own (not inside a test's transaction).
    A locked database leaves them spooled for the next response at once: the worker that
    served the search does not wait out the busy timeout."""
    if services.search_events_pending.is_set():
        with impatient_writes():  # a locked database keeps them spooled, not the worker waiting
            services.search_events_flush()
        if not connection.in_atomic_block:
            close_old_connections()


def _schedule_page(page) -> None:
    """Re-index the assets whose visibility follows ``page``'s place: an asset and its
    aliases (``asset_ids_placed_under``), or every asset a section places."""
    if isinstance(page, AssetPage) or getattr(page, "specific_class", None) is AssetPage:
        tasks.index_schedule(asset_ids=asset_ids_placed_under(page))
    elif isinstance(page, LibraryPage) or getattr(page, "specific_class", None) is LibraryPage:
        tasks.index_schedule_section(section_id=page.pk)


def page_changed(sender, instance, **kwargs) -> None:
    """page_published, page_unpublished, post_page_move."""
    _schedule_page(instance)


def asset_deleted(sender, instance, **kwargs) -> None:
    tasks.index_schedule(asset_ids=[instance.pk])


def alias_converted(sender, instance, created, raw=False, update_fields=None, **kwargs) -> None:
    """post_save of an alias Wagtail has just turned into a page of its own ("Convert alias",
    which publishes nothing): search found it as its original; now it needs its own entry."""
    converted = not created and update_fields and "alias_of_id" in update_fields
    if converted and not raw and instance.alias_of_id is None:
        _schedule_page(instance)


def restrictions_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """m2m_changed on AssetPage/LibraryPage.restricted_teams, from either side."""
    if not action.startswith("post_"):
        return
    if not reverse:
        _schedule_page(instance)
        return
    for page in model.objects.filter(pk__in=pk_set or ()):
        _schedule_page(page)


def privacy_changed(sender, instance, **kwargs) -> None:
    """post_save and post_delete of a PageViewRestriction (Wagtail's Privacy setting, set,
    changed or removed): re-index the page's assets, since it decides whether reps see them
    (``cms.selectors.restricted_levels``). A page being deleted is re-indexed by its own
    deletion."""
    page = Page.objects.filter(pk=instance.page_id).first()
    if page is not None:
        _schedule_page(page)


def term_saved(sender, instance, created, raw=False, **kwargs) -> None:
    """post_save of a taxonomy term (renamed, say): re-index the assets tagged with it, whose
    documents carry its slug and, for a searchable facet, its name as searchable text."""
    if created or raw:
        return
    _schedule_assets_tagged(sender, instance)


def _schedule_assets_tagged(model, term) -> None:
    item = next(item for item in facets() if item.term_model is model)
    ids = AssetPage.objects.filter(**{item.relation: term}).values_list("pk", flat=True)
    tasks.index_schedule(asset_ids=list(ids))


def _schedule_assets_using(document) -> None:
    uses = Q(document=document) | Q(transcript=document)  # a file, or a video's captions
    ids = AssetPage.objects.filter(uses).values_list("pk", flat=True)
    tasks.index_schedule(asset_ids=list(ids))


def document_processed(sender, document, **kwargs) -> None:
    """A file's text or thumbnail changed: re-index the assets that use it."""
    _schedule_assets_using(document)


def document_deleting(sender, instance, **kwargs) -> None:
    """pre_delete of a document: the database clears the assets' links to it (SET_NULL)
    without a signal, so the assets that use it are found now and re-indexed once the
    deletion commits, and their text and pages leave search with it."""
    _schedule_assets_using(instance)


def roles_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate of this app: grant the search permissions (skipped when the tables are
    not there, e.g. after migrating the app back to zero). Django creates an app's
    permissions in a post_migrate receiver that may run after this one (django.contrib.auth
    comes later in INSTALLED_APPS), so they are created here first; both are idempotent."""
    tables = set(connections[using].introspection.table_names())
    if not {"auth_group", "library_search_searchsynonyms"} <= tables:
        return
    create_contenttypes(sender, verbosity=0, using=using)
    create_permissions(sender, verbosity=0, using=using)
    services.search_roles_ensure()
