"""Reads about assets, above all: which assets may this user see?

An asset is visible to a rep when it is live, not archived, not past its expiry, and every
restriction on it and on the library sections above it admits one of the rep's teams.
Content managers (marketers, enablement leads, admins) see every live asset.
Search, listings, downloads, thumbnails and share links all ask these functions.
"""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from cms.models import (
    AssetPage,
    AssetType,
    BuyerStage,
    Industry,
    LibraryPage,
    Pillar,
    Product,
)
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


# --- Library browsing: sections, filters, the stage x pillar grid, related assets ------------


def _hidden_section_paths(user) -> list[str] | None:
    """Tree paths of the sections hidden from ``user``; None when the user may see none."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user_manages_content(user):
        return []
    return _sections_hidden_from(user_team_ids(user))


def section_visible_to(user, section: LibraryPage) -> bool:
    """A rep may open a library section when it and every section above it admit a team of
    theirs (unrestricted sections admit everyone). Content managers may open every section."""
    hidden = _hidden_section_paths(user)
    return hidden is not None and not any(section.path.startswith(path) for path in hidden)


def sections_for_user(user, parent: LibraryPage) -> list[LibraryPage]:
    """The live sub-sections directly under ``parent`` that ``user`` may open, in tree order."""
    hidden = _hidden_section_paths(user)
    if hidden is None:
        return []
    children = LibraryPage.objects.child_of(parent).live().order_by("path")
    return [child for child in children if not any(child.path.startswith(p) for p in hidden)]


ASSET_FILTERS = {
    "type": ("asset_type__slug", AssetType),
    "stage": ("stages__slug", BuyerStage),
    "pillar": ("pillars__slug", Pillar),
    "product": ("products__slug", Product),
    "industry": ("industries__slug", Industry),
}


def taxonomy_unknown_slugs(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each filter name, the requested slugs that name no term (to report them)."""
    unknown = {}
    for name, slugs in filters.items():
        model = ASSET_FILTERS[name][1]
        known = set(model.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        missing = [slug for slug in slugs if slug not in known]
        if missing:
            unknown[name] = missing
    return unknown


def assets_filter(
    queryset: QuerySet[AssetPage], filters: dict[str, list[str]]
) -> QuerySet[AssetPage]:
    """Narrow ``queryset`` by taxonomy slugs: within one filter any slug matches (OR), across
    filters all must match (AND). Filter names are the keys of ASSET_FILTERS."""
    for name, slugs in filters.items():
        if slugs:
            lookup = ASSET_FILTERS[name][0]
            queryset = queryset.filter(pk__in=AssetPage.objects.filter(**{f"{lookup}__in": slugs}))
    return queryset


def asset_cell_counts(queryset: QuerySet[AssetPage]) -> dict[tuple[int, int], int]:
    """How many assets of ``queryset`` sit in each (stage id, pillar id) cell.

    An asset with two stages and two pillars counts once in each of its four cells.
    """
    Stages = AssetPage.stages.through
    Pillars = AssetPage.pillars.through
    asset_ids = queryset.order_by().values("pk")
    stage_links = Stages.objects.filter(assetpage_id__in=asset_ids)
    pillar_links = Pillars.objects.filter(assetpage_id__in=asset_ids)
    pillars_of: dict[int, set[int]] = {}
    for asset_id, pillar_id in pillar_links.values_list("assetpage_id", "pillar_id"):
        pillars_of.setdefault(asset_id, set()).add(pillar_id)
    counts: dict[tuple[int, int], int] = {}
    for asset_id, stage_id in stage_links.values_list("assetpage_id", "buyerstage_id"):
        for pillar_id in pillars_of.get(asset_id, ()):
            counts[(stage_id, pillar_id)] = counts.get((stage_id, pillar_id), 0) + 1
    return counts


def asset_grid(queryset: QuerySet[AssetPage]) -> list[dict]:
    """The stage x pillar grid of ``queryset``: one row per stage (in journey order), each with
    ``stage`` and ``cells``, a list of {"stage", "pillar", "count"} in pillar order."""
    counts = asset_cell_counts(queryset)
    pillars = list(Pillar.objects.all())
    return [
        {
            "stage": stage,
            "cells": [
                {"stage": stage, "pillar": pillar, "count": counts.get((stage.pk, pillar.pk), 0)}
                for pillar in pillars
            ],
        }
        for stage in BuyerStage.objects.all()
    ]


def assets_related(user, asset: AssetPage, *, limit: int = 6) -> list[AssetPage]:
    """Other assets ``user`` may see in the same cell as ``asset``: sharing at least one
    stage and at least one pillar with it. Most recently published first."""
    stage_ids = list(asset.stages.values_list("pk", flat=True))
    pillar_ids = list(asset.pillars.values_list("pk", flat=True))
    if not stage_ids or not pillar_ids:
        return []
    same_cell = (
        assets_live()
        .filter(pk__in=AssetPage.objects.filter(stages__in=stage_ids).values("pk"))
        .filter(pk__in=AssetPage.objects.filter(pillars__in=pillar_ids).values("pk"))
        .exclude(pk=asset.pk)
    )
    queryset = assets_for_user(user, same_cell).order_by("-last_published_at", "pk")
    queryset = queryset.select_related("asset_type", "document").prefetch_related(
        "stages", "pillars"
    )
    return list(queryset[:limit])


# --- Governance: the coverage matrix and assets due for review -------------------------------


def coverage_matrix() -> list[dict]:
    """Every live asset (restricted or not) counted into the stage x pillar grid; the same
    shape as ``asset_grid``. An empty cell is a gap in the content the reps have."""
    return asset_grid(assets_live())


def assets_needing_review(*, today: datetime.date | None = None) -> QuerySet[AssetPage]:
    """Live assets whose review date has passed (review_by before ``today``), oldest first."""
    today = today or timezone.localdate()
    return (
        assets_live()
        .filter(review_by__lt=today)
        .select_related("owner", "asset_type")
        .order_by("review_by", "title")
    )
