"""Writes about roles: the four role groups, and granting a role a model permission.

Each app grants its own roles what its models need (``cms.services.roles_ensure`` for the
library, ``search.services.search_roles_ensure`` for the synonym sets) through these, after
every ``migrate``. Granting only adds, so permissions an admin granted by hand survive.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission

from accounts.roles import ROLES


def role_groups_ensure() -> dict[str, Group]:
    """The group of every role (``accounts.roles.ROLES``), created when missing."""
    return {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}


def permission_get(name: str) -> Permission:
    """The permission ``"app_label.codename"``; DoesNotExist names a permission that is not
    there (its app's migrations have not run)."""
    app_label, codename = name.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def role_permissions_grant(*, roles: Iterable[str], permissions: Iterable[str]) -> None:
    """Give each role's group the permissions named ``"app_label.codename"``."""
    wanted = [permission_get(name) for name in permissions]
    groups = role_groups_ensure()
    for role in roles:
        groups[role].permissions.add(*wanted)
