"""Writes about the library's structure, governance and roles.

Each function is idempotent where its name says ``ensure``: running it twice changes nothing
the second time, so it can run after every ``migrate``.

Roles (``roles_ensure``, run after every ``migrate`` by ``cms.signals``):
- Marketer: use Wagtail's admin; add and edit pages under the library (not publish: edits go
  through the "Marketing review" workflow); add and edit documents and images; manage the
  taxonomy snippets of every facet (``cms.taxonomy``) and, granted by search, the search
  synonyms.
- Enablement lead: what a marketer may, plus publish (approve the workflow), manage teams,
  lock and unlock pages. The analytics dashboard and the admin reports check the group itself
  (``accounts.roles``).
- Admin: every permission, including users and groups, on the whole page tree.
- Rep: no permission at all; reps use the portal, never the admin.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from wagtail.models import (
    Collection,
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Site,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from accounts.models import Team
from accounts.roles import ADMIN, ENABLEMENT_LEAD, MARKETER
from accounts.services import permission_get, role_groups_ensure
from cms.models import AssetPage, LibraryPage
from cms.taxonomy import facets

MODERATION_WORKFLOW = "Marketing review"
MODERATION_TASK = "Enablement lead approval"


def library_root_ensure() -> LibraryPage:
    """Return the library home (the shallowest LibraryPage), creating it if there is none.

    A new library home goes directly under Wagtail's tree root and becomes the default site's
    root page, so the rep portal's URLs start at ``/``.
    """
    existing = LibraryPage.objects.order_by("depth", "path").first()
    if existing is not None:
        return existing
    with transaction.atomic():
        root = Page.get_first_root_node()
        library = root.add_child(instance=LibraryPage(title="Library", slug="library"))
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(hostname="localhost", root_page=library, is_default_site=True)
        else:
            site.root_page = library
            site.save(update_fields=["root_page"])
    return library


def site_follow_base_url() -> bool:
    """Give the default site the host and port of ``BASE_URL`` (``WAGTAILADMIN_BASE_URL``),
    so that the page links Wagtail puts in its mails ("view the page here") are the ones
    people open, not ``http://localhost/``; returns whether it changed. Run at each
    ``migrate``: the environment is the one place the address is set."""
    address = urlparse(settings.WAGTAILADMIN_BASE_URL)
    if not address.hostname:
        return False
    port = address.port or (443 if address.scheme == "https" else 80)
    changed = Site.objects.filter(is_default_site=True).exclude(
        hostname=address.hostname, port=port
    )
    if not changed.update(hostname=address.hostname, port=port):
        return False
    Site.clear_site_root_paths_cache()  # what Site.save does: page URLs are cached with it
    return True


def site_name_ensure() -> bool:
    """Name the default site ``WAGTAIL_SITE_NAME`` (``SITE_NAME``) when it has no name: the
    admin's home and titles fall back to its host ("Welcome to the 127.0.0.1 Wagtail CMS").
    A name an admin gave it in Settings > Sites stays; returns whether it changed."""
    unnamed = Site.objects.filter(is_default_site=True, site_name="")
    if not unnamed.update(site_name=settings.WAGTAIL_SITE_NAME):
        return False
    Site.clear_site_root_paths_cache()
    return True


def moderation_workflow_ensure(*, library: Page, approvers: Group) -> Workflow:
    """Make sure pages under ``library`` go through "Marketing review", approved by ``approvers``.

    The workflow has one group approval task; when its approvers approve, Wagtail publishes the
    revision. A workflow an admin already assigned to ``library`` is left in place.
    """
    task = GroupApprovalTask.objects.filter(name=MODERATION_TASK).first()
    if task is None:
        task = GroupApprovalTask.objects.create(name=MODERATION_TASK)
    task.groups.add(approvers)
    workflow, _ = Workflow.objects.get_or_create(name=MODERATION_WORKFLOW)
    if not WorkflowTask.objects.filter(workflow=workflow, task=task).exists():
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowPage.objects.get_or_create(page=library, defaults={"workflow": workflow})
    return workflow


def asset_review_by_default(
    *, asset: AssetPage, published_at: datetime.datetime | None = None
) -> datetime.date | None:
    """Give a just-published asset without a review date one: publish date + REVIEW_PERIOD_DAYS.

    Returns the date that was set, or None when the asset already had one. The date is written
    to the page row and to its latest revision, so the editor shows it and a later publish of
    that revision keeps it instead of clearing it.
    """
    if asset.review_by is not None:
        return None
    published_at = published_at or asset.last_published_at or timezone.now()
    review_by = timezone.localdate(published_at) + datetime.timedelta(
        days=settings.REVIEW_PERIOD_DAYS
    )
    AssetPage.objects.filter(pk=asset.pk).update(review_by=review_by)
    asset.review_by = review_by
    revision = asset.latest_revision
    if revision is not None and isinstance(revision.content, dict):
        revision.content["review_by"] = review_by.isoformat()
        revision.save(update_fields=["content"])
    return review_by


# --- Roles ---------------------------------------------------------------------------------

MODEL_ACTIONS = ("add", "change", "delete", "view")
MEDIA_ACTIONS = ("add", "change", "choose")

PAGE_ACTIONS = {
    MARKETER: ("add", "change"),
    ENABLEMENT_LEAD: ("add", "change", "publish", "lock", "unlock"),
    ADMIN: ("add", "change", "publish", "bulk_delete", "lock", "unlock"),
}


def _model_permissions(models) -> list[Permission]:
    """Every action's permission on each model class of ``models``."""
    return [
        permission_get(f"{model._meta.app_label}.{action}_{model._meta.model_name}")
        for model in models
        for action in MODEL_ACTIONS
    ]


