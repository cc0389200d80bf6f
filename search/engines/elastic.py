"""Elasticsearch and OpenSearch: one request body built with ``elasticsearch.dsl``, two
transports.

The mapping, queries and aggregations are built here once with the DSL and serialised with
``to_dict()``. The elasticsearch client refuses servers that are not Elasticsearch (it checks
the ``X-Elastic-Product`` header), so OpenSearch goes through opensearch-py; both send the same
dict (``search.engines.transports``), and the answer is wrapped in the DSL's ``Response``.

The engine's index name is an alias. A rebuild creates ``<alias>-<timestamp>``, fills it,
then moves the alias in one ``_aliases`` call and deletes the old index: zero downtime.

Only ``rebuild`` and ``reset`` make an index. No alias on the server (never built, deleted,
a wiped node) is ``IndexMissing`` for every other call, as the embedded engine's missing
directory is: one made empty on first use answered "nothing matches" for a whole library
until the scheduler noticed, and recorded the reps' searches as content gaps. Writes name
the alias with ``require_alias``, so that a write after the index went cannot make the server
create one by that name with a mapping it guesses. The caller, who knows the library, decides
(``search.selectors`` lets an empty library start empty; ``search.services.index_restore``
rebuilds any other from the database).

Page text (``search.schema.PAGES``) is a ``nested`` field: each page is its own hidden document
with its own text statistics, joined to its asset. A search with text asks, beside the asset
query, for each hit's best pages (``inner_hits`` with a highlight) through an optional nested
clause that adds nothing to the score, so hits, counts and facets stay per asset.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from elasticsearch.dsl import Index, Mapping, Q, Search, analyzer, token_filter, tokenizer
from elasticsearch.dsl.field import Integer, Nested, Text
from elasticsearch.dsl.response import Response

from search.documents import SearchDocument
from search.engines.base import EngineHealth, IndexMissing, IndexOutdated, SearchUnavailable
from search.engines.breaker import Breaker, breaker_for
from search.engines.transports import (
    INDEX_NOT_FOUND,
    ElasticsearchTransport,
    OpenSearchTransport,
    _unanswered,
    detect_kind,
    index_not_found,
)
from search.query import (
    FACETS,
    FUZZY_WEIGHT,
    MARK_END,
    MARK_START,
    PREFIX_WEIGHT,
    SCATTERED_WEIGHT,
    SYNONYM_WEIGHT,
    Audience,
    FacetCount,
    PageMatch,
    SearchHit,
    SearchQuery,
    SearchResults,
    Suggestion,
    TextClause,
    TextPlan,
    boost_clauses,
    fuzzy_distance,
    parse_text,
    render_highlight,
)
from search.schema import (
    FACET_SIZE,
    FIELD_BOOSTS,
    FLOAT,
    KEYWORD_FIELDS,
    NUMBER_FIELDS,
    PAGE_MATCHES,
    PAGES,
    SNIPPET_CHARS,
    SNIPPET_FIELDS,
    SORT_FIELDS,
    SUGGEST_FIELD,
    TEXT_FIELDS,
)

logger = logging.getLogger(__name__)

# Text analysis, the same on every engine: a word is a run of letters and digits, as tantivy's
# simple tokenizer (the embedded engine) and the query parser (``search.query``) split text.
# The servers' standard tokenizer (UAX#29) kept "99.95", "250,000", "o'connor", "node.js" and
# "x86_64" whole while the query asked for "99" and "95": they were found only on the
# embedded engine (outside audit 47, F1, F5). It also cut Chinese and Japanese into single
# characters, each one typo from "a" or "1", so a four-character word a library lacked
# "found" every asset as a close match (F2); here a run of them is one word, as on the
# embedded engine. As tantivy's ``default`` and ``en_stem`` tokenizers: no stop words (the
# query leaves them out: ``query.STOP_WORDS``), tokens of 40 or more characters dropped
# (tantivy counts bytes, so only ASCII words agree exactly), Snowball's English stemmer
# (Porter2, tantivy's; Lucene's ``english`` analyzer stems with the older Porter: "CFOs"
# -> "cfo" on the servers alone, F3).
_WORDS = tokenizer("words", "pattern", pattern=r"[^\p{IsAlphabetic}\p{N}]+")
_WORD_FILTERS = [token_filter("under_40", "length", max=39), "lowercase"]
_PLAIN = analyzer("words_plain", tokenizer=_WORDS, filter=_WORD_FILTERS)
_STEMMED = analyzer(
    "words_stemmed",
    tokenizer=_WORDS,
    filter=[*_WORD_FILTERS, token_filter("porter2", "snowball", language="English")],
)
# A quoted phrase or a multi-word synonym: a stop word typed is a hole any word fills ("return
# on investment" matches "return of investment"), as on the embedded engine, whose phrases
# leave the query's stop words out the same way. Only the query is analysed so: the index
# keeps every word.
_PHRASE = analyzer(
    "words_phrase",
    tokenizer=_WORDS,
    filter=[*_WORD_FILTERS, "stop", token_filter("porter2", "snowball", language="English")],
)
_PREFIX = analyzer(
    "title_prefix",
    tokenizer=_WORDS,
    filter=[*_WORD_FILTERS, token_filter("title_edge", "edge_ngram", min_gram=1, max_gram=30)],
)
#: Names the analysis an index was built with (in its mapping's ``_meta``). Change it with the
#: analysis above: an index built with another is refused as outdated and rebuilt.
ANALYSIS = "words-porter2"
# Highlight tags: the servers trim each fragment of characters up to U+0020 (Java's
# ``String.trim``), which would drop a bare MARK_START or MARK_END at either end of it; a
# zero-width space outside each keeps it ("Marzipan pricing" must come back marked).
PRE_TAG, POST_TAG = "\u200b" + MARK_START, MARK_END + "\u200b"
PLAIN = "plain"  # the unstemmed sub-field of every text field, for typo matching
PREFIX = "prefix"  # the edge-n-gram sub-field of the suggest field


# --- the shared body --------------------------------------------------------------------------
def index_body() -> dict:
    """Settings and mappings of a new index, derived from ``search.schema.FIELDS`` (analysis
    settings are collected by the DSL). Unknown fields are refused (``dynamic: strict``): a
    document with a field this mapping lacks means the index predates it (run
    ``search_reindex``)."""
    mapping = Mapping()
    mapping.meta("dynamic", "strict")
    mapping.meta("_meta", {"analysis": ANALYSIS})
    mapping.field("id", "long")
    for field in TEXT_FIELDS:
        subfields = {PLAIN: Text(analyzer=_PLAIN)}
        if field.suggest:
            subfields[PREFIX] = Text(analyzer=_PREFIX, search_analyzer=_PLAIN)
        mapping.field(field.name, "text", analyzer=_STEMMED, fields=subfields)
    for field in KEYWORD_FIELDS:
        mapping.field(field.name, "keyword")
    for field in NUMBER_FIELDS:
        mapping.field(field.name, "float" if field.kind == FLOAT else "long")
    page_text = Text(analyzer=_STEMMED, fields={PLAIN: Text(analyzer=_PLAIN)})
    mapping.field(PAGES, Nested(properties={"number": Integer(), "text": page_text}))
    mapping.field("display", "object", enabled=False)
    index = Index("unused")
    index.settings(number_of_shards=1, auto_expand_replicas="0-1")
    index.analyzer(_PHRASE)
    index.mapping(mapping)
    return index.to_dict()


_MAPPED_FIELDS = {
    "id",
    PAGES,
    *(field.name for field in (*TEXT_FIELDS, *KEYWORD_FIELDS, *NUMBER_FIELDS)),
}


def to_source(document: SearchDocument) -> dict:
    source = {"id": document.id, "display": document.display()}
    for field in (*TEXT_FIELDS, *KEYWORD_FIELDS, *NUMBER_FIELDS):
        source[field.name] = document.value(field.name)
    source[PAGES] = [{"number": number, "text": text} for number, text in document.pages]
    return source


@dataclass(frozen=True)
class TextFields:
    """Where the words of a query are looked for: ``stemmed`` fields and, for typo matches,
    ``fuzzy`` unstemmed ones, and for a word being typed ``prefix`` (edge-n-gram) ones
    (``name^boost``)."""

    stemmed: tuple[str, ...]
    fuzzy: tuple[str, ...]
    prefix: tuple[str, ...] = ()


ASSET_TEXT = TextFields(
    tuple(f"{field}^{boost:g}" for field, boost in FIELD_BOOSTS.items()),
    tuple(
        f"{field.name}.{PLAIN}" + (f"^{field.boost:g}" if field.suggest else "")
        for field in TEXT_FIELDS
        if field.typos
    ),
    tuple(f"{field.name}.{PREFIX}^{field.boost:g}" for field in TEXT_FIELDS if field.suggest),
)
PAGE_TEXT = TextFields((f"{PAGES}.text",), (f"{PAGES}.text.{PLAIN}",))


def _word(
    word: str, fields: TextFields = ASSET_TEXT, prefix: bool = False, typos: bool = True
) -> Q:
    """A typed word: stemmed in every text field, or (with ``typos``) within
    ``fuzzy_distance`` typos of an unstemmed word, or with ``prefix`` the start of a title
    word."""
    stemmed = Q("multi_match", query=word, fields=list(fields.stemmed), type="most_fields")
    options = [stemmed]
    distance = fuzzy_distance(word) if typos else 0
    if distance:
        options.append(
            Q(
                "multi_match",
                query=word,
                fields=list(fields.fuzzy),
                type="most_fields",
                fuzziness=distance,
                boost=FUZZY_WEIGHT,
            )
        )
    if prefix and fields.prefix:
        options.append(
            Q("multi_match", query=word, fields=list(fields.prefix), boost=PREFIX_WEIGHT)
        )
        if distance:  # a typo in the word being typed, as suggestions allow
            near = Q(
                "multi_match",
                query=word,
                fields=list(fields.prefix),
                fuzziness=1,
                boost=PREFIX_WEIGHT * FUZZY_WEIGHT,
            )
            options.append(near)
    return Q("bool", should=options, minimum_should_match=1)


def _phrase(words, boost: float = 1.0, fields: TextFields = ASSET_TEXT) -> Q:
    """The words in this order, scored in every field it is found in and summed, as the
    typed words are (``most_fields``) and as on the embedded engine. A phrase ``multi_match``
    takes only its best field by default (``tie_breaker`` 0): a case study saying "case
    study" in its title, type and text counted its title alone and ranked below decks with
    the words of "success story" scattered over summary and body (outside audit 47, F4)."""
    text = " ".join(words)
    return Q(
        "multi_match",
        query=text,
        type="phrase",
        fields=list(fields.stemmed),
        analyzer=_PHRASE._name,
        tie_breaker=1.0,
        boost=boost,
    )


def _typed(clause: TextClause, fields: TextFields = ASSET_TEXT) -> Q:
    if clause.phrase:
        return _phrase(clause.typed, fields=fields)
    words = [_word(word, fields, clause.prefix, clause.typos) for word in clause.words]
    if len(words) == 1:
        return words[0]
    scattered = Q("bool", must=words, boost=SCATTERED_WEIGHT)
    options = [_phrase(clause.typed, fields=fields), scattered]
    return Q("bool", should=options, minimum_should_match=1)


def _synonym(term, fields: TextFields = ASSET_TEXT) -> Q:
    """A synonym: stemmed, no typo tolerance, a multi-word term as a phrase."""
    if len(term) > 1:
        return _phrase(term, SYNONYM_WEIGHT, fields)
    return Q(
        "multi_match",
        query=term[0],
        fields=list(fields.stemmed),
        type="most_fields",
        boost=SYNONYM_WEIGHT,
    )


def typed_name(position: int) -> str:
    """The name of clause ``position``'s typed part, reported back in ``matched_queries``."""
    return f"typed-{position}"


