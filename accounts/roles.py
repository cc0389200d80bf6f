"""The four roles and the questions the rest of the code asks about a user.

Roles are Django groups, so an admin assigns them in Wagtail's user editor. Code never tests
group names directly; it asks these helpers.
"""

from __future__ import annotations

from django.db.models import Q

MARKETER = "Marketer"
REP = "Rep"
ENABLEMENT_LEAD = "Enablement lead"
ADMIN = "Admin"
ROLES = (MARKETER, REP, ENABLEMENT_LEAD, ADMIN)


def _groups(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def user_has_role(user, role: str) -> bool:
    return getattr(user, "is_superuser", False) or role in _groups(user)


def user_manages_content(user) -> bool:
    """Marketers, enablement leads and admins see every asset, restricted or not."""
    if getattr(user, "is_superuser", False):
        return True
    return bool(_groups(user) & {MARKETER, ENABLEMENT_LEAD, ADMIN})


def content_managers_q():
    """The users ``user_manages_content`` says yes to, as a filter on users (e.g. a
    ``limit_choices_to``: only they can own what marketing answers)."""
    return Q(is_active=True) & (
        Q(is_superuser=True) | Q(groups__name__in=[MARKETER, ENABLEMENT_LEAD, ADMIN])
    )


def user_is_enablement_lead(user) -> bool:
    """Only enablement leads (and admins) reach the dashboard and the analytics API."""
    if getattr(user, "is_superuser", False):
        return True
    return bool(_groups(user) & {ENABLEMENT_LEAD, ADMIN})


def user_team_ids(user) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_team_ids", None)
    if cached is None:
        cached = set(user.teams.values_list("id", flat=True))
        user._team_ids = cached
    return cached
