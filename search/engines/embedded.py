"""The embedded engine: tantivy (a Rust library, Lucene-like) in a local directory.

Layout under ``path``: one directory per index generation and a ``CURRENT`` file naming the
live one. A rebuild writes a new generation beside the live one and swaps ``CURRENT`` with an
atomic rename, so searches never see a half-built index; every process notices the swap on its
next search (one ``stat`` per search).

tantivy allows one writer per index directory across all processes. Writes are batched (one
writer, one commit per batch), serialized within a process by a lock, and retried with
exponential backoff while another process holds the directory; a writer that cannot get the
lock within ``lock_timeout`` seconds raises ``SearchUnavailable`` and the caller records the
batch for a later catch-up.

Page text (``search.schema.PAGES``) lives in a second index in the generation's ``pages``
directory, one tantivy document per page or slide keyed by the asset's id: tantivy's BM25
statistics count every document of an index, so page documents beside the assets would
change how assets rank. The assets' index answers whether and how well an asset matches; the
pages index only where, for the hits being shown.

Text is indexed twice: stemmed with ``en_stem`` ("pricing" -> "price") for relevance and
phrases, and unstemmed (``title_plain``, ``plain``) for typo tolerance, because tantivy
applies fuzzy matching to the stored stem and a misspelt word rarely lies within one edit of
a stem. Facet fields are ``raw`` fast fields, which terms aggregations require.

Faults: every public method turns an I/O failure (unreadable, missing or malformed ``CURRENT``,
a corrupt or vanished generation, EACCES, EIO, a full disk, which tantivy reports as
``ValueError`` and Python as ``OSError``) into ``SearchUnavailable``; nothing else escapes.
Two of them say more: no ``CURRENT`` at all is ``IndexMissing`` (only ``rebuild`` and
``reset`` make an index: one made empty on first use answered "nothing matches" for a whole
library whose index directory had gone), and a generation whose files or pointer cannot be
read is ``IndexCorrupt``; ``health`` reports both, reading the disk afresh, so that the
scheduler rebuilds them from the database (``search.services.index_restore``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import tantivy
from tantivy import Occur, Query

from search.documents import SearchDocument
from search.engines.base import (
    EngineHealth,
    IndexCorrupt,
    IndexMissing,
    IndexOutdated,
    SearchUnavailable,
)
from search.query import (
    FACETS,
    FUZZY_WEIGHT,
    MARK_END,
    MARK_START,
    PREFIX_WEIGHT,
    SCATTERED_WEIGHT,
    STOP_WORDS,
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
    SNIPPET_CHARS,
    SNIPPET_FIELDS,
    SORT_FIELDS,
    SUGGEST_FIELD,
    TEXT_FIELDS,
    TYPO_FIELDS,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
GENERATION = re.compile(r"g[0-9]{1,30}-[0-9a-f]{6}")  # a generation directory's name
# Typo matching reads unstemmed copies: the suggest field's alone (title_plain), and all the
# typo-tolerant text in one field (plain).
SUGGEST_PLAIN = f"{SUGGEST_FIELD}_plain"
PLAIN = "plain"
STORED_ONLY = ("fingerprint",)  # keyword fields that are only looked up, never aggregated
COUNTING_THREADS = 4  # per process; a search uses one while its own thread reads the hits

_counting: ThreadPoolExecutor | None = None
_counting_lock = threading.Lock()


def _counting_pool() -> ThreadPoolExecutor:
    """The threads that count a search's facets while the search's own thread reads its
    hits, snippets and page matches. tantivy lets go of the GIL inside ``search`` and
    ``aggregate``, so on a machine with a core to spare the two halves overlap (the counts
    are the larger half: bench/search.py, ``raw_engine``). Made on first use, and again in a
    forked child, which inherits the pool but not its threads."""
    global _counting
    with _counting_lock:
        if _counting is None:
            _counting = ThreadPoolExecutor(COUNTING_THREADS, thread_name_prefix="facet-counts")
        return _counting


def _forget_counting_pool() -> None:
    global _counting, _counting_lock
    _counting, _counting_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_counting_pool)


def _build_schema() -> tantivy.Schema:
    """The tantivy schema derived from ``search.schema.FIELDS``; the display fields travel
    as one stored JSON ``payload``. Fields are added in a fixed order (an index on disk is
    read with this schema; ``_index_now`` refuses one built for other fields)."""
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for field in TEXT_FIELDS:
        builder.add_text_field(field.name, stored=True, tokenizer_name="en_stem")
    # Typo matching needs only which documents hold a term: no frequencies, no positions.
    builder.add_text_field(SUGGEST_PLAIN, tokenizer_name="default", index_option="basic")
    builder.add_text_field(PLAIN, tokenizer_name="default", index_option="basic")
    for field in KEYWORD_FIELDS:
        if field.name not in STORED_ONLY:
            builder.add_text_field(field.name, fast=True, tokenizer_name="raw")
    for field in NUMBER_FIELDS:
        add = builder.add_float_field if field.kind == FLOAT else builder.add_integer_field
        add(field.name, indexed=True, fast=True)
    for name in STORED_ONLY:
        builder.add_text_field(name, stored=True, tokenizer_name="raw")
    builder.add_bytes_field("payload", stored=True)
    return builder.build()


def _build_page_schema() -> tantivy.Schema:
    """One document per page: the asset's ``id``, the page ``number`` and its text, stemmed
    (stored, for snippets) and unstemmed for typo matching, as the assets' text is."""
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_integer_field("number", fast=True)
    builder.add_text_field("text", stored=True, tokenizer_name="en_stem")
    builder.add_text_field(PLAIN, tokenizer_name="default", index_option="basic")
    return builder.build()