def text_query(plan: TextPlan) -> Q | None:
    parts = []
    for position, clause in enumerate(plan.clauses):
        typed = _typed(clause)
        if clause.synonyms:
            named = Q("bool", must=[typed], _name=typed_name(position))
            options = [named, *map(_synonym, clause.synonyms)]
            typed = Q("bool", should=options, minimum_should_match=1)
        parts.append(typed)
    return Q("bool", must=parts) if parts else None


def _highlight(fragment: str):
    """A server's fragment (tagged with PRE_TAG, POST_TAG) as safe HTML."""
    return render_highlight(fragment.replace(PRE_TAG, MARK_START).replace(POST_TAG, MARK_END))


def pages_query(plan: TextPlan) -> Q:
    """The optional clause that finds each hit's best pages: pages matching any clause of
    ``plan`` (typed, or a synonym), by score, then page number, each with a highlight. It
    adds nothing to the hit's score (``score_mode: none``)."""
    clauses = [
        Q("bool", should=[_typed(c, PAGE_TEXT), *(_synonym(t, PAGE_TEXT) for t in c.synonyms)])
        for c in plan.clauses
    ]
    highlight = {
        "pre_tags": [PRE_TAG],
        "post_tags": [POST_TAG],
        "fragment_size": SNIPPET_CHARS,
        "number_of_fragments": 1,
        "no_match_size": SNIPPET_CHARS,
        "fields": {f"{PAGES}.text": {}, f"{PAGES}.text.{PLAIN}": {}},
    }
    inner_hits = {
        "size": PAGE_MATCHES,
        "sort": [{"_score": "desc"}, {f"{PAGES}.number": "asc"}],
        "_source": [f"{PAGES}.number"],
        "highlight": highlight,
    }
    return Q(
        "nested",
        path=PAGES,
        score_mode="none",
        query=Q("bool", should=clauses, minimum_should_match=1),
        inner_hits=inner_hits,
    )


