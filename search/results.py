"""What a rep's search gives back, ready to show: result cards, facet groups with their
links, deal mode's choices, and the sort and page links.

``search.services.rep_search`` builds a ``RepSearchPage`` once; the search page renders it and
``GET /api/v1/search`` serialises it, so the two never differ. Building it costs a fixed
number of queries whatever the number of hits (the taxonomy labels are cached; every card
action provider is asked once for all the cards).

Other apps add forms to the cards through the Wagtail hook ``search_result_actions``: a
function ``(*, user, asset_ids) -> {asset_id: [CardAction, ...]}`` (analytics offers "used in
a deal" this way), so search never imports them. Likewise ``search_empty_actions``: a function
``(*, user, query) -> [EmptyAction, ...]`` offering a way on when a text search found nothing
(analytics offers "ask marketing for it").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString
from wagtail import hooks

from cms.taxonomy import card_facets, deal_facets, facets
from search.query import FACETS, SearchHit, SearchQuery, SearchResults
from search.schema import SORTS

ACTIONS_HOOK = "search_result_actions"
EMPTY_HOOK = "search_empty_actions"
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "effective": "Most effective"}


@dataclass
class CardAction:
    """A small form on a result card: post ``field`` (one of ``choices``) to ``url``. Every
    card offering an action (by ``name``) offers the same form but its ``url``: the results
    the page fetches as the rep types hold it once (``RepSearchPage.card_actions``), and a
    card gets its copy when it is opened, not a form per card (a rep's 100 open deals were
    2,000 options on each keystroke)."""

    name: str
    label: str
    url: str
    field: str
    field_label: str
    choices: list[tuple[str, str]]
    submit: str


@dataclass
class CardMatch:
    """A page or slide where a result matched: its highlight and a link to the asset page
    at that page (through the click recorder when the search was recorded)."""

    page: int
    label: str  # "Slide 41", "Page 3"
    highlight: SafeString
    url: str
    link: str


def url_at_page(url: str, page: int) -> str:
    """The asset page ``url`` showing page ``page`` (``cms.views.asset_page_serve``)."""
    return f"{url}?page={page}#page-{page}"


@dataclass
class Chip:
    facet: str
    label: str


@dataclass
class Card:
    """One result as a rep sees it."""

    asset_id: int
    position: int
    title: str
    url: str  # the asset page
    click_url: str  # the click recorder, when the search was recorded
    summary: str
    highlight: SafeString
    terms: dict[str, list[str]]  # API result field -> term slugs, every facet
    chips: list[Chip]  # the labels cards show (``cms.taxonomy.card_facets``), in order
    owner: str
    review_by: str
    review_status: str  # "overdue", "current" or "" (no review date)
    effectiveness: float
    thumbnail_url: str
    reasons: list[str]
    synonym_of: list[str]
    score: float
    matches: list[CardMatch] = field(default_factory=list)
    actions: list[CardAction] = field(default_factory=list)

    @property
    def link(self) -> str:
        return self.click_url or self.url

    @property
    def placeholder(self) -> str:
        """The letter a card without a thumbnail shows: its first label's (its type)."""
        return (self.chips[0].label if self.chips else "Asset")[:1]


@dataclass
class FacetLink:
    value: str
    label: str
    count: int
    selected: bool
    url: str


@dataclass
class FacetGroup:
    name: str
    label: str
    buckets: list[FacetLink]


@dataclass
class EmptyAction:
    """A link shown when a text search found nothing."""

    label: str
    url: str


@dataclass
class DealField:
    name: str
    label: str
    param: str
    chosen: str
    options: list[tuple[str, str]]


@dataclass
class RepSearchPage:
    query: SearchQuery
    results: SearchResults
    search_id: str | None  # the search's key (``SearchEvent.key``) when it was recorded
    cards: list[Card]
    facet_groups: list[FacetGroup]
    deal_fields: list[DealField]
    sort_links: list[tuple[str, str, bool]]  # (label, url, current)
    keep: list[tuple[str, str]]  # hidden inputs of the search box: deal mode, filters, sort
    previous_url: str
    next_url: str
    clear_url: str
    empty_actions: list[EmptyAction] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.results.total

    @property
    def pages(self) -> int:
        return self.results.pages

    @property
    def reason(self) -> str:
        return self.results.reason

    @property
    def within_typos(self) -> bool:
        return self.results.within_typos

    @property
    def card_actions(self) -> list[CardAction]:
        """Each kind of card action once (see ``CardAction``)."""
        found: dict[str, CardAction] = {}
        for card in self.cards:
            for action in card.actions:
                found.setdefault(action.name, action)
        return list(found.values())


