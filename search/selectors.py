"""Reads: run a search for a user, suggest as they type, compare the index with the library.

Permissions are part of every query (``query.audience``): the engine filters hits, facet
counts and title suggestions by it, and term suggestions are drawn from facet counts, so a
restricted asset leaks through none of them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef
from django.urls import reverse
from django.utils import timezone

from cms.models import AssetPage, LibraryPage
from cms.selectors import asset_ids_placed_under, assets_live
from cms.taxonomy import facet, facets
from search.documents import live_documents
from search.engines import IndexMissing, SearchUnavailable, get_engine
from search.forms import text_checked
from search.models import PendingIndexUpdate, SearchClick, SearchEvent, SearchSynonyms
from search.query import (
    FACETS,
    PREFIX_MIN_CHARS,
    Audience,
    DealContext,
    FacetCount,
    SearchHit,
    SearchQuery,
    SearchResults,
    Suggestion,
    SynonymSets,
    fuzzy_distance,
    parse_text,
)
from search.synonyms import parse_synonyms

logger = logging.getLogger(__name__)

LABELS_TTL_SECONDS = 60.0
MAX_HIDDEN = 10_000  # more pending updates than this: search waits for the catch-up
SYNONYMS_TTL_SECONDS = 30.0

_labels_lock = threading.Lock()
_labels_cache: tuple[float, dict[str, dict[str, str]]] | None = None
_synonyms_cache: tuple[float, SynonymSets] | None = None


def taxonomy_labels() -> dict[str, dict[str, str]]:
    """{facet: {slug: name}} in each taxonomy's configured order. Cached per process for
    ``LABELS_TTL_SECONDS`` and cleared when a term is saved or deleted (see apps.py)."""
    global _labels_cache
    cached = _labels_cache
    if cached is not None and time.monotonic() - cached[0] < LABELS_TTL_SECONDS:
        return cached[1]
    labels = {
        item.name: dict(item.term_model.objects.values_list("slug", "name")) for item in facets()
    }
    with _labels_lock:
        _labels_cache = (time.monotonic(), labels)
    return labels


def taxonomy_labels_clear(**_kwargs) -> None:
    global _labels_cache
    _labels_cache = None


def synonym_sets() -> SynonymSets:
    """The synonym sets marketers keep in the admin. Cached per process for
    ``SYNONYMS_TTL_SECONDS`` and cleared when they are saved (see apps.py), so an edit is
    live at once in the process that saved it and within that time in the others."""
    global _synonyms_cache
    cached = _synonyms_cache
    if cached is not None and time.monotonic() - cached[0] < SYNONYMS_TTL_SECONDS:
        return cached[1]
    text = SearchSynonyms.objects.values_list("synonyms", flat=True).first() or ""
    try:
        sets = parse_synonyms(text)
    except ValueError as error:  # saved around the form's validation (a shell, a fixture)
        logger.warning("search synonyms ignored: %s", error)
        sets = ()
    _synonyms_cache = (time.monotonic(), sets)
    return sets


def synonym_sets_clear(**_kwargs) -> None:
    global _synonyms_cache
    _synonyms_cache = None


def _label_facets(results: SearchResults, query: SearchQuery, labels) -> None:
    for name, buckets in results.facets.items():
        names = labels.get(name, {})
        chosen = set(query.filters.get(name, ()))
        present = {bucket.value for bucket in buckets}
        buckets += [FacetCount(value, 0) for value in chosen - present]
        for bucket in buckets:
            bucket.label = names.get(bucket.value, bucket.value)
            bucket.selected = bucket.value in chosen
        if facet(name).ordered:
            order = {slug: position for position, slug in enumerate(names)}
            buckets.sort(key=lambda b: (order.get(b.value, len(order)), b.label))
        else:
            buckets.sort(key=lambda b: (-b.count, b.label.lower()))


def deal_reasons(hit: SearchHit, deal: DealContext, labels) -> list[str]:
    """Why a result is there in deal mode: "Decide stage", "Why Buy Now?" (each facet's
    ``reason`` in ``cms.taxonomy``), and "helps win deals" when the dashboard's verdict on
    the asset is "helps" (its ``effectiveness`` signal). Not "used in won deals": with a
    year of deals nearly every asset has been, so it said nothing, and it praised raw win
    rates, which the dashboard shows to mislead."""
    reasons = []
    for name, slug in deal.items():
        if slug in hit.fields.get(FACETS[name], []):
            label = labels.get(name, {}).get(slug, slug)
            reasons.append(facet(name).reason.format(label=label))
    if (hit.fields.get("effectiveness") or 0) > 0:
        reasons.append("helps win deals")
    return reasons


def pending_asset_ids() -> frozenset[int]:
    """Assets whose index entries may be out of date (an update is requested or failed);
    searches leave them out. Past ``MAX_HIDDEN`` the index is too far behind to filter, and
    search is unavailable until the catch-up (fail closed)."""
    ids = frozenset(PendingIndexUpdate.objects.values_list("asset_id", flat=True)[: MAX_HIDDEN + 1])
    if len(ids) > MAX_HIDDEN:
        raise SearchUnavailable(f"over {MAX_HIDDEN} index updates are waiting to be applied")
    return ids


def _typed_words_found(engine, exact: SearchQuery) -> tuple[bool, float]:
    """Whether ``exact`` (a search without typos that found nothing) finds something without
    its facet filters, and how long asking took. Only a filtered search asks."""
    if not exact.active_filters():
        return False, 0.0
    unfiltered = dataclasses.replace(exact, filters={}, facets=(), per_page=0, highlight=False)
    answer = engine.search(unfiltered)
    return answer.total > 0, answer.took_ms


def _read(read):
    """``read()``, answering for a library with no index yet (``IndexMissing``): when it has
    no live asset it is legitimately empty (a new install), and its empty index is made on
    this first use; when it has, search is unavailable until the scheduler rebuilds the
    index from the database (``services.index_restore``), never "nothing matches"."""
    try:
        return read()
    except IndexMissing:
        if assets_live().exists():
            raise
    get_engine().reset()
    return read()


def search_run(*, query: SearchQuery) -> SearchResults:
    """Run ``query`` on the configured engine with the library's synonyms, leaving out
    assets with pending index updates; label facets, explain deal-mode hits and say why text
    that has no searchable word found nothing. Raises ``SearchUnavailable`` when the engine
    is down or too far behind. (A rep's search goes through ``services.rep_search``, which
    also records it and shapes the results for the page and the API.)

    Typos are tolerated only when the words as typed find nothing, as Typesense does with
    its ``typo_tokens_threshold`` of 1: a competitor's name, "pipewise", found its three
    assets and 30 more about "pipelines", two typos away, and every count said 33. Nothing
    means nothing under any filter: the facet counts then promise no more than a click on
    one finds (``_typed_words_found``)."""
    return _read(lambda: _search_run(query))


def _search_run(query: SearchQuery) -> SearchResults:
    changes = {}
    hidden = pending_asset_ids()
    if hidden:
        changes["hidden"] = query.hidden | hidden
    if query.synonyms is None:
        changes["synonyms"] = synonym_sets()
    if changes:
        query = dataclasses.replace(query, **changes)
    engine = get_engine()
    exact = dataclasses.replace(query, typos=False)
    results = engine.search(exact)
    if not results.total and query.typos and query.text_plan.tolerates_typos:
        spent = results.took_ms
        found, asking = _typed_words_found(engine, exact)
        if not found:
            results = engine.search(query)
            results.took_ms += spent
            results.within_typos = results.total > 0
        results.took_ms += asking  # the search's time is all of its searches'
    results.reason = query.unsearchable_reason()
    labels = taxonomy_labels()
    _label_facets(results, query, labels)
    if query.deal:
        for hit in results.hits:
            hit.reasons = deal_reasons(hit, query.deal, labels)
    return results


@dataclass(frozen=True)
class FilterNamed:
    """A filter the words of a search name, and how many assets it holds for the searcher."""

    facet: str  # "pillar"
    facet_label: str  # "Pillar"
    slug: str
    name: str  # "Why Buy Now?"
    count: int


def filters_named(query: SearchQuery) -> list[FilterNamed]:
    """The terms of the facets whose names are not searched (stages and pillars:
    ``Facet.searchable``) that ``query``'s words name, with how many assets this audience
    may see carry each; none that carry no asset. A term is named when every typed word is
    one of its words, the last typed word perhaps only begun ("why buy" names each Why Buy
    pillar); a word naming the facet itself ("stage") is passed over. A text search that
    found nothing offers them: "why buy now" found nothing, because pillar names are not
    searched, though 16 assets carry that pillar (an outside audit)."""
    parsed = parse_text(query.text)
    typed = [*parsed.words, *(word for phrase in parsed.phrases for word in phrase)]
    labels = taxonomy_labels()
    candidates = []
    for item in facets():
        own = {item.label.lower(), item.plural_label.lower()}
        wanted = [word for word in typed if word not in own]
        if item.searchable or not wanted:
            continue
        *whole, last = wanted
        for slug, name in labels.get(item.name, {}).items():
            words = parse_text(name).words
            if all(word in words for word in whole) and any(w.startswith(last) for w in words):
                candidates.append((item, slug, name))
    named = tuple(item.name for item, _, _ in candidates)  # read again on a retry (_read)
    found = _read(lambda: _assets_carrying(named, query.audience, query.now, query.hidden))
    return [
        FilterNamed(item.name, item.label, slug, name, found[(item.name, slug)])
        for item, slug, name in candidates
        if found.get((item.name, slug))
    ]


def _assets_carrying(facet_names, audience: Audience, now, hidden) -> dict[tuple[str, str], int]:
    """{(facet, slug): how many assets ``audience`` may see carry that term} over the facets
    named: one engine call, none when none is named. A term no such asset carries is absent."""
    names = tuple(dict.fromkeys(facet_names))
    if not names:
        return {}
    query = SearchQuery(
        audience=audience, now=now, facets=names, per_page=0, highlight=False, hidden=hidden
    )
    counts = get_engine().search(query)
    return {(name, b.value): b.count for name, buckets in counts.facets.items() for b in buckets}


def _term_suggestions(words: tuple[str, ...], audience: Audience, now, limit: int, hidden):
    """Taxonomy terms whose name starts with the typed text (or whose words start with the
    last typed word) and that tag at least one asset this audience may see."""
    typed, last = " ".join(words), words[-1]
    labels = taxonomy_labels()
    candidates = [
        (facet, slug, name)
        for facet, names in labels.items()
        for slug, name in names.items()
        if name.lower().startswith(typed)
        or any(part.startswith(last) for part in parse_text(name).words)
    ]
    visible = _assets_carrying((facet for facet, _, _ in candidates), audience, now, hidden)
    return [
        Suggestion(facet, name, slug, f"{reverse('search:search')}?{facet}={slug}")
        for facet, slug, name in candidates
        if (facet, slug) in visible
    ][:limit]


def search_suggest(
    *, audience: Audience, text: str, titles: int = 6, terms: int = 4
) -> list[Suggestion]:
    """Up to ``titles`` asset titles, then up to ``terms`` taxonomy terms, completing
    ``text`` (two characters at least; titles within typos only where the search would
    tolerate them); when ``text`` is a synonym term ("rate card"), or the
    start of one ("rate ca"), titles completing its synonyms fill the places left. Raises
    ``SearchUnavailable``, and ``InvalidSearch`` for text longer than a search takes
    (``MAX_TEXT_CHARS``), as the search itself does."""
    return _read(lambda: _search_suggest(audience, text, titles, terms))


def _search_suggest(audience: Audience, text: str, titles: int, terms: int) -> list[Suggestion]:
    words = parse_text(text_checked(text)).words
    if not words or len(" ".join(words)) < 2:
        return []
    now, hidden = timezone.now(), pending_asset_ids()

    def completing(typed: str) -> list[Suggestion]:
        """Titles completing ``typed`` as typed or else, as the search itself does
        (``search_run``), within typos when no asset has the words as typed: what a rep is
        offered, the search would find."""
        engine, epoch = get_engine(), int(now.timestamp())
        options = {"audience": audience, "now_epoch": epoch, "limit": titles, "hidden": hidden}
        found = engine.suggest(typed, typos=False, **options)
        if found or not any(map(fuzzy_distance, parse_text(typed).words)):
            return found
        exact = SearchQuery(
            audience=audience,
            now=now,
            text=typed,
            facets=(),
            per_page=0,
            highlight=False,
            hidden=hidden,
            synonyms=synonym_sets(),
            typos=False,
        )
        if engine.search(exact).total:
            return []
        return engine.suggest(typed, typos=True, **options)

    found = completing(text)
    for term in _synonyms_of(words):
        if len(found) >= titles:
            break
        shown = {suggestion.value for suggestion in found}
        found += [s for s in completing(" ".join(term)) if s.value not in shown]
    return found[:titles] + _term_suggestions(words, audience, now, limit=terms, hidden=hidden)


def _synonyms_of(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The other terms of each synonym set with a term that ``words`` are or begin (every word
    but the last typed whole, the last the start of the term's word: "competitive ca" begins
    "competitive card"; from ``PREFIX_MIN_CHARS`` characters typed)."""
    *whole, last = words

    def begun(term: tuple[str, ...]) -> bool:
        if term == words:
            return True
        if len(" ".join(words)) < PREFIX_MIN_CHARS or len(term) < len(words):
            return False
        return term[: len(whole)] == tuple(whole) and term[len(whole)].startswith(last)

    others = [term for group in synonym_sets() if any(map(begun, group)) for term in group]
    return list(dict.fromkeys(term for term in others if not begun(term)))