def page_matches(hit) -> list[PageMatch]:
    """The pages ``pages_query`` found for a hit in the server's answer."""
    inner = getattr(hit.meta, "inner_hits", None)
    if inner is None or PAGES not in inner:
        return []
    matches = []
    for page in inner[PAGES].hits:
        found = page.meta.highlight.to_dict() if hasattr(page.meta, "highlight") else {}
        exact, typo = found.get(f"{PAGES}.text", []), found.get(f"{PAGES}.text.{PLAIN}", [])
        fragments = [f for f in (*exact, *typo) if MARK_START in f] or exact or typo
        marked = fragments[0] if fragments else ""
        matches.append(PageMatch(int(page.number), _highlight(marked)))
    return matches


def synonym_of(plan: TextPlan, matched: Iterable[str]) -> list[str]:
    """What was typed that a hit matched only through a synonym (from its matched queries)."""
    matched = set(matched)
    return [plan.clauses[i].label for i in plan.expanded if typed_name(i) not in matched]


def visibility(audience: Audience, now_epoch: int, hidden: frozenset[int] = frozenset()) -> list[Q]:
    clauses = [Q("range", expire_at={"gt": now_epoch})]
    if not audience.sees_everything:
        clauses.append(Q("terms", audience=audience.tokens()))
    if hidden:
        clauses.append(Q("bool", must_not=[Q("terms", id=sorted(hidden))]))
    return clauses


