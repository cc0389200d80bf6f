"""Writes about the library's structure and governance.

Each function is idempotent where its name says ``ensure``: running it twice changes nothing
the second time, so it can run after every ``migrate``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from wagtail.models import GroupApprovalTask, Page, Site, Workflow, WorkflowPage, WorkflowTask

from cms.models import AssetPage, LibraryPage

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
