"""The role groups exist after migrate with the permissions each role needs, and
``roles_ensure`` can run again without changing anything."""

import pytest
from django.contrib.auth.models import Group
from wagtail.models import GroupApprovalTask, GroupCollectionPermission, GroupPagePermission

from accounts.roles import (
    ADMIN,
    ENABLEMENT_LEAD,
    MARKETER,
    REP,
    ROLES,
    user_is_enablement_lead,
    user_manages_content,
)
from cms.models import LibraryPage
from cms.services import roles_ensure
from tests.factories import library_root, make_user

pytestmark = pytest.mark.django_db


def _page_actions(role: str) -> set[str]:
    rows = GroupPagePermission.objects.filter(group__name=role, page=library_root())
    return {row.permission.codename for row in rows}


def test_every_role_group_exists_after_migrate():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_marketer_may_add_and_edit_library_pages_but_not_publish():
    assert _page_actions(MARKETER) == {"add_page", "change_page"}


def test_enablement_lead_may_publish_library_pages():
    assert {"add_page", "change_page", "publish_page"} <= _page_actions(ENABLEMENT_LEAD)


def test_rep_group_has_no_permission_at_all():
    rep = Group.objects.get(name=REP)
    assert not rep.permissions.exists()
    assert not GroupPagePermission.objects.filter(group=rep).exists()
    assert not GroupCollectionPermission.objects.filter(group=rep).exists()


def test_marketer_may_add_documents_and_images_in_the_root_collection():
    codenames = set(
        GroupCollectionPermission.objects.filter(group__name=MARKETER).values_list(
            "permission__codename", flat=True
        )
    )
    assert {"add_document", "change_document", "add_image", "change_image"} <= codenames
    assert "delete_document" not in codenames


def test_running_roles_ensure_again_adds_nothing():
    counts = (
        Group.objects.count(),
        GroupPagePermission.objects.count(),
        GroupCollectionPermission.objects.count(),
        sum(group.permissions.count() for group in Group.objects.all()),
        GroupApprovalTask.objects.count(),
        LibraryPage.objects.count(),
    )
    roles_ensure()
    roles_ensure()
    assert counts == (
        Group.objects.count(),
        GroupPagePermission.objects.count(),
        GroupCollectionPermission.objects.count(),
        sum(group.permissions.count() for group in Group.objects.all()),
        GroupApprovalTask.objects.count(),
        LibraryPage.objects.count(),
    )


def test_roles_ensure_restores_a_permission_removed_by_hand():
    marketer = Group.objects.get(name=MARKETER)
    marketer.permissions.clear()
    roles_ensure()
    assert marketer.permissions.filter(codename="access_admin").exists()


@pytest.mark.parametrize(
    ("role", "manages", "leads"),
    [
        (REP, False, False),
        (MARKETER, True, False),
        (ENABLEMENT_LEAD, True, True),
        (ADMIN, True, True),
    ],
)
def test_role_helpers_answer_by_group(role, manages, leads):
    user = make_user(role=role)
    assert user_manages_content(user) is manages
    assert user_is_enablement_lead(user) is leads