def search_body(query: SearchQuery, index: str) -> Search:
    text = Q("match_none") if query.unsearchable else text_query(query.text_plan)
    facet_filters = {
        name: Q("terms", **{FACETS[name]: list(values)})
        for name, values in query.active_filters().items()
    }
    boosts = [
        Q("constant_score", filter=Q("term", **{field: value}), boost=boost)
        for field, value, boost in boost_clauses(query)
    ]
    highlight = text is not None and query.highlight and not query.unsearchable
    if highlight:
        boosts.append(pages_query(query.text_plan))
    search = Search(index=index).extra(track_total_hits=True)
    search = search.query(
        Q(
            "bool",
            must=[text or Q("match_all")],
            filter=visibility(query.audience, query.now_epoch, query.hidden),
            should=boosts,
        )
    )
    if facet_filters:
        search = search.post_filter(Q("bool", filter=list(facet_filters.values())))
    for name in query.facets:
        others = [clause for other, clause in facet_filters.items() if other != name]
        search.aggs.bucket(f"within_{name}", "filter", filter=Q("bool", filter=others)).bucket(
            name, "terms", field=FACETS[name], size=FACET_SIZE
        )
    order = SORT_FIELDS.get(query.sort)
    if order:
        search = search.sort({order: {"order": "desc"}}, "_score")
    search = search.source(["id", "display"])[query.offset : query.offset + query.per_page]
    if highlight:
        search = search.highlight_options(
            pre_tags=[PRE_TAG],
            post_tags=[POST_TAG],
            fragment_size=SNIPPET_CHARS,
            number_of_fragments=1,
            order="score",
        ).highlight(*SNIPPET_FIELDS)
    return search


