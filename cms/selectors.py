"""Reads about assets, above all: which assets may this user see?

An asset is visible to a rep when it is live, not archived, not past its expiry, and every
restriction on it and on the library sections above it admits one of the rep's teams.
Content managers (marketers, enablement leads, admins) see every live asset.
Search, listings, downloads, thumbnails and share links all ask these functions.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from cms.models import AssetPage, LibraryPage
from enablement.roles import user_manages_content, user_team_ids


def assets_live() -> QuerySet[AssetPage]:
    """Assets a rep could ever see: published, not archived, not expired."""
    now = timezone.now()
    return (
        AssetPage.objects.live()
        .filter(archived=False, expired=False)
        .filter(Q(expire_at__isnull=True) | Q(expire_at__gt=now))
    )


def _sections_hidden_from(team_ids: set[int]) -> list[str]:
    """Tree paths of restricted library sections that admit none of ``team_ids``."""
    hidden = []
    restricted = LibraryPage.objects.filter(restricted_teams__isnull=False).distinct()
    for section in restricted.prefetch_related("restricted_teams"):
        allowed = {team.id for team in section.restricted_teams.all()}
        if not allowed & team_ids:
            hidden.append(section.path)
    return hidden


def assets_for_user(user, queryset: QuerySet[AssetPage] | None = None) -> QuerySet[AssetPage]:
    """The live assets ``user`` may see, as a queryset that can be filtered further."""
    queryset = assets_live() if queryset is None else queryset
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user_manages_content(user):
        return queryset
    team_ids = user_team_ids(user)
    restricted_elsewhere = AssetPage.objects.filter(restricted_teams__isnull=False).exclude(
        restricted_teams__in=team_ids
    )
    queryset = queryset.exclude(pk__in=restricted_elsewhere.values("pk"))
    for path in _sections_hidden_from(team_ids):
        queryset = queryset.exclude(path__startswith=path)
    return queryset


def asset_allowed_team_ids(asset: AssetPage) -> frozenset[int] | None:
    """Teams that may see ``asset``: None when everyone may, an empty set when only managers.

    Restrictions compose: each restricted level (the asset and every section above it) must
    admit the team, so the result is the intersection of the restricted levels' team sets.
    """
    levels = [set(asset.restricted_teams.values_list("id", flat=True))]
    sections = LibraryPage.objects.ancestor_of(asset).filter(restricted_teams__isnull=False)
    for section in sections.distinct().prefetch_related("restricted_teams"):
        levels.append({team.id for team in section.restricted_teams.all()})
    levels = [level for level in levels if level]
    if not levels:
        return None
    return frozenset(set.intersection(*levels))


def asset_is_live(asset: AssetPage) -> bool:
    now = timezone.now()
    return (
        asset.live
        and not asset.archived
        and not asset.expired
        and (asset.expire_at is None or asset.expire_at > now)
    )


def asset_visible_to(user, asset: AssetPage) -> bool:
    if not getattr(user, "is_authenticated", False) or not asset_is_live(asset):
        return False
    if user_manages_content(user):
        return True
    allowed = asset_allowed_team_ids(asset)
    return allowed is None or bool(allowed & user_team_ids(user))