def asset_ids_in_section(section_id: int) -> list[int]:
    """Ids of every asset below a library section, and below the aliases that answer to its
    place (``cms.selectors.asset_ids_placed_under``): for re-indexing after a restriction or
    move of the section."""
    section = LibraryPage.objects.filter(pk=section_id).first()
    if section is None:
        return []
    return asset_ids_placed_under(section)


@dataclass
class IndexReport:
    """How the index differs from the library: ``missing`` live assets not indexed,
    ``stale`` ones indexed with out-of-date content, ``extra`` ids that must not be there."""

    indexed: int
    live: int
    missing: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def index_changed_since(started) -> set[int]:
    """Assets whose index entry may be out of date because they, or a section above them,
    were published, unpublished or changed since ``started`` (for the post-rebuild repair)."""
    changed = set(
        AssetPage.objects.filter(latest_revision_created_at__gte=started).values_list(
            "pk", flat=True
        )
    )
    changed |= set(
        AssetPage.objects.filter(last_published_at__gte=started).values_list("pk", flat=True)
    )
    for section in LibraryPage.objects.filter(latest_revision_created_at__gte=started):
        changed.update(asset_ids_in_section(section.pk))
    return changed


def index_check(*, batch_size: int = 500) -> IndexReport:
    """Compare every live asset's current document with the index (``SearchUnavailable``
    when the engine is down)."""
    indexed = get_engine().fingerprints()
    report = IndexReport(indexed=len(indexed), live=0)
    seen = set()
    for batch in live_documents(batch_size=batch_size):
        for document in batch:
            seen.add(document.id)
            if document.id not in indexed:
                report.missing.append(document.id)
            elif indexed[document.id] != document.fingerprint:
                report.stale.append(document.id)
    report.live = len(seen)
    report.extra = sorted(set(indexed) - seen)
    return report