def suggest_body(
    text: str,
    audience: Audience,
    now_epoch: int,
    limit: int,
    index: str,
    hidden=frozenset(),
    typos: bool = True,
):
    words = parse_text(text).words
    if not words:
        return None
    *head, last = words
    prefix_field, plain_field = f"{SUGGEST_FIELD}.{PREFIX}", f"{SUGGEST_FIELD}.{PLAIN}"
    prefix = [Q("match", **{prefix_field: {"query": last, "boost": 2.0}})]
    if typos and fuzzy_distance(last):
        prefix.append(Q("match", **{prefix_field: {"query": last, "fuzziness": 1}}))
    must = [Q("bool", should=prefix, minimum_should_match=1)]
    for word in head:
        distance = fuzzy_distance(word) if typos else 0
        must.append(Q("match", **{plain_field: {"query": word, "fuzziness": distance}}))
    filters = visibility(audience, now_epoch, hidden)
    search = Search(index=index).query(Q("bool", must=must, filter=filters))
    return search.source(["id", "display"])[:limit]


# --- bulk requests ----------------------------------------------------------------------------
#: The largest bulk request sent. Elasticsearch and OpenSearch refuse a body over their
#: ``http.max_content_length`` (100 MB by default) and their guides suggest 5-15 MB: a batch of
#: 500 long reports (up to EXTRACTION_MAX_CHARS of text each, twice: whole and per page) is
#: sent in several requests. A single larger document goes alone.
BULK_MAX_BYTES = 10 * 1024 * 1024


def bulk_bodies(operations: list[dict]) -> Iterator[bytes]:
    """``operations`` (an action, then its source for "index") as NDJSON request bodies of
    at most ``BULK_MAX_BYTES`` each, an action never parted from its source."""
    body, size = [], 0
    position = 0
    while position < len(operations):
        action = operations[position]
        width = 2 if "index" in action else 1
        item = b"".join(
            json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for line in operations[position : position + width]
        )
        position += width
        if body and size + len(item) > BULK_MAX_BYTES:
            yield b"".join(body)
            body, size = [], 0
        body.append(item)
        size += len(item)
    if body:
        yield b"".join(body)


