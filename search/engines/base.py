"""The search engine contract. Every engine (embedded tantivy, Elasticsearch, OpenSearch)
implements ``SearchEngine``; the behavioural test suite in tests/search/engine_suite.py holds
each of them to the guarantees stated here. Views and services never ask which engine runs.

Failure contract: any engine failure a rep could hit (server down, timeout, index locked or
unreadable) raises ``SearchUnavailable``; nothing else escapes. Callers turn it into a
"search is unavailable" page or a 503, and writers record what could not be indexed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from search.documents import SearchDocument
from search.query import Audience, SearchQuery, SearchResults, Suggestion


class SearchUnavailable(Exception):
    """The engine cannot answer or write right now. The message is for logs, not for reps."""


class IndexOutdated(SearchUnavailable):
    """The index was built for other fields (a facet or a searchable field added since): it is
    refused rather than half-read until it is rebuilt from the database (``search_reindex``,
    or the scheduler's ``search.services.index_restore``)."""


class IndexMissing(SearchUnavailable):
    """There is no index at all: never built, its directory deleted or moved away, or on a
    search server its index (and with it the alias) deleted or wiped. No call but ``rebuild``
    and ``reset`` makes one in its place (not a search, a suggestion, a write or a health
    check), which would answer as an empty library ("Nothing matches") and record the reps'
    searches as content gaps; the caller, who knows the library, decides: an empty library
    is legitimately empty (``reset``), otherwise search is unavailable until the index is
    rebuilt from the database."""


class IndexCorrupt(SearchUnavailable):
    """The index is there but its content cannot be read (files damaged, a pointer naming
    nothing): refused until it is rebuilt from the database, which the scheduler's
    ``search.services.index_restore`` does."""


@dataclass
class EngineHealth:
    """``outdated``: the index is refused as built for other fields (``IndexOutdated``);
    ``missing``: there is no index (``IndexMissing``); ``corrupt``: the engine answered and
    what it holds cannot be read (``IndexCorrupt``). Each of these is fixed by a rebuild from
    the database. An engine that does not answer (a server down, a timeout, a permission
    refused) is none of them: its index may be intact, and it must not be rebuilt for it."""

    ok: bool
    engine: str
    detail: str = ""
    documents: int | None = None
    outdated: bool = False
    missing: bool = False
    corrupt: bool = False

    @classmethod
    def failed(cls, engine: str, error: SearchUnavailable) -> EngineHealth:
        """Not ok, for ``error``: which of the rebuildable states it is, if any."""
        return cls(
            ok=False,
            engine=engine,
            detail=str(error),
            outdated=isinstance(error, IndexOutdated),
            missing=isinstance(error, IndexMissing),
            corrupt=isinstance(error, IndexCorrupt),
        )


@runtime_checkable
class SearchEngine(Protocol):
    name: str

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        """Insert or replace these documents, in one batch, by id. Idempotent: upserting the
        same document twice leaves one copy. Visible to ``search`` when this returns."""

    def delete(self, asset_ids: Sequence[int]) -> None:
        """Remove these ids; ids not in the index are ignored. Visible when this returns."""

    def search(self, query: SearchQuery) -> SearchResults:
        """Results for ``query``. Guarantees, on every engine:
        - only documents whose audience admits ``query.audience``, whose ``expire_at`` is
          after ``query.now`` and whose id is not in ``query.hidden`` appear, in hits and in
          facet counts;
        - every clause of ``query.text_plan`` must match: its typed word(s) (stemmed, or
          within ``fuzzy_distance`` typos) or quoted phrase, or else one of its synonyms
          (stemmed, a multi-word synonym as a phrase, worth ``SYNONYM_WEIGHT``); stop words
          are holes in a phrase; title outweighs summary outweighs content;
        - text with no searchable word (``query.unsearchable``) matches nothing, and no text
          at all matches everything;
        - a hit that matches some clause only through a synonym lists that clause's typed
          text in ``SearchHit.synonym_of``;
        - facet counts for a facet apply every active filter except that facet's own;
        - hits are sorted by ``query.sort`` and cut to ``query.page``/``query.per_page``;
        - ``SearchHit.highlight`` contains only escaped text and <mark> tags;
        - with text and ``query.highlight``, ``SearchHit.matches`` lists up to
          ``PAGE_MATCHES`` pages of the hit's file (``SearchDocument.pages``) that match
          some clause of the text plan (typed or a synonym), best first and, at equal
          relevance, the earlier page, each with a highlight like ``highlight``'s; pages
          never change which assets match, their order, their count or facet counts."""

    def suggest(
        self,
        text: str,
        *,
        audience: Audience,
        now_epoch: int,
        limit: int,
        hidden: frozenset[int] = frozenset(),
        typos: bool = True,
    ) -> list[Suggestion]:
        """Titles of visible, unexpired assets not in ``hidden`` completing ``text`` (the
        last word as a prefix), best first. With ``typos`` a word may be ``fuzzy_distance``
        typos away, and the last one start within a typo of a title word's start. Taxonomy
        term suggestions are built on top of facet counts by the selector, so they obey the
        same permissions."""

    def indexed_ids(self) -> set[int]:
        """Every id in the index (cheap: no stored fields are read)."""

    def fingerprints(self) -> dict[int, str]:
        """Every indexed id with its document's fingerprint (for ``search_reindex --check``)."""

    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        """Build a fresh index from ``batches`` beside the live one, then swap it in
        atomically (an alias on servers, a pointer file for the embedded engine). Searches
        keep answering from the old index until the swap. Returns the number indexed."""

    def reset(self) -> None:
        """Drop everything and start from an empty index (tests, first start)."""

    def health(self) -> EngineHealth:
        """Whether the engine answers, without raising, and if not whether its index is
        ``missing``, ``corrupt`` or ``outdated`` (read afresh, not from what this process
        has open) or the engine is merely unreachable."""
