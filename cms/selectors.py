"""Reads about assets, above all: which assets may this user see?

An asset is visible to a rep when it is live, not archived, not past its expiry (nor any
library section above it past its own), every restriction on it and on the library sections
above it admits one of the rep's teams, and neither it nor a page above it is private to a
password or to groups (Wagtail's Privacy setting). An alias of a page (Wagtail's "Create
alias") answers to its own place and to its original's place alike, and hides with its
original. Content managers (marketers, enablement leads, admins) see every live asset.
Search, listings, downloads, thumbnails and share links all ask these functions.

What the rule reads from the whole tree (hidden sections, restricted levels, expiries,
aliases) is read once per page a user opens (``tree_read_once``), however often the page asks.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from wagtail.models import Page, PageViewRestriction, Revision

from accounts.roles import user_manages_content, user_team_ids
from cms.documents import document_page_unit
from cms.extraction import extension_of
from cms.models import AssetPage, BuyerStage, LibraryDocumentPage, LibraryPage, Pillar
from cms.taxonomy import facet, facets

# --- Tree-wide reads, once per request ----------------------------------------------------
#
# Opening one page asks the rule several times (Wagtail's serving hook, the page's own view,
# its related assets, its share links), and each answer reads the whole tree's hidden
# sections, restricted levels and aliases. Inside ``tree_read_once`` (every GET or HEAD
# request: ``cms.middleware.TreeReadOnceMiddleware``) each of those reads runs once and its
# rows are reused; a request that writes reads afresh every time, so a change it makes is
# never judged by the tree as it was before.

_tree_reads: ContextVar[dict[str, list] | None] = ContextVar("tree_reads", default=None)
Read = TypeVar("Read", bound=Callable[[], list])


@contextmanager
def tree_read_once() -> Iterator[None]:
    """Within this block, each tree-wide read below runs at most once."""
    token = _tree_reads.set({})
    try:
        yield
    finally:
        _tree_reads.reset(token)


def tree_read_ahead(user) -> None:
    """Within ``tree_read_once``, read now what the rule reads for ``user`` (a rep) opening
    a page: asked first by every library URL a signed-in user requests, so that a URL where
    no page is, or an id of no asset, costs what a page they may not see costs. Otherwise
    the time of a 404 would tell a rep which hidden pages exist. Later asks reuse the rows."""
    if _tree_reads.get() is None or user_manages_content(user):
        return
    _hidden_paths()
    restricted_levels()
    user_team_ids(user)


def _once(read: Read) -> Read:
    @functools.wraps(read)
    def reused() -> list:
        memo = _tree_reads.get()
        if memo is None:
            return read()
        if read.__name__ not in memo:
            memo[read.__name__] = read()
        return list(memo[read.__name__])

    return reused  # type: ignore[return-value]


def _live(queryset: QuerySet[AssetPage]) -> QuerySet[AssetPage]:
    """``queryset`` narrowed to assets that are published, not archived, not expired, and
    whose every library section above is published and unexpired too: unpublishing a
    section hides everything below it, whether or not its sub-pages were unpublished. An
    alias hides with its original (``_hidden_paths``)."""
    now = timezone.now()
    queryset = queryset.filter(live=True, archived=False, expired=False).filter(
        Q(expire_at__isnull=True) | Q(expire_at__gt=now)
    )
    for path in _hidden_paths():
        queryset = queryset.exclude(path__startswith=path)
    return queryset


def assets_live() -> QuerySet[AssetPage]:
    """Assets a rep could ever see (see ``_live``), each once: an alias is its original
    placed again, so it is left out here, and what reps do with it counts for the original
    (``asset_originals``). Listings of a section (``assets_for_user``) keep their aliases."""
    return _live(AssetPage.objects.filter(alias_of__isnull=True))


def _gone(live: bool, expired: bool, expire_at, now) -> bool:
    return not live or expired or (expire_at is not None and expire_at <= now)


@_once
def _hidden_paths() -> list[str]:
    """Tree paths below which (themselves included) reps see nothing: library sections that
    are unpublished or past their expiry, and aliases whose original is hidden (unpublished,
    archived or past its expiry, itself or by a section above it: see "Aliases" below)."""
    now = timezone.now()
    # Every section, filtered here: sections are few, and a WHERE on the page columns would
    # make the database walk every page of the tree (100k assets: 0.2 s per call).
    sections = LibraryPage.objects.values_list("path", "live", "expired", "expire_at")
    hidden = [path for path, *state in sections if _gone(*state, now)]
    places = _alias_places()
    if places:
        originals = Page.objects.filter(aliases__isnull=False).distinct()
        rows = originals.values_list("path", "live", "expired", "expire_at")
        hidden += [path for path, *state in rows if _gone(*state, now)]
        archived = AssetPage.objects.filter(aliases__isnull=False, archived=True)
        hidden += list(archived.values_list("path", flat=True))
        hidden = [path for path, _ in _through_aliases([(p, True) for p in hidden], places)]
    return _outermost(hidden)


@_once
def section_expiries() -> list[tuple[str, datetime.datetime]]:
    """(tree path, expiry) of every library section that has an expiry date, and, under each
    alias, the expiries its original's place has (the original's own among them)."""
    # Filtered here rather than in SQL, for the reason given in _hidden_paths.
    sections = LibraryPage.objects.values_list("path", "expire_at")
    found = [(path, expire_at) for path, expire_at in sections if expire_at is not None]
    places = _alias_places()
    if places:
        originals = Page.objects.filter(aliases__isnull=False, expire_at__isnull=False)
        found += list(originals.distinct().values_list("path", "expire_at"))
        found = _through_aliases(found, places)
    return found


def assets_expire_at(
    asset_ids: list[int], *, sections: list[tuple[str, datetime.datetime]] | None = None
) -> dict[int, datetime.datetime | None]:
    """When each asset of ``asset_ids`` stops being visible by time passing, by asset id: the
    earliest of its own expiry and those of the library sections above it (and, for an
    alias, those of its original's place) (None: never).
    What search documents store, so that a section's expiry hides its assets the moment it
    passes, as the asset's own does, with nothing run at that time (``_live`` applies the
    same dates in the database). ``sections`` (``section_expiries()``) may be passed in when
    many batches are asked for at once."""
    sections = section_expiries() if sections is None else sections
    rows = AssetPage.objects.filter(pk__in=asset_ids).values_list("pk", "path", "expire_at")
    found = {}
    for pk, path, own in rows:
        dates = [when for prefix, when in sections if path.startswith(prefix)]
        if own is not None:
            dates.append(own)
        found[pk] = min(dates, default=None)
    return found


def _outermost(paths: list[str]) -> list[str]:
    """Drop paths that lie under another path of the list (their prefix already covers them)."""
    kept: list[str] = []
    for path in sorted(paths):
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    return kept


# --- Aliases ----------------------------------------------------------------------------
#
# Wagtail lets an editor place an alias of a page elsewhere in the tree (``Page.alias_of``,
# "Create alias"): a page of its own (its own id, row and path) that shows the original's
# content and that Wagtail keeps in step when the original is published. The rule goes by
# place, so an alias answers to both places: reps see it only when its own place AND its
# original's place admit them, and it hides whenever its original does (unpublished,
# archived, expired, itself or by a section above it). A page under an aliased section
# answers to that section's original's place too (Wagtail's own privacy check also looks
# at the originals of the aliases above a page), and an alias of an alias to every place up
# the chain. Fail closed: whatever restricts or hides the original restricts or hides its
# aliases, whether or not Wagtail has copied it to them.
#
# Written once: whatever a path carries (a restricted level, a hiding, an expiry) is carried
# again by the path of each alias of a page at or below it (``_through_aliases``), so every
# function that goes by path applies the rule without knowing aliases.

Carried = TypeVar("Carried", bound=Hashable)


@_once
def _alias_places() -> list[tuple[str, str]]:
    """(tree path of the alias, tree path of its original) for every alias in the tree."""
    aliases = Page.objects.filter(alias_of__isnull=False)
    return list(aliases.values_list("path", "alias_of__path"))


def _through_aliases(
    items: list[tuple[str, Carried]], places: list[tuple[str, str]]
) -> list[tuple[str, Carried]]:
    """``items`` (tree path, what it carries for the pages at and below it) and the same
    again under each alias (``places``) whose original lies at or below an item's path,
    until nothing new comes: an alias of an alias, an alias inside an aliased section."""
    found = dict.fromkeys(items)
    while True:
        added = {
            (alias, value)
            for alias, original in places
            for path, value in found
            if original.startswith(path) and (alias, value) not in found
        }
        if not added:
            return list(found)
        found.update(dict.fromkeys(sorted(added, key=lambda item: item[0])))


def assets_shareable_ids(asset_ids) -> set[int]:
    """Those of ``asset_ids`` that may go to buyers (``AssetPage.shareable_with_buyers``, in
    one query): the asset's own choice, else its type's default."""
    own = Q(buyer_sharing="allow") | Q(buyer_sharing="", asset_type__shareable_with_buyers=True)
    return set(AssetPage.objects.filter(own, pk__in=list(asset_ids)).values_list("pk", flat=True))


def asset_originals(asset_ids) -> dict[int, int]:
    """For each of ``asset_ids``, the asset it is: its own id, or for an alias (of an alias...)
    the id of the page the chain started from. Ids of no page are left out."""
    found = dict(Page.objects.filter(pk__in=set(asset_ids)).values_list("pk", "alias_of_id"))
    originals = {pk: pk for pk, alias_of in found.items() if alias_of is None}
    chains = {pk: alias_of for pk, alias_of in found.items() if alias_of is not None}
    while chains:
        step = dict(
            Page.objects.filter(pk__in=set(chains.values())).values_list("pk", "alias_of_id")
        )
        for pk, at in list(chains.items()):
            if step[at] is None:
                originals[pk] = at
                del chains[pk]
            else:
                chains[pk] = step[at]
    return originals


def asset_original(asset: AssetPage) -> AssetPage:
    """``asset`` itself, or for an alias the asset it was made from (``asset_originals``),
    read once per ``asset`` object (an alias's page asks for its panel and related assets)."""
    if asset.alias_of_id is None:
        return asset
    if not hasattr(asset, "_original_asset"):
        original = asset
        while original.alias_of_id is not None:
            original = AssetPage.objects.get(pk=original.alias_of_id)
        asset._original_asset = original
    return asset._original_asset


def asset_ids_placed_under(page: Page) -> list[int]:
    """Ids of every asset whose visibility follows ``page``'s place: the assets at or below
    it and, as an alias answers to its original's place, those at or below each alias of a
    page at or below it (and so on down the chain). What to re-index when the page's
    restrictions, privacy, publication or place change."""
    placed_paths = _through_aliases([(page.path, True)], _alias_places())
    placed = Q(pk__in=[])
    for path in _outermost([path for path, _ in placed_paths]):
        placed |= Q(path__startswith=path)
    return list(AssetPage.objects.filter(placed).values_list("pk", flat=True))


# --- The visibility rule -----------------------------------------------------------------
#
# A page (asset or section) is restricted at a *level* when it or a library section above it
# names teams. A team is admitted when EVERY restricted level names it; a rep sees the page
# when one of their teams is admitted (so a rep in teams A and B does not see an asset
# restricted to B inside a section restricted to A: no single team of theirs is admitted
# everywhere). A page that Wagtail's Privacy setting gives a password or a list of groups,
# itself or above it, is a level that admits no team: reps never see it. Wagtail checks a
# password or a group only where it serves the page itself; every other path (search,
# downloads, share links...) fails closed instead. Teams are how reps are given restricted
# content. Content managers see every live page.
#
# The rule is written once, as ``allowed_teams`` (the set of admitted teams, which search
# documents store), and once more as the queryset filter ``assets_for_user`` derived from the
# same data (``restricted_levels``). ``asset_visible_to`` asks ``assets_for_user`` with one
# id. tests/cms/test_visibility.py holds all of them equal for every combination.

# Wagtail privacy types that hide a page from reps. "Any logged-in user" is not among them:
# every user of the app is signed in, so it restricts nobody.
PRIVATE_RESTRICTION_TYPES = (PageViewRestriction.PASSWORD, PageViewRestriction.GROUPS)


@_once
def restricted_levels() -> list[tuple[str, frozenset[int]]]:
    """(tree path, admitted team ids) of every restricted level that covers the pages below
    it (and itself): each library section that names teams, and each page (section or
    asset) made private to a password or to groups, which admits no team (empty set); and,
    under each alias, every level of its original's place, the original asset's own teams
    among them (see "Aliases")."""
    sections = LibraryPage.objects.filter(restricted_teams__isnull=False).distinct()
    levels = [
        (section.path, frozenset(team.id for team in section.restricted_teams.all()))
        for section in sections.prefetch_related("restricted_teams")
    ]
    private = PageViewRestriction.objects.filter(restriction_type__in=PRIVATE_RESTRICTION_TYPES)
    private_paths = _outermost(list(private.values_list("page__path", flat=True)))
    levels += [(path, frozenset()) for path in private_paths]
    places = _alias_places()
    if places:
        Restrictions = AssetPage.restricted_teams.through
        rows = Restrictions.objects.filter(assetpage__aliases__isnull=False).distinct()
        own: dict[str, set[int]] = {}
        for path, team_id in rows.values_list("assetpage__path", "team_id"):
            own.setdefault(path, set()).add(team_id)
        levels += [(path, frozenset(teams)) for path, teams in own.items()]
        levels = _through_aliases(levels, places)
    return levels


def allowed_teams(
    *, path: str, own_teams: frozenset[int], sections: list[tuple[str, frozenset[int]]]
) -> frozenset[int] | None:
    """The teams admitted to the page at ``path`` whose own restriction is ``own_teams``
    (empty: none) under the restricted levels ``sections`` (``restricted_levels``): None
    when no level is restricted (everyone), else the intersection of the restricted levels'
    team sets (possibly empty: only content managers)."""
    levels = [teams for prefix, teams in sections if path.startswith(prefix)]
    if own_teams:
        levels.append(own_teams)
    if not levels:
        return None
    return frozenset.intersection(*levels)


def teams_admit(allowed: frozenset[int] | None, team_ids: set[int] | frozenset[int]) -> bool:
    """Whether a rep in ``team_ids`` passes a page whose admitted teams are ``allowed``."""
    return allowed is None or bool(allowed & set(team_ids))


def _admitted_filter(team_id: int | None, sections) -> Q:
    """Pages every restricted level of which admits ``team_id`` (None: no team, so only
    pages with no restricted level at all)."""
    own = AssetPage.objects.filter(restricted_teams__isnull=False)
    if team_id is not None:
        own = own.exclude(restricted_teams=team_id)
    query = ~Q(pk__in=own.values("pk"))
    for path, teams in sections:
        if team_id is None or team_id not in teams:
            query &= ~Q(path__startswith=path)
    return query


def assets_for_user(user, queryset: QuerySet[AssetPage] | None = None) -> QuerySet[AssetPage]:
    """The live assets ``user`` may see (of ``queryset`` when given), as a queryset."""
    queryset = _live(AssetPage.objects.all() if queryset is None else queryset)
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return queryset.none()
    if user_manages_content(user):
        return queryset
    sections = restricted_levels()
    team_ids = sorted(user_team_ids(user)) or [None]
    visible = Q(pk__in=[])
    for team_id in team_ids:
        visible |= _admitted_filter(team_id, sections)
    return queryset.filter(visible)


def assets_allowed_team_ids(
    asset_ids: list[int], *, sections: list[tuple[str, frozenset[int]]] | None = None
) -> dict[int, frozenset[int] | None]:
    """Teams admitted to each asset of ``asset_ids`` (see ``allowed_teams``), by asset id;
    what search documents store. ``sections`` (``restricted_levels()``) may be passed in
    when many batches are asked for at once."""
    sections = restricted_levels() if sections is None else sections
    Restrictions = AssetPage.restricted_teams.through
    own: dict[int, set[int]] = {}
    rows = Restrictions.objects.filter(assetpage_id__in=asset_ids)
    for asset_id, team_id in rows.values_list("assetpage_id", "team_id"):
        own.setdefault(asset_id, set()).add(team_id)
    paths = AssetPage.objects.filter(pk__in=asset_ids).values_list("pk", "path")
    return {
        pk: allowed_teams(path=path, own_teams=frozenset(own.get(pk, ())), sections=sections)
        for pk, path in paths
    }


def asset_allowed_team_ids(asset: AssetPage) -> frozenset[int] | None:
    """The single-asset twin of ``assets_allowed_team_ids``."""
    return assets_allowed_team_ids([asset.pk]).get(asset.pk)


def asset_visible_or_none(user, queryset: QuerySet[AssetPage], asset_id: int) -> AssetPage | None:
    """The asset ``asset_id`` of ``queryset`` if ``user`` may see it, else None, by the same
    work whether or not it exists (the time of the answer tells nothing either)."""
    return assets_for_user(user, queryset.filter(pk=asset_id)).first()


def asset_visible_to(user, asset: AssetPage) -> bool:
    """The single-asset twin of ``assets_for_user``."""
    return assets_for_user(user, AssetPage.objects.filter(pk=asset.pk)).exists()


def page_visible_to(user, page) -> bool:
    """Whether ``user`` may open ``page``: an asset as ``asset_visible_to`` says, a library
    section as ``section_visible_to`` says; any other page is left to Wagtail (True)."""
    kind = page.specific_class
    if kind is not None and issubclass(kind, AssetPage):
        return asset_visible_to(user, page)
    if kind is not None and issubclass(kind, LibraryPage):
        return section_visible_to(user, page)
    return True


def asset_ids_seen_by(user, asset_ids) -> set[int]:
    """Those of ``asset_ids`` that ``user`` may see now, for what they are told about an
    asset (notifications, mails): a content manager every asset that still exists (drafts,
    expired and archived ones too, which they manage in the admin), anyone else what
    ``assets_for_user`` shows; none for an inactive or anonymous user."""
    ids = {int(asset_id) for asset_id in asset_ids}
    if not ids or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    queryset = AssetPage.objects.filter(pk__in=ids)
    if not user_manages_content(user):
        queryset = assets_for_user(user, queryset)
    return set(queryset.values_list("pk", flat=True))


# --- Library browsing: sections, filters, the stage x pillar grid, related assets ------------


def section_visible_to(user, section: LibraryPage) -> bool:
    """A rep may open a library section when it and every section above it are published and
    one of the rep's teams is admitted at every restricted level (``allowed_teams``; a
    private section admits none; an alias answers to its original's place too).
    Content managers may open every published section."""
    return bool(sections_visible_to(user, [section]))


def sections_visible_to(user, sections: list[LibraryPage]) -> list[LibraryPage]:
    """The sections of ``sections`` that ``user`` may open (see ``section_visible_to``)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return []
    hidden = _hidden_paths()
    shown = [s for s in sections if not any(s.path.startswith(p) for p in hidden)]
    if user_manages_content(user):
        return shown
    restricted, team_ids = restricted_levels(), user_team_ids(user)
    return [
        section
        for section in shown
        if teams_admit(
            allowed_teams(path=section.path, own_teams=frozenset(), sections=restricted),
            team_ids,
        )
    ]


def sections_for_user(user, parent: LibraryPage) -> list[LibraryPage]:
    """The live sub-sections directly under ``parent`` that ``user`` may open, in tree order."""
    children = list(LibraryPage.objects.child_of(parent).live().order_by("path"))
    return sections_visible_to(user, children)


# The library listing's filters: facet name -> the facet (``cms.taxonomy``), in display order.
ASSET_FILTERS = {item.name: item for item in facets() if item.listing_filter}


def taxonomy_unknown_slugs(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each facet name, the requested slugs that name no term (to report them)."""
    unknown = {}
    for name, slugs in filters.items():
        model = facet(name).term_model
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
            lookup = f"{ASSET_FILTERS[name].relation}__slug"
            queryset = queryset.filter(pk__in=AssetPage.objects.filter(**{f"{lookup}__in": slugs}))
    return queryset


def asset_cell_counts(queryset: QuerySet[AssetPage]) -> dict[tuple[int, int], int]:
    """How many assets of ``queryset`` sit in each (stage id, pillar id) cell.

    An asset with two stages and two pillars counts once in each of its four cells.
    """
    Pillars = AssetPage.pillars.through
    cells = (
        Pillars.objects.filter(assetpage_id__in=queryset.order_by().values("pk"))
        .values_list("assetpage__stages", "pillar_id")
        .annotate(assets=Count("assetpage_id"))  # one GROUP BY in the database
        .order_by()
    )
    return {(stage, pillar): n for stage, pillar, n in cells if stage is not None}


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
    stage and at least one pillar with it. Most recently published first. For an alias, its
    original is no other asset."""
    # "id", not "pk": a preview's terms are in memory, where "pk" names no field
    stage_ids = list(asset.stages.values_list("id", flat=True))
    pillar_ids = list(asset.pillars.values_list("id", flat=True))
    if not stage_ids or not pillar_ids:
        return []
    same_cell = (
        assets_live()
        .filter(pk__in=AssetPage.objects.filter(stages__in=stage_ids).values("pk"))
        .filter(pk__in=AssetPage.objects.filter(pillars__in=pillar_ids).values("pk"))
        .exclude(pk=asset_original(asset).pk)
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


def assets_needing_review(
    *, today: datetime.date | None = None, flagged_ids: list[int] = ()
) -> QuerySet[AssetPage]:
    """Live assets whose review date has passed (review_by before ``today``) or that are
    ``flagged_ids`` (flagged for review elsewhere), oldest review date first."""
    today = today or timezone.localdate()
    return (
        assets_live()
        .filter(Q(review_by__lt=today) | Q(pk__in=list(flagged_ids)))
        .select_related("owner", "asset_type")
        .order_by("review_by", "title")
    )


# --- Teams --------------------------------------------------------------------------------


def team_usage(team_ids: list[int]) -> list[str]:
    """Where teams restrict content: "<page title> (<url path>)" for every asset or section
    whose published restriction or unpublished draft names one of ``team_ids``. Deleting
    such a team would silently lift the restriction, so it is refused while this is not
    empty."""
    from wagtail.models import Page

    wanted = set(team_ids)
    pages = {}
    for model in (AssetPage, LibraryPage):
        for page in model.objects.filter(restricted_teams__in=wanted).distinct():
            pages[page.pk] = page
    drafts = Page.objects.filter(has_unpublished_changes=True).select_related("latest_revision")
    for page in drafts.type(AssetPage, LibraryPage):
        content = page.latest_revision.content if page.latest_revision else {}
        if wanted & set(content.get("restricted_teams") or ()):
            pages.setdefault(page.pk, page)
    return [f"{page.title} ({page.url_path})" for page in sorted(pages.values(), key=_by_path)]


def _by_path(page) -> str:
    return page.path


TERM_USAGE_TITLES = 5  # the asset titles a refusal names; the rest are counted


def term_usage(model, term_ids: list[int]) -> list[str]:
    """What still uses the taxonomy terms ``term_ids`` of ``model`` (a facet's term model),
    one phrase each: the assets tagged with them, published or in an unpublished draft
    ("3 assets: Deck, Battlecard, …"), then every other row that points at them, counted by
    kind ("2 deals", "1 content request"). Empty when nothing does.

    Deleting a term in use is refused while this is not empty: an asset would silently lose
    the term (a required stage or pillar left empty), and deal history and requests would
    lose the stage that effectiveness estimates read. Other apps' relations are found through
    the model's reverse relations, so cms needs no import of them."""
    wanted = set(term_ids)
    usage = _term_assets_usage(model, wanted)
    for field in model._meta.get_fields(include_hidden=True):
        other = field.related_model
        if not (field.one_to_many and field.auto_created) or other is AssetPage:
            continue
        if other._meta.auto_created:  # an asset relation's table, counted above
            continue
        count = other._default_manager.filter(**{f"{field.field.name}__in": wanted}).count()
        if count:
            opts = other._meta
            usage.append(f"{count} {opts.verbose_name if count == 1 else opts.verbose_name_plural}")
    return usage


def _term_assets_usage(model, wanted: set[int]) -> list[str]:
    """``term_usage``'s phrase for the assets, live or draft, tagged with ``wanted``."""
    relation = next(item.relation for item in facets() if item.term_model is model)
    tagged = AssetPage.objects.filter(**{f"{relation}__in": wanted}).distinct()
    pages = {page.pk: page for page in tagged}
    drafts = Page.objects.filter(has_unpublished_changes=True).select_related("latest_revision")
    for page in drafts.type(AssetPage):
        value = page.latest_revision.content.get(relation) if page.latest_revision else None
        if wanted & set(value if isinstance(value, list) else [value]):
            pages.setdefault(page.pk, page)
    if not pages:
        return []
    titles = [page.title for page in sorted(pages.values(), key=_by_path)]
    shown = ", ".join(f"“{title}”" for title in titles[:TERM_USAGE_TITLES])
    more = len(titles) - TERM_USAGE_TITLES
    noun = "asset" if len(titles) == 1 else "assets"
    return [f"{len(titles)} {noun}: {shown}" + (f" and {more} more" if more > 0 else "")]


@dataclass
class PageOfAsset:
    """One page (or slide) of an asset's file as its asset page shows it."""

    number: int
    count: int  # pages in the file (at least ``number``)
    unit: str  # "page" or "slide"
    text: str  # what processing read from it; "" when it has no text
    previewable: bool  # whether an image of it can be drawn (PDF pages)

    @property
    def label(self) -> str:
        return f"{self.unit.capitalize()} {self.number}"


def asset_page_of_file(asset: AssetPage, number: int) -> PageOfAsset | None:
    """Page ``number`` (from 1) of the asset's file, or None when it has no such page. The
    caller checks that the user may see the asset."""
    document = asset.document
    if document is None or number < 1:
        return None
    pages = LibraryDocumentPage.objects.filter(document_id=document.pk)
    count = max(document.page_count or 0, pages.count())
    if number > count:
        return None
    row = pages.filter(number=number).values_list("text", flat=True).first()
    return PageOfAsset(
        number=number,
        count=count,
        unit=document_page_unit(filename=document.file.name),
        text=row or "",
        previewable=extension_of(document.file.name) == "pdf",
    )


# --- Documents and images in use --------------------------------------------------------


@dataclass(frozen=True)
class AssetUse:
    """An asset that uses a document or an image. ``previous``: only earlier revisions of
    the asset chose it (its history, from where the asset can be reverted to one of them)."""

    asset: AssetPage
    previous: bool = False


def _assets_using(ids, fields: tuple[str, ...]) -> dict[int, AssetUse]:
    """For each of ``ids`` that one of the asset foreign keys ``fields`` holds, one asset
    that uses it: the first in the tree that uses it now (saved on the page, or chosen in
    its latest revision: a draft waiting for approval), else the first whose earlier
    revisions chose it. Deleted assets do not count.

    Two queries however many ids, assets and revisions: the revisions of assets that chose
    one of ``ids`` (a JSON key lookup on ``Revision.content``), then those assets and the
    ones whose row holds one."""
    ids = set(ids)
    if not ids:
        return {}
    chosen = Q()
    on_page = Q()
    for field in fields:
        chosen |= Q(**{f"content__{field}__in": ids})
        on_page |= Q(**{f"{field}_id__in": ids})
    revisions = Revision.objects.filter(
        chosen, content_type=ContentType.objects.get_for_model(AssetPage)
    )
    rows = revisions.values_list("pk", "object_id", *(f"content__{field}" for field in fields))
    in_revisions: dict[int, list[tuple[int, set]]] = {}
    for revision_id, asset_id, *values in rows:
        in_revisions.setdefault(int(asset_id), []).append((revision_id, set(values) & ids))
    now: dict[int, AssetUse] = {}
    before: dict[int, AssetUse] = {}
    assets = AssetPage.objects.filter(on_page | Q(pk__in=in_revisions)).order_by("path")
    for asset in assets:
        used_now = {getattr(asset, f"{field}_id") for field in fields} & ids
        used_before = set()
        for revision_id, used in in_revisions.get(asset.pk, ()):
            (used_now if revision_id == asset.latest_revision_id else used_before).update(used)
        for used in used_now:
            now.setdefault(used, AssetUse(asset))
        for used in used_before - used_now:
            before.setdefault(used, AssetUse(asset, previous=True))
    return before | now


def documents_assets(document_ids) -> dict[int, AssetUse]:
    """For each of ``document_ids`` that an asset uses as its file or its transcript, now
    or in an earlier revision, one such asset (``_assets_using``)."""
    return _assets_using(document_ids, ("document", "transcript"))


def document_asset(document_id: int) -> AssetUse | None:
    """The single-document twin of ``documents_assets``."""
    return documents_assets([document_id]).get(document_id)


def image_asset(image_id: int) -> AssetUse | None:
    """An asset that uses ``image_id`` as its thumbnail, now or in an earlier revision
    (``_assets_using``)."""
    return _assets_using([image_id], ("thumbnail_image",)).get(image_id)


def image_rendition_stored_as(name: str):
    """The rendition of a Wagtail image whose file is stored as ``name``, with its image and
    collection (for the permission check), or None: a name is looked up, never opened."""
    from wagtail.images import get_image_model  # the image model is a setting

    renditions = get_image_model().get_rendition_model().objects
    return renditions.select_related("image__collection").filter(file=name).first()