def _grant_pages(group: Group, page: Page, actions: tuple[str, ...]) -> None:
    for action in actions:
        GroupPagePermission.objects.get_or_create(
            group=group, page=page, permission=permission_get(f"wagtailcore.{action}_page")
        )


def _grant_media(group: Group, actions: tuple[str, ...]) -> None:
    root = Collection.get_first_root_node()
    for app_label, model in (("wagtaildocs", "document"), ("wagtailimages", "image")):
        for action in actions:
            GroupCollectionPermission.objects.get_or_create(
                group=group,
                collection=root,
                permission=permission_get(f"{app_label}.{action}_{model}"),
            )


def _grant_content_manager(group: Group, *, library: Page, role: str, teams: bool = False) -> None:
    group.permissions.add(permission_get("wagtailadmin.access_admin"))
    group.permissions.add(*_model_permissions(item.term_model for item in facets()))
    if teams:
        group.permissions.add(*_model_permissions([Team]))
    _grant_pages(group, library, PAGE_ACTIONS[role])
    _grant_media(group, MEDIA_ACTIONS)


def _grant_admin(group: Group) -> None:
    group.permissions.add(*Permission.objects.all())
    _grant_pages(group, Page.get_first_root_node(), PAGE_ACTIONS[ADMIN])
    _grant_media(group, MEDIA_ACTIONS + ("delete",))


def roles_ensure() -> dict[str, Group]:
    """Create (or complete) the role groups, what each may do in the library (see
    "Roles" above) and the library's moderation workflow.

    Returns the groups by role name. Needs the library home, which it creates when missing
    (``library_root_ensure``). Only adds: permissions an admin granted by hand survive.
    """
    with transaction.atomic():
        library = library_root_ensure()
        groups = role_groups_ensure()
        _grant_content_manager(groups[MARKETER], library=library, role=MARKETER)
        _grant_content_manager(
            groups[ENABLEMENT_LEAD], library=library, role=ENABLEMENT_LEAD, teams=True
        )
        groups[ENABLEMENT_LEAD].permissions.add(permission_get("cms.set_buyer_sharing"))
        _grant_admin(groups[ADMIN])
        moderation_workflow_ensure(library=library, approvers=groups[ENABLEMENT_LEAD])
        site_follow_base_url()
        site_name_ensure()
    return groups