# --- links ----------------------------------------------------------------------------------


def _values(params: Mapping, key: str) -> list[str]:
    if hasattr(params, "getlist"):
        return params.getlist(key)
    value = params.get(key)
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]


def page_link(params: Mapping, **changes) -> str:
    """The search page's URL for ``params`` with ``changes`` (None removes a key)."""
    return page_linker(params)(**changes)


def page_linker(params: Mapping) -> Callable[..., str]:
    """``page_link`` for the many links of one page (a link per facet value): each of
    ``params`` is encoded once, and a link encodes only what it changes. A changed key keeps
    its place; a new one comes last."""
    encoded = {key: _encoded(key, _values(params, key)) for key in params}
    base = _search_path(get_script_prefix())

    def link(**changes) -> str:
        parts = [
            encoded[key] if key not in changes else _encoded(key, changes[key]) for key in encoded
        ]
        parts += [_encoded(key, value) for key, value in changes.items() if key not in encoded]
        query = "&".join(part for part in parts if part)
        return f"{base}?{query}" if query else base

    return link


def _encoded(key: str, value) -> str:
    """``key``'s part of a query string: every value but empty ones ("" for None)."""
    if value is None:
        return ""
    values = value if isinstance(value, list) else [value]
    return urlencode([(key, item) for item in values if item != ""])


@functools.lru_cache(maxsize=8)
def _search_path(prefix: str) -> str:
    """The search page's path under the script prefix (a page has dozens of links)."""
    return reverse("search:search")


# --- building --------------------------------------------------------------------------------


def asset_url_maker(name: str, *args) -> Callable[[int], str]:
    """``reverse(name, args=[*args, asset_id])`` as a function of the asset id, reversing once:
    a page of results has dozens of such links, and each ``reverse`` costs 30-100 µs."""
    sample = reverse(name, args=[*args, _SAMPLE_ID])
    head, tail = sample.rsplit(str(_SAMPLE_ID), 1)
    return lambda asset_id: f"{head}{int(asset_id)}{tail}"


_SAMPLE_ID = 987654321


def _card(hit: SearchHit, position: int, click_at, thumbnail_at, labels, today: str) -> Card:
    """``click_at``/``thumbnail_at``: ``asset_url_maker``s (no click URL when not recorded)."""
    fields = hit.fields
    terms = {item.result_field: list(fields.get(item.index_field, [])) for item in facets()}
    chips = []
    for item in card_facets():
        names, slugs = labels.get(item.name, {}), set(fields.get(item.index_field, []))
        known = [names[slug] for slug in names if slug in slugs]  # the taxonomy's own order
        chips += [Chip(item.name, label) for label in known + sorted(slugs - set(names))]
    review_by = fields.get("review_by") or ""
    click_url = f"{click_at(hit.asset_id)}?pos={position}" if click_at else ""
    url = fields.get("url", "")
    matches = [
        CardMatch(
            page=match.page,
            label=f"{(fields.get('page_unit') or 'page').capitalize()} {match.page}",
            highlight=match.highlight,
            url=url_at_page(url, match.page),
            link=f"{click_url}&page={match.page}" if click_url else url_at_page(url, match.page),
        )
        for match in hit.matches
    ]
    return Card(
        asset_id=hit.asset_id,
        position=position,
        title=fields.get("title", ""),
        url=url,
        click_url=click_url,
        summary=fields.get("summary", ""),
        highlight=hit.highlight,
        terms=terms,
        chips=chips,
        owner=fields.get("owner", ""),
        review_by=review_by,
        review_status="" if not review_by else ("overdue" if review_by < today else "current"),
        effectiveness=fields.get("effectiveness", 0.0),
        thumbnail_url=thumbnail_at(hit.asset_id) if fields.get("has_thumbnail") else "",
        reasons=hit.reasons,
        synonym_of=hit.synonym_of,
        score=hit.score,
        matches=matches,
    )