# --- What reps searched for (analytics reads these) ----------------------------------------


def search_gaps(*, since, limit: int = 50) -> dict:
    """Top normalised queries since ``since`` that found nothing (``zero_results``) and that
    found something nobody clicked (``no_click``), most frequent first: each a list of
    ``{"query", "searches", "typed"}`` (``query`` the normalised text that groups them,
    ``typed`` what reps typed: ``_typed_forms``). A search the rep typed on to a longer one
    (live results: its successor ``refines`` it) is a step on the way and not counted; text
    with no searchable word is recorded with none (``services.search_event_record``)."""
    typed_on = SearchEvent.objects.filter(refines=OuterRef("key"), user=OuterRef("user"))
    recent = (
        SearchEvent.objects.filter(created_at__gte=since)
        .exclude(normalized_query="")
        .exclude(Exists(typed_on))  # a step on the way to a search the rep typed on to
    )
    zero = (
        recent.filter(result_count=0)
        .values("normalized_query")
        .annotate(searches=Count("id"))
        .order_by("-searches", "normalized_query")[:limit]
    )
    no_click = (
        recent.filter(result_count__gt=0, clicks__isnull=True)
        .values("normalized_query")
        .annotate(searches=Count("id"))
        .order_by("-searches", "normalized_query")[:limit]
    )
    gaps = {
        "zero_results": [{"query": r["normalized_query"], "searches": r["searches"]} for r in zero],
        "no_click": [{"query": r["normalized_query"], "searches": r["searches"]} for r in no_click],
    }
    typed = _typed_forms({gap["query"] for groups in gaps.values() for gap in groups}, since)
    for groups in gaps.values():
        for gap in groups:
            gap["typed"] = typed.get(gap["query"], gap["query"])
    return gaps


