"""Create the four role groups with the permissions each needs, and the moderation workflow.

``roles_ensure`` runs after every ``migrate`` (see ``enablement.apps``). It only adds what is
missing, so permissions an admin granted by hand survive; it never removes any.

What each role may do:
- Marketer: use Wagtail's admin; add and edit pages under the library (not publish: edits go
  through the "Marketing review" workflow); add and edit documents and images; manage the
  taxonomy snippets and the search synonyms.
- Enablement lead: what a marketer may, plus publish (approve the workflow), manage teams,
  lock and unlock pages. The analytics dashboard and the admin reports check the group itself
  (``accounts.roles``).
- Admin: every permission, including users and groups, on the whole page tree.
- Rep: no permission at all; reps use the portal, never the admin.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page

from accounts.roles import ADMIN, ENABLEMENT_LEAD, MARKETER, ROLES
from cms.services import library_root_ensure, moderation_workflow_ensure

TAXONOMY_MODELS = (
    "buyerstage",
    "pillar",
    "assettype",
    "product",
    "industry",
    "persona",
    "competitor",
)
MODEL_ACTIONS = ("add", "change", "delete", "view")
MEDIA_ACTIONS = ("add", "change", "choose")

PAGE_ACTIONS = {
    MARKETER: ("add", "change"),
    ENABLEMENT_LEAD: ("add", "change", "publish", "lock", "unlock"),
    ADMIN: ("add", "change", "publish", "bulk_delete", "lock", "unlock"),
}


def _permission(app_label: str, codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _model_permissions(app_label: str, models: tuple[str, ...]) -> list[Permission]:
    return [
        _permission(app_label, f"{action}_{model}") for model in models for action in MODEL_ACTIONS
    ]


def _grant_pages(group: Group, page: Page, actions: tuple[str, ...]) -> None:
    for action in actions:
        GroupPagePermission.objects.get_or_create(
            group=group, page=page, permission=_permission("wagtailcore", f"{action}_page")
        )


def _grant_media(group: Group, actions: tuple[str, ...]) -> None:
    root = Collection.get_first_root_node()
    for app_label, model in (("wagtaildocs", "document"), ("wagtailimages", "image")):
        for action in actions:
            GroupCollectionPermission.objects.get_or_create(
                group=group,
                collection=root,
                permission=_permission(app_label, f"{action}_{model}"),
            )


def _grant_content_manager(group: Group, *, library: Page, role: str, teams: bool = False) -> None:
    group.permissions.add(_permission("wagtailadmin", "access_admin"))
    group.permissions.add(*_model_permissions("cms", TAXONOMY_MODELS))
    if teams:
        group.permissions.add(*_model_permissions("accounts", ("team",)))
    group.permissions.add(_permission("library_search", "change_searchsynonyms"))
    _grant_pages(group, library, PAGE_ACTIONS[role])
    _grant_media(group, MEDIA_ACTIONS)


def _grant_admin(group: Group) -> None:
    group.permissions.add(*Permission.objects.all())
    _grant_pages(group, Page.get_first_root_node(), PAGE_ACTIONS[ADMIN])
    _grant_media(group, MEDIA_ACTIONS + ("delete",))


def roles_ensure() -> dict[str, Group]:
    """Create (or complete) the role groups and the library's moderation workflow.

    Returns the groups by role name. Needs the library home, which it creates when missing
    (``cms.services.library_root_ensure``).
    """
    with transaction.atomic():
        library = library_root_ensure()
        groups = {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}
        _grant_content_manager(groups[MARKETER], library=library, role=MARKETER)
        _grant_content_manager(
            groups[ENABLEMENT_LEAD], library=library, role=ENABLEMENT_LEAD, teams=True
        )
        _grant_admin(groups[ADMIN])
        moderation_workflow_ensure(library=library, approvers=groups[ENABLEMENT_LEAD])
    return groups