SCHEMA = _build_schema()
PAGE_SCHEMA = _build_page_schema()
PAGES_DIRECTORY = "pages"  # the pages index, inside its generation's directory
_STEMMER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.remove_long(40))
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)


def to_tantivy(document: SearchDocument) -> tantivy.Document:
    values = {field.name: document.value(field.name) for field in TEXT_FIELDS}
    values.update((field.name, document.value(field.name)) for field in KEYWORD_FIELDS)
    values.update((field.name, document.value(field.name)) for field in NUMBER_FIELDS)
    return tantivy.Document(
        id=document.id,
        **values,
        **{SUGGEST_PLAIN: values[SUGGEST_FIELD]},
        **{PLAIN: "\n".join(values[name] for name in TYPO_FIELDS)},
        payload=json.dumps(document.display()).encode(),
    )


def page_documents(document: SearchDocument) -> list[tantivy.Document]:
    return [
        tantivy.Document(id=document.id, number=number, text=text, **{PLAIN: text})
        for number, text in document.pages
    ]


@dataclass(frozen=True)
class TextFields:
    """Where the words of a query are looked for: ``stemmed`` fields and, for typo matches,
    ``fuzzy`` unstemmed ones, and for a word being typed ``prefix`` ones, each with its boost,
    in the index of ``schema``."""

    schema: tantivy.Schema
    stemmed: tuple[tuple[str, float], ...]
    fuzzy: tuple[tuple[str, float], ...]
    prefix: tuple[tuple[str, float], ...] = ()


ASSET_TEXT = TextFields(
    SCHEMA,
    tuple(FIELD_BOOSTS.items()),
    ((SUGGEST_PLAIN, FIELD_BOOSTS[SUGGEST_FIELD]), (PLAIN, 1.0)),
    ((SUGGEST_PLAIN, FIELD_BOOSTS[SUGGEST_FIELD]),),
)
PAGE_TEXT = TextFields(PAGE_SCHEMA, (("text", 1.0),), ((PLAIN, 1.0),))


@functools.lru_cache(maxsize=65_536)  # words recur across pages and searches (Zipf's law)
def within_typos(word: str, token: str, distance: int) -> bool:
    """Whether ``token`` is at most ``distance`` edits from ``word``, counting an insertion,
    deletion, substitution or swap of two neighbours as one (as tantivy's fuzzy terms do)."""
    if abs(len(word) - len(token)) > distance:
        return False
    before, row = None, list(range(len(token) + 1))
    for i, a in enumerate(word, 1):
        current = [i]
        for j, b in enumerate(token, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (a != b))
            if before is not None and j > 1 and a == token[j - 2] and word[i - 2] == b:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1] <= distance