# --- the engine -------------------------------------------------------------------------------
class ElasticEngine:
    """``kind`` is "opensearch", "elasticsearch" or "auto" (asks the server on first use).

    Two timeouts, because a hung server holds a web worker for as long as a request may
    wait. ``timeout`` bounds every lookup: a rep's search and suggestions, the alias and
    mapping checks, health. A healthy server answers those in milliseconds, so a few seconds
    is already a server in trouble. ``write_timeout`` (never shorter) bounds the requests
    that carry or build a lot (a bulk of up to ``BULK_MAX_BYTES``, creating, refreshing or
    swapping an index), which background indexing sends and which may legitimately take
    longer. One timeout for both would make searches wait as long as a 10 MB bulk may, or
    give up on a slow bulk that was going to succeed.

    After a request that did not answer (refused, unreachable, timed out) the engine stops
    asking the server for ``cooldown`` seconds, through the process's breaker for that
    server, which the admin's search shares (``search.engines.breaker``)."""

    def __init__(
        self,
        *,
        url: str,
        index: str,
        kind: str = "auto",
        timeout: float = 3.0,
        write_timeout: float = 30.0,
        cooldown: float = 30.0,
        refresh: bool | str = False,
    ):
        self.url, self.alias, self.kind = url, index, kind
        self.timeout, self.write_timeout = timeout, max(write_timeout, timeout)
        self.refresh = refresh
        self.name = kind if kind != "auto" else "server"
        self.cooldown = cooldown
        self._transport = None
        self._ready = False

    @property
    def breaker(self) -> Breaker:
        """Looked up at each use: the one the admin's search has for this server too."""
        return breaker_for(self.url, cooldown=self.cooldown)

    @property
    def transport(self):
        if self._transport is None:
            kind = detect_kind(self.url, self.timeout) if self.kind == "auto" else self.kind
            cls = OpenSearchTransport if kind == "opensearch" else ElasticsearchTransport
            self._transport = cls(self.url, self.timeout, self.write_timeout)
            self.name = kind
        return self._transport

    @contextlib.contextmanager
    def _guard(self, action: str):
        """One use of the server: ``SearchUnavailable`` for any client error (``IndexMissing``
        when the server says the index is not there), and at once while the breaker is open
        (asking which server it is counts as a use)."""
        with self.breaker.guard(_unanswered):
            transport = self.transport
            try:
                yield transport
            except IndexMissing:
                self._ready = False
                raise
            except transport.errors as error:
                if index_not_found(error):
                    self._ready = False
                    raise IndexMissing(self._missing(f"{action}: {error}")) from error
                raise SearchUnavailable(f"{self.name} {action} failed: {error}") from error

    def _missing(self, found: str) -> str:
        return f"no index {self.alias} on the {self.name} server ({found})"

    def _ensure(self, transport) -> None:
        """Check once per process that the alias is there (``IndexMissing`` if not: it is
        never made here) and that its index has every field of ``search.schema`` and this
        module's text analysis (else ``IndexOutdated``: a facet was added since it was built,
        or words are now split otherwise, and its terms would not be the query's;
        ``search_reindex`` or the scheduler builds one with the new mapping). An index found
        gone later is checked again."""
        if self._ready:
            return
        if not transport.aliases(self.alias):
            # Not even an index by the alias's name is ours: a rebuild replaces it.
            raise IndexMissing(self._missing("no such alias"))
        mapping = transport.mapping(self.alias)
        missing = _MAPPED_FIELDS - set(mapping.get("properties", {}))
        if missing:
            raise IndexOutdated(
                f"index {self.alias} lacks the fields {sorted(missing)} (a facet or page text "
                "was added since it was built): run manage.py search_reindex"
            )
        analysis = mapping.get("_meta", {}).get("analysis")
        if analysis != ANALYSIS:
            raise IndexOutdated(
                f"index {self.alias} splits or stems words otherwise (its analysis: "
                f"{analysis or 'from before 2026-12-07'}; now {ANALYSIS}): "
                "run manage.py search_reindex"
            )
        self._ready = True

    def _new_index(self, transport) -> str:
        name = f"{self.alias}-{time.time_ns()}"
        transport.create(name, index_body())
        return name

    def _bulk(self, transport, operations: list[dict], index: str, refresh) -> None:
        """Send ``operations`` in requests of at most ``BULK_MAX_BYTES`` (refreshing after
        the last when asked); raises on the first request with a failed operation,
        ``IndexMissing`` when the server says the index is gone (a delete of an id it does
        not hold is no failure)."""
        bodies = list(bulk_bodies(operations))
        for number, body in enumerate(bodies, start=1):
            answer = transport.bulk(body, refresh if number == len(bodies) else False)
            if answer.get("errors"):
                items = [(op, item) for entry in answer["items"] for op, item in entry.items()]
                gone = [i for _, i in items if i.get("error", {}).get("type") == INDEX_NOT_FOUND]
                if gone:
                    raise IndexMissing(self._missing(gone[0]["error"].get("reason", "")))
                failures = [
                    item
                    for op, item in items
                    if item.get("status", 200) >= 300
                    and not (op == "delete" and item["status"] == 404)
                ]
                if failures:
                    raise SearchUnavailable(
                        f"{len(failures)} bulk operations failed: {failures[0]}"
                    )

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        operations = []
        for document in documents:
            action = {"_index": self.alias, "_id": str(document.id), "require_alias": True}
            operations.append({"index": action})
            operations.append(to_source(document))
        with self._guard("indexing") as transport:
            self._ensure(transport)
            self._bulk(transport, operations, self.alias, self.refresh)

    def delete(self, asset_ids: Sequence[int]) -> None:
        operations = [{"delete": {"_index": self.alias, "_id": str(i)}} for i in asset_ids]
        with self._guard("deleting") as transport:
            self._ensure(transport)
            self._bulk(transport, operations, self.alias, self.refresh)

    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        count = 0
        with self._guard("rebuilding") as transport:
            name = self._new_index(transport)
            try:
                for batch in batches:
                    operations = []
                    for document in batch:
                        operations.append({"index": {"_index": name, "_id": str(document.id)}})
                        operations.append(to_source(document))
                    self._bulk(transport, operations, name, False)
                    count += len(batch)
                transport.refresh(name)
            except BaseException:  # the live index stays; the half-built one must not linger
                with contextlib.suppress(Exception):
                    transport.delete(name)
                raise
            old = transport.aliases(self.alias)
            if not old and transport.exists(self.alias):
                transport.delete(self.alias)
            actions = [{"remove": {"index": index, "alias": self.alias}} for index in old]
            transport.update_aliases(actions + [{"add": {"index": name, "alias": self.alias}}])
            for index in old:
                transport.delete(index)
            self._ready = True
        return count

    def reset(self) -> None:
        self.rebuild([])

    def search(self, query: SearchQuery) -> SearchResults:
        started = time.perf_counter()
        search = search_body(query, self.alias)
        with self._guard("search") as transport:
            self._ensure(transport)
            raw = transport.search(self.alias, search.to_dict())
        response = Response(search, raw)
        plan = query.text_plan
        hits = []
        for hit in response.hits:
            highlight = getattr(hit.meta, "highlight", None)
            fragments = []
            if highlight is not None:
                found = highlight.to_dict()
                fragments = next((found[name] for name in SNIPPET_FIELDS if found.get(name)), [])
            hits.append(
                SearchHit(
                    asset_id=int(hit.id),
                    score=float(hit.meta.score or 0.0),
                    fields=hit.display.to_dict(),
                    highlight=_highlight(fragments[0] if fragments else ""),
                    synonym_of=synonym_of(plan, getattr(hit.meta, "matched_queries", ())),
                    matches=page_matches(hit),
                )
            )
        facets = {
            name: [
                FacetCount(bucket["key"], int(bucket["doc_count"]))
                for bucket in raw["aggregations"][f"within_{name}"][name]["buckets"]
            ]
            for name in query.facets
        }
        return SearchResults(
            total=int(raw["hits"]["total"]["value"]),
            hits=hits,
            facets=facets,
            took_ms=(time.perf_counter() - started) * 1000,
            page=query.page,
            per_page=query.per_page,
        )

    def suggest(
        self, text: str, *, audience: Audience, now_epoch: int, limit: int, hidden=(), typos=True
    ):
        hidden = frozenset(hidden)
        search = suggest_body(text, audience, now_epoch, limit, self.alias, hidden, typos)
        if search is None:
            return []
        with self._guard("suggest") as transport:
            self._ensure(transport)
            raw = transport.search(self.alias, search.to_dict())
        return [
            Suggestion(
                "asset",
                hit["_source"]["display"][SUGGEST_FIELD],
                str(hit["_source"]["id"]),
                hit["_source"]["display"]["url"],
            )
            for hit in raw["hits"]["hits"]
        ]

    def _scan(self, fields: list[str]):
        """Every document's ``fields``, 1000 at a time in id order (search_after)."""
        after = None
        with self._guard("reading") as transport:
            self._ensure(transport)
            while True:
                body = {"size": 1000, "sort": [{"id": "asc"}], "_source": fields}
                if after is not None:
                    body["search_after"] = after
                page = transport.search(self.alias, body)["hits"]["hits"]
                for hit in page:
                    yield hit["_source"]
                if len(page) < 1000:
                    return
                after = page[-1]["sort"]

    def indexed_ids(self) -> set[int]:
        return {int(source["id"]) for source in self._scan(["id"])}

    def fingerprints(self) -> dict[int, str]:
        return {int(s["id"]): s["fingerprint"] for s in self._scan(["id", "fingerprint"])}

    def health(self) -> EngineHealth:
        """One request (a count) once this process knows the index is current. The first
        time, as for a first search, ``_ensure`` checks the alias and mapping (an index built
        for other fields is ``outdated``, no alias is ``missing``). An index gone since (a
        wiped server, a DELETE) is ``missing`` too, found by the count, and nothing is made
        in its place. The cluster's status is not asked: the count answering is the health
        (a shard the server cannot serve fails it)."""
        try:
            with self._guard("health check") as transport:
                self._ensure(transport)
                documents = transport.count(self.alias)
                if documents is None:
                    raise IndexMissing(self._missing("the count found no index"))
        except SearchUnavailable as error:
            return EngineHealth.failed(self.name, error)
        detail = f"index {self.alias}"
        return EngineHealth(ok=True, engine=self.name, detail=detail, documents=documents)