def cards_build(
    results: SearchResults, query: SearchQuery, *, search_id: str | None, user, labels, today
) -> list[Card]:
    """The result cards, numbered from the page's offset, with the actions other apps offer."""
    click_at = asset_url_maker("search:click", search_id) if search_id is not None else None
    thumbnail_at = asset_url_maker("cms:asset_thumbnail")
    cards = [
        _card(hit, position, click_at, thumbnail_at, labels, today)
        for position, hit in enumerate(results.hits, start=query.offset + 1)
    ]
    asset_ids = [card.asset_id for card in cards]
    if asset_ids:
        for provider in hooks.get_hooks(ACTIONS_HOOK):
            offered = provider(user=user, asset_ids=asset_ids)
            for card in cards:
                card.actions += offered.get(card.asset_id, [])
    return cards


def facet_groups_build(results: SearchResults, query: SearchQuery, params) -> list[FacetGroup]:
    link, groups = page_linker(params), []
    for item in facets():
        buckets = results.facets.get(item.name, [])
        if not buckets:
            continue
        chosen = list(query.filters.get(item.name, ()))
        links = []
        for bucket in buckets:
            if bucket.selected:
                values = [value for value in chosen if value != bucket.value]
            else:
                values = [*chosen, bucket.value]
            url = link(**{item.name: values, "page": None, "sid": None})
            links.append(FacetLink(bucket.value, bucket.label, bucket.count, bucket.selected, url))
        groups.append(FacetGroup(item.name, item.label, links))
    return groups


def deal_fields_build(query: SearchQuery, labels) -> list[DealField]:
    """Deal mode's form: one choice per deal facet, the chosen slug marked."""
    return [
        DealField(
            name=item.name,
            label=item.label,
            param=f"deal_{item.name}",
            chosen=getattr(query.deal, item.name),
            options=list(labels.get(item.name, {}).items()),
        )
        for item in deal_facets()
    ]


def empty_actions_build(
    results: SearchResults, query: SearchQuery, user, filters_named=()
) -> list[EmptyAction]:
    """What a text search that found nothing offers: first the stage and pillar filters its
    words name (``search.selectors.filters_named``: their names are not searched), then what
    other apps offer (``EMPTY_HOOK``)."""
    if results.total or not query.text.strip():
        return []
    search_url = reverse("search:search")
    named = [
        EmptyAction(
            label=f"{item.name} is a {item.facet_label.lower()}: see its {item.count} "
            f"asset{'' if item.count == 1 else 's'}",
            url=f"{search_url}?{urlencode({item.facet: item.slug})}",
        )
        for item in filters_named
    ]
    offers = hooks.get_hooks(EMPTY_HOOK)
    return named + [action for offer in offers for action in offer(user=user, query=query)]


def page_build(
    *,
    query: SearchQuery,
    results: SearchResults,
    params,
    search_id: str | None,
    user,
    labels,
    today: str,
    filters_named=(),
) -> RepSearchPage:
    sid = str(search_id) if search_id is not None else ""
    link = page_linker(params)
    return RepSearchPage(
        query=query,
        results=results,
        search_id=search_id,
        cards=cards_build(
            results, query, search_id=search_id, user=user, labels=labels, today=today
        ),
        facet_groups=facet_groups_build(results, query, params),
        deal_fields=deal_fields_build(query, labels),
        sort_links=[
            (
                SORT_LABELS[sort],
                link(sort=sort, page=None, sid=None),
                sort == query.sort,
            )
            for sort in SORTS
        ],
        keep=[(f"deal_{name}", slug) for name, slug in query.deal.items()]
        + [(name, value) for name, values in query.active_filters().items() for value in values]
        + ([("sort", query.sort)] if query.sort != "relevance" else []),
        previous_url=link(page=str(query.page - 1), sid=sid) if query.page > 1 else "",
        next_url=link(page=str(query.page + 1), sid=sid) if query.page < results.pages else "",
        clear_url=link(**{name: None for name in FACETS}, page=None, sid=None),
        empty_actions=empty_actions_build(results, query, user, filters_named),
    )