def _typed_forms(normalized: set[str], since) -> dict[str, str]:
    """Normalised text -> the text searches of it were typed as most often since ``since``
    (the latest of equally frequent ones): what reps asked, as the normalised text used to
    group searches is not (``=HYPERLINK("http://x","y")`` is grouped as "hyperlink http x
    y"). Reads the searches of these groups only, by their indexed normalised text."""
    searches = (
        SearchEvent.objects.filter(normalized_query__in=normalized, created_at__gte=since)
        .values_list("normalized_query", "query")
        .annotate(count=Count("id"), last=Max("created_at"))
        .order_by()
    )
    counts: Counter[tuple[str, str]] = Counter()
    latest: dict[tuple[str, str], datetime] = {}
    for group, text, count, last in searches:
        form = (group, text.strip())
        counts[form] += count
        latest[form] = max(latest.get(form, last), last)
    typed = {}
    for group, text in sorted(counts, key=lambda form: (counts[form], latest[form])):
        typed[group] = text  # the most frequent (then the latest) comes last
    return typed


def search_activity_version() -> list:
    """A small value that changes whenever a search or a click is recorded (for rollups
    that depend on searches: recompute when it moved)."""
    return [
        SearchEvent.objects.aggregate(top=Max("id"))["top"],
        SearchClick.objects.aggregate(top=Max("id"))["top"],
    ]