_TOKEN = re.compile(r"[^\W_]+")


def _typo_snippet(text: str, words: Sequence[str]) -> str:
    """A fragment of ``text`` around its first word within ``fuzzy_distance`` typos of one of
    ``words``, such words wrapped in MARK_START/MARK_END."""
    fuzzy = [(word, fuzzy_distance(word)) for word in words if fuzzy_distance(word)]
    tokens = {token.lower() for token in _TOKEN.findall(text)}
    typos = {
        token
        for token in tokens
        if any(within_typos(word, token, distance) for word, distance in fuzzy)
    }

    def mark(found: re.Match) -> str:
        token = found.group(0)
        return MARK_START + token + MARK_END if token.lower() in typos else token

    marked = _TOKEN.sub(mark, text) if typos else text
    start = max(0, marked.find(MARK_START) - SNIPPET_CHARS // 4)
    return marked[start : start + SNIPPET_CHARS]


def _should(queries: Iterable[Query]) -> Query:
    return Query.boolean_query([(Occur.Should, query) for query in queries])


def _must(queries: Iterable[Query]) -> Query:
    return Query.boolean_query([(Occur.Must, query) for query in queries])


def _filter(query: Query) -> Query:
    """A clause that restricts without adding to the score."""
    return Query.const_score_query(query, 0.0)


def _is_panic(error: BaseException) -> bool:
    """Whether ``error`` is a Rust panic inside tantivy, which pyo3 raises as its own
    ``PanicException`` (a ``BaseException``, and not importable by name): tantivy panics when
    files it holds open are overwritten under it ("assertion failed: 1 <= nbytes...")."""
    return type(error).__name__ == "PanicException"


def _guarded(action: str):
    """Turn any I/O or index failure inside the method into ``SearchUnavailable``. After a
    panic the indexes this process holds open are dropped, so the next call opens the files
    afresh (and finds them corrupt, or rebuilt, rather than panicking again)."""

    def decorate(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except SearchUnavailable:
                raise
            except (OSError, ValueError, RuntimeError) as error:
                raise SearchUnavailable(f"{action} failed under {self.root}: {error}") from error
            except BaseException as error:
                if not _is_panic(error):
                    raise
                self._stamp = None
                message = f"{action} failed under {self.root}: tantivy panicked: {error}"
                raise SearchUnavailable(message) from None

        return guarded

    return decorate


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, *, path: str | Path, heap_bytes: int = 64_000_000, lock_timeout=10.0):
        self.root = Path(path) / f"v{SCHEMA_VERSION}"
        self.heap_bytes = heap_bytes
        self.lock_timeout = lock_timeout
        self._indexes: tuple[tantivy.Index, tantivy.Index] | None = None
        self._stamp: tuple[int, int] | None = None
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()

    # --- opening and swapping ---------------------------------------------------------------
    @property
    def _pointer(self) -> Path:
        return self.root / "CURRENT"

    def _index_now(self) -> tantivy.Index:
        """The live generation's assets index."""
        return self._indexes_now()[0]

    def _indexes_now(self) -> tuple[tantivy.Index, tantivy.Index]:
        """The live generation's assets and pages indexes, reopened when another process
        swapped ``CURRENT``."""
        try:
            stat = os.stat(self._pointer)
        except FileNotFoundError as error:
            raise IndexMissing(f"no search index under {self.root}") from error
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp != self._stamp:
            with self._open_lock:
                generation = self._read_pointer()
                self._indexes = self._open(generation)
                self._stamp = stamp
        return self._indexes

    def _open(self, generation: str) -> tuple[tantivy.Index, tantivy.Index]:
        """Both indexes of ``generation``; refused when built for other fields (a facet
        added or removed, or from before pages were indexed) until ``search_reindex``."""
        path = self.root / generation
        if not (path / "meta.json").exists():
            raise IndexCorrupt(f"{self._pointer} names index {generation}, which is not there")
        try:
            assets = tantivy.Index.open(str(path))
            has_pages = (path / PAGES_DIRECTORY / "meta.json").exists()
            pages = tantivy.Index.open(str(path / PAGES_DIRECTORY)) if has_pages else None
        except ValueError as error:  # tantivy refused what the files hold
            unreadable = IndexCorrupt if "PermissionDenied" not in str(error) else SearchUnavailable
            raise unreadable(f"cannot open index {generation}: {error}") from error
        except OSError as error:
            raise SearchUnavailable(f"cannot open index {generation}: {error}") from error
        if assets.schema != SCHEMA or pages is None or pages.schema != PAGE_SCHEMA:
            raise IndexOutdated(
                f"index {generation} was built for other fields (a facet was added or "
                "removed, or it predates page text): run manage.py search_reindex"
            )
        return assets, pages

    def _read_pointer(self) -> str:
        """The live generation's name from ``CURRENT``; anything but a generation name (empty,
        binary, a path) is refused rather than followed."""
        try:
            raw = self._pointer.read_bytes()[:100]
        except FileNotFoundError as error:
            raise IndexMissing(f"no search index under {self.root}") from error
        name = raw.decode("ascii", errors="replace").strip()
        if not GENERATION.fullmatch(name):
            raise IndexCorrupt(f"malformed pointer file {self._pointer}: {raw[:40]!r}")
        return name

    def _new_generation(self) -> tuple[str, tuple[tantivy.Index, tantivy.Index]]:
        name = f"g{time.time_ns()}-{uuid.uuid4().hex[:6]}"
        try:
            (self.root / name / PAGES_DIRECTORY).mkdir(parents=True)
            assets = tantivy.Index(SCHEMA, path=str(self.root / name))
            pages = tantivy.Index(PAGE_SCHEMA, path=str(self.root / name / PAGES_DIRECTORY))
            return name, (assets, pages)
        except (ValueError, OSError) as error:
            shutil.rmtree(self.root / name, ignore_errors=True)
            raise SearchUnavailable(f"cannot create an index under {self.root}: {error}") from error

    def _swap_in(self, generation: tuple[str, tuple]) -> None:
        """Point ``CURRENT`` at ``generation`` and delete older generations, under a file
        lock so that two processes swapping at once cannot delete each other's index."""
        name, _ = generation
        with open(self.root / ".swap.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (self.root / name / "meta.json").exists():
                raise SearchUnavailable(f"index generation {name} vanished before the swap")
            temporary = self.root / f"CURRENT.{name}.tmp"
            try:
                temporary.write_text(name)
                os.replace(temporary, self._pointer)  # the commit point
            finally:
                with contextlib.suppress(OSError):
                    temporary.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # leftovers only cost disk space
                for stale in self.root.iterdir():
                    if stale.is_dir() and stale.name < name:
                        shutil.rmtree(stale, ignore_errors=True)

    # --- writing ----------------------------------------------------------------------------
    def _writer(self, index: tantivy.Index, threads: int = 1):
        delay, deadline = 0.02, time.monotonic() + self.lock_timeout
        while True:
            try:
                return index.writer(heap_size=self.heap_bytes, num_threads=threads)
            except ValueError as error:
                if "LockBusy" not in str(error):
                    raise SearchUnavailable(f"cannot write the index: {error}") from error
                if time.monotonic() + delay > deadline:
                    raise SearchUnavailable("the index is locked by another writer") from error
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _write(self, apply) -> None:
        """``apply(assets writer, pages writer)``, then commit the pages, then the assets (a
        failure in between raises, so the caller keeps the update pending and replays it)."""
        with self._write_lock:
            indexes = self._indexes_now()
            writers = []
            try:
                writers = [self._writer(index) for index in indexes]
                apply(*writers)
                for writer in reversed(writers):
                    writer.commit()
            except BaseException:
                for writer in writers:
                    with contextlib.suppress(Exception):
                        writer.rollback()
                raise
            finally:
                for writer in writers:
                    with contextlib.suppress(Exception):
                        writer.wait_merging_threads()
            for index in indexes:
                index.reload()

    @_guarded("indexing")
    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return

        def apply(writer, pages):
            for document in documents:
                writer.delete_documents_by_term("id", document.id)
                writer.add_document(to_tantivy(document))
                pages.delete_documents_by_term("id", document.id)
                for page in page_documents(document):
                    pages.add_document(page)

        self._write(apply)

    @_guarded("deleting")
    def delete(self, asset_ids: Sequence[int]) -> None:
        if not asset_ids:
            return

        def apply(*writers):
            for asset_id in asset_ids:
                for writer in writers:
                    writer.delete_documents_by_term("id", int(asset_id))

        self._write(apply)

    @_guarded("rebuilding")
    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        with self._write_lock:
            generation = self._new_generation()
            try:
                count = self._fill(generation[1], batches)
                self._swap_in(generation)
            except BaseException:
                shutil.rmtree(self.root / generation[0], ignore_errors=True)  # never swapped in
                raise
        return count

    def _fill(self, indexes, batches: Iterable[Sequence[SearchDocument]]) -> int:
        writer, pages = (self._writer(index, threads=0) for index in indexes)
        count = 0
        try:
            for batch in batches:
                for document in batch:
                    writer.add_document(to_tantivy(document))
                    for page in page_documents(document):
                        pages.add_document(page)
                count += len(batch)
            pages.commit()
            writer.commit()
        finally:
            for each in (writer, pages):
                with contextlib.suppress(Exception):
                    each.wait_merging_threads()
        return count

    @_guarded("resetting")
    def reset(self) -> None:
        self.rebuild([])

    # --- reading ----------------------------------------------------------------------------
    def _visibility(self, audience: Audience, now_epoch: int, hidden=frozenset()) -> list[Query]:
        clauses = [
            Query.range_query(
                SCHEMA, "expire_at", tantivy.FieldType.Integer, lower_bound=now_epoch + 1
            )
        ]
        if not audience.sees_everything:
            clauses.append(Query.term_set_query(SCHEMA, "audience", audience.tokens()))
        if hidden:
            excluded = Query.term_set_query(SCHEMA, "id", sorted(hidden))
            clauses.append(
                Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, excluded)])
            )
        return clauses

    def _word(
        self, word: str, fields: TextFields = ASSET_TEXT, prefix: bool = False, typos: bool = True
    ) -> Query | None:
        stems = _STEMMER.analyze(word)
        if not stems:
            return None
        options = [
            Query.boost_query(Query.term_query(fields.schema, field, stem), boost)
            for field, boost in fields.stemmed
            for stem in stems
        ]
        distance = fuzzy_distance(word) if typos else 0
        if distance:
            for field, boost in fields.fuzzy:
                fuzzy = Query.fuzzy_term_query(fields.schema, field, word, distance=distance)
                options.append(Query.boost_query(fuzzy, boost * FUZZY_WEIGHT))
        for field, boost in fields.prefix if prefix else ():
            start = Query.fuzzy_term_query(fields.schema, field, word, distance=0, prefix=True)
            options.append(Query.boost_query(start, boost * PREFIX_WEIGHT))
            if distance:  # a typo in the word being typed, as suggestions allow
                near = Query.fuzzy_term_query(fields.schema, field, word, distance=1, prefix=True)
                options.append(Query.boost_query(near, boost * PREFIX_WEIGHT * FUZZY_WEIGHT))
        return _should(options)

    def _phrase(
        self, words: Sequence[str], weight: float = 1.0, fields: TextFields = ASSET_TEXT
    ) -> Query:
        """Words in this order. A stop word is a hole that any word fills, as in the server
        engines' phrases ("return on investment" also matches "return of investment")."""
        terms = [
            (position, stem)
            for position, word in enumerate(words)
            if word not in STOP_WORDS
            for stem in _STEMMER.analyze(word)
        ]
        offset = terms[0][0] if terms else 0
        terms = [(position - offset, stem) for position, stem in terms]

        def one(field: str) -> Query:
            if len(terms) == 1:
                return Query.term_query(fields.schema, field, terms[0][1])
            return Query.phrase_query(fields.schema, field, terms)

        return _should(
            Query.boost_query(one(field), boost * weight) for field, boost in fields.stemmed
        )

    def _typed(self, clause: TextClause, fields: TextFields = ASSET_TEXT) -> Query:
        if clause.phrase:
            return self._phrase(clause.typed, fields=fields)
        words = [self._word(word, fields, clause.prefix, clause.typos) for word in clause.words]
        words = [word for word in words if word is not None]
        if not words:
            return Query.empty_query()
        if len(words) == 1:
            return words[0]
        scattered = Query.boost_query(_must(words), SCATTERED_WEIGHT)
        return _should([self._phrase(clause.typed, fields=fields), scattered])

    def _synonym(self, term: Sequence[str], fields: TextFields = ASSET_TEXT) -> Query:
        """A synonym: stemmed, no typo tolerance, a multi-word term as a phrase."""
        if len(term) > 1:
            return self._phrase(term, SYNONYM_WEIGHT, fields)
        return _should(
            Query.boost_query(Query.term_query(fields.schema, field, stem), boost * SYNONYM_WEIGHT)
            for field, boost in fields.stemmed
            for stem in _STEMMER.analyze(term[0])
        )

    def _clause(self, clause: TextClause, fields: TextFields = ASSET_TEXT) -> Query:
        """What the rep typed, or else one of its synonyms."""
        typed = self._typed(clause, fields)
        if not clause.synonyms:
            return typed
        return _should([typed, *(self._synonym(term, fields) for term in clause.synonyms)])

    def _text(self, query: SearchQuery) -> Query | None:
        if query.unsearchable:
            return Query.empty_query()
        parts = [self._clause(clause) for clause in query.text_plan.clauses]
        return _must(parts) if parts else None

    def _synonym_of(self, searcher, plan: TextPlan, hits: list[SearchHit]) -> None:
        """Mark the hits that match some clause only through a synonym: per expanded clause,
        one query for its typed part restricted to these hits."""
        if not hits or not plan.expanded:
            return
        ids = Query.term_set_query(SCHEMA, "id", [hit.asset_id for hit in hits])
        for position in plan.expanded:
            clause = plan.clauses[position]
            typed = _must([self._typed(clause), _filter(ids)])
            result = searcher.search(typed, limit=len(hits))
            matched = {
                int(v) for v in searcher.fast_field_values("id", [a for _, a in result.hits])
            }
            for hit in hits:
                if hit.asset_id not in matched:
                    hit.synonym_of.append(clause.label)

    def _facet_filters(self, query: SearchQuery) -> dict[str, Query]:
        return {
            name: Query.term_set_query(SCHEMA, FACETS[name], list(values))
            for name, values in query.active_filters().items()
        }

    def _combine(self, text: Query | None, filters: Iterable[Query], boosts=()) -> Query:
        clauses = [(Occur.Must, text if text is not None else Query.all_query())]
        clauses += [(Occur.Must, _filter(clause)) for clause in filters]
        clauses += [(Occur.Should, boost) for boost in boosts]
        return Query.boolean_query(clauses)

    def plan(self, query: SearchQuery) -> tuple[Query | None, Query, list]:
        """The tantivy queries for ``query``: (text query, main query, facet plan). The
        benchmark times these raw tantivy calls against the whole ``search``."""
        text = self._text(query)
        base = self._visibility(query.audience, query.now_epoch, query.hidden)
        facet_filters = self._facet_filters(query)
        boosts = [
            Query.const_score_query(Query.term_query(SCHEMA, field, value), boost)
            for field, value, boost in boost_clauses(query)
        ]
        main = self._combine(text, [*base, *facet_filters.values()], boosts)
        return text, main, self._facet_plan(text, base, facet_filters, query.facets)

    @_guarded("search")
    def search(self, query: SearchQuery) -> SearchResults:
        started = time.perf_counter()
        assets, pages = self._indexes_now()
        searcher = assets.searcher()
        text, main, facet_plan = self.plan(query)
        counting = _counting_pool().submit(self._facets, searcher, facet_plan)
        total, hits = self._hits(searcher, main, text, query)
        self._synonym_of(searcher, query.text_plan, hits)
        if query.highlight and text is not None and not query.unsearchable:
            self._page_matches(pages.searcher(), query.text_plan, hits)
        facets = counting.result()
        took = (time.perf_counter() - started) * 1000
        return SearchResults(
            total=total,
            hits=hits,
            facets=facets,
            took_ms=took,
            page=query.page,
            per_page=query.per_page,
        )

    def _hits(self, searcher, main: Query, text: Query | None, query: SearchQuery):
        limit = max(query.per_page, 1)
        order = SORT_FIELDS.get(query.sort)
        result = searcher.search(
            main, limit=limit, count=True, offset=query.offset, order_by_field=order
        )
        if not query.per_page:
            return result.count, []
        wanted = query.highlight and not query.unsearchable
        snippets = self._snippet_generators(searcher, text) if wanted else []
        hits = []
        for score, address in result.hits:
            document = searcher.doc(address)
            hits.append(
                SearchHit(
                    asset_id=document.get_first("id"),
                    score=float(score),
                    fields=json.loads(document.get_first("payload")),
                    highlight=render_highlight(self._snippet(snippets, document)),
                )
            )
        return result.count, hits

    def _page_matches(self, searcher, plan: TextPlan, hits: list[SearchHit]) -> None:
        """Give each hit its best ``PAGE_MATCHES`` pages: pages that match any clause of
        ``plan``, by score, then page number. One search for all the hits; only when more
        pages matched than it collected, one more per hit left short."""
        if not hits:
            return
        text = self.page_text(plan)
        typed = [word for clause in plan.clauses for word in clause.words]
        limit = PAGE_MATCHES * len(hits) * 10
        count, best = self._best_pages(searcher, text, [hit.asset_id for hit in hits], limit)
        if count > limit:
            for hit in hits:
                if len(best.get(hit.asset_id, ())) < PAGE_MATCHES:
                    _, more = self._best_pages(searcher, text, [hit.asset_id], PAGE_MATCHES)
                    best.update(more)
        generator = tantivy.SnippetGenerator.create(searcher, text, PAGE_SCHEMA, "text")
        generator.set_max_num_chars(SNIPPET_CHARS)
        for hit in hits:
            for _, number, address in best.get(hit.asset_id, ()):
                document = searcher.doc(address)
                marked = self._snippet([generator], document)
                if not marked:  # a typo match: tantivy's snippets mark only exact terms
                    marked = _typo_snippet(document.get_first("text"), typed)
                hit.matches.append(PageMatch(number, render_highlight(marked)))

    def page_text(self, plan: TextPlan) -> Query:
        """What a page must match to be one of the places a hit matched: any clause."""
        return _should(self._clause(clause, PAGE_TEXT) for clause in plan.clauses)

    @staticmethod
    def _best_pages(searcher, text: Query, asset_ids: list[int], limit: int):
        """(how many pages matched, {asset id: [(score, number, address)] best first, at most
        ``PAGE_MATCHES``}) among the best ``limit`` pages of these assets matching ``text``."""
        ids = Query.term_set_query(PAGE_SCHEMA, "id", asset_ids)
        result = searcher.search(_must([text, _filter(ids)]), limit=limit, count=True)
        addresses = [address for _, address in result.hits]
        owners = searcher.fast_field_values("id", addresses)
        numbers = searcher.fast_field_values("number", addresses)
        found: dict[int, list] = {}
        for (score, address), owner, number in zip(result.hits, owners, numbers, strict=True):
            found.setdefault(int(owner), []).append((score, int(number), address))
        best = {
            owner: sorted(pages, key=lambda page: (-page[0], page[1]))[:PAGE_MATCHES]
            for owner, pages in found.items()
        }
        return result.count, best

    def _snippet_generators(self, searcher, text: Query | None) -> list:
        if text is None:
            return []
        generators = []
        for field in SNIPPET_FIELDS:
            generator = tantivy.SnippetGenerator.create(searcher, text, SCHEMA, field)
            generator.set_max_num_chars(SNIPPET_CHARS)
            generators.append(generator)
        return generators

    @staticmethod
    def _snippet(generators: list, document) -> str:
        """The first field's best fragment with matches wrapped in MARK_START/MARK_END."""
        for generator in generators:
            snippet = generator.snippet_from_doc(document)
            ranges = snippet.highlighted()
            if not ranges:
                continue
            raw = snippet.fragment().encode()
            pieces, cursor = [], 0
            for span in ranges:
                pieces.append(raw[cursor : span.start].decode(errors="ignore"))
                pieces.append(MARK_START + raw[span.start : span.end].decode(errors="ignore"))
                pieces.append(MARK_END)
                cursor = span.end
            pieces.append(raw[cursor:].decode(errors="ignore"))
            return "".join(pieces)
        return ""

    def _facet_plan(self, text, base, facet_filters, names) -> list[tuple[list[str], Query, dict]]:
        """Counts per facet under every filter except the facet's own (disjunctive facets):
        one aggregation for the unfiltered facets, one per filtered facet."""
        groups: list[tuple[list[str], list[Query]]] = []
        unfiltered = [name for name in names if name not in facet_filters]
        if unfiltered:
            groups.append((unfiltered, [*base, *facet_filters.values()]))
        for name in names:
            if name in facet_filters:
                others = [clause for other, clause in facet_filters.items() if other != name]
                groups.append(([name], [*base, *others]))
        return [
            (
                group,
                self._combine(text, filters),
                {name: {"terms": {"field": FACETS[name], "size": FACET_SIZE}} for name in group},
            )
            for group, filters in groups
        ]

    @staticmethod
    def _facets(searcher, facet_plan) -> dict[str, list[FacetCount]]:
        facets: dict[str, list[FacetCount]] = {}
        for group, query, request in facet_plan:
            answer = searcher.aggregate(query, request)
            for name in group:
                buckets = answer.get(name, {}).get("buckets", [])
                facets[name] = [FacetCount(b["key"], int(b["doc_count"])) for b in buckets]
        return facets

    @_guarded("suggest")
    def suggest(
        self, text: str, *, audience: Audience, now_epoch: int, limit: int, hidden=(), typos=True
    ):
        words = parse_text(text).words
        if not words:
            return []
        *head, last = words
        prefix = [
            Query.boost_query(
                Query.fuzzy_term_query(SCHEMA, SUGGEST_PLAIN, last, distance=0, prefix=True), 2.0
            )
        ]
        if typos and fuzzy_distance(last):
            prefix.append(Query.fuzzy_term_query(SCHEMA, SUGGEST_PLAIN, last, 1, prefix=True))
        clauses = [_should(prefix)]
        for word in head:
            distance = fuzzy_distance(word) if typos else 0
            clauses.append(Query.fuzzy_term_query(SCHEMA, SUGGEST_PLAIN, word, distance))
        visible = self._visibility(audience, now_epoch, frozenset(hidden))
        clauses += [_filter(clause) for clause in visible]
        searcher = self._index_now().searcher()
        result = searcher.search(_must(clauses), limit=limit)
        documents = [searcher.doc(address) for _, address in result.hits]
        suggestions = []
        for document in documents:
            fields = json.loads(document.get_first("payload"))
            suggestions.append(
                Suggestion(
                    "asset", fields[SUGGEST_FIELD], str(document.get_first("id")), fields["url"]
                )
            )
        return suggestions

    @_guarded("reading the index")
    def indexed_ids(self) -> set[int]:
        searcher = self._index_now().searcher()
        result = searcher.search(Query.all_query(), limit=max(searcher.num_docs, 1))
        addresses = [address for _, address in result.hits]
        return {int(value) for value in searcher.fast_field_values("id", addresses)}

    @_guarded("reading the index")
    def fingerprints(self) -> dict[int, str]:
        searcher = self._index_now().searcher()
        result = searcher.search(Query.all_query(), limit=max(searcher.num_docs, 1))
        found = {}
        for _, address in result.hits:
            document = searcher.doc(address)
            found[document.get_first("id")] = document.get_first("fingerprint")
        return found

    def health(self) -> EngineHealth:
        """Reads the live generation from disk afresh (not the indexes this process holds
        open, which may still answer from files damaged since): one open, a few ms."""
        try:
            documents = self._documents_on_disk()
        except SearchUnavailable as error:
            return EngineHealth.failed(self.name, error)
        return EngineHealth(ok=True, engine=self.name, detail=str(self.root), documents=documents)

    @_guarded("health check")
    def _documents_on_disk(self) -> int:
        try:
            os.stat(self._pointer)
        except FileNotFoundError as error:
            raise IndexMissing(f"no search index under {self.root}") from error
        assets, pages = self._open(self._read_pointer())
        pages.searcher()
        return assets.searcher().num_docs
