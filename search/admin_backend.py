"""Which of Wagtail's own search backends the admin uses: the database, or the project's server.

``WAGTAILSEARCH_BACKENDS`` names this module (``enablement.env.wagtail_search_backends``);
Wagtail calls ``SearchBackend(params)`` each time it wants the backend. ``ENGINE`` says which:
``database`` (no ``SEARCH_URL``: Wagtail's database backend, on SQLite in its one-pass form,
``search.admin_sqlite``), ``opensearch`` (opensearch-py, modelsearch's ``opensearch3``),
``elasticsearch`` (the elasticsearch 8 client, modelsearch's ``elasticsearch8``) or ``auto``,
which asks the server once per process.

A server that hangs costs one timeout per process, not one per admin search or save: every
request the backends send goes through the process's breaker for that server
(``search.engines.breaker``, ``SEARCH_COOLDOWN_SECONDS``), the one the rep search's engine
uses too. While it is open, searches answer "unavailable" at once and writes are remembered
for the catch-up.

The server being down must never turn into a 500 with a stack trace. Wagtail already logs
and swallows indexing errors for these backends (a save or publish goes through; the index
catches up with ``manage.py update_index``); when ``auto`` cannot ask the server, the backend
is an ``UnavailableBackend`` whose indexing errors Wagtail swallows the same way and whose
searches raise ``AdminSearchUnavailable``. A search that fails on the server raises its
client's error. ``search.middleware.AdminSearchUnavailableMiddleware`` turns either into a
page that says what happened.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading

from asgiref.local import Local
from django.conf import settings
from django.db import connection
from django.utils import timezone
from modelsearch.query import MatchAll, PlainText
from wagtail.search.backends.base import BaseSearchBackend

from search.admin_filters import InlinedFilters
from search.engines.base import SearchUnavailable
from search.engines.breaker import Breaker, breaker_for

logger = logging.getLogger(__name__)
_detected: dict[str, str] = {}
_lock = threading.Lock()


class AdminSearchUnavailable(Exception):
    """The admin's search server cannot be reached."""


def _kind(engine: str, url: str, timeout: float) -> str:
    if engine != "auto":
        return engine
    with _lock:
        known = _detected.get(url)
    if known is None:
        # Imported here: it loads both server clients, needed only when auto asks.
        from search.engines.elastic import _unanswered, detect_kind

        with _breaker(url).guard(_unanswered):
            known = detect_kind(url, timeout)
        with _lock:
            _detected[url] = known  # only a success is remembered
    return known


def _breaker(url: str) -> Breaker:
    """This process's breaker for the server at ``url``, shared with the rep search."""
    return breaker_for(url, cooldown=settings.SEARCH_COOLDOWN_SECONDS)


class Guarded:
    """Wagtail's server backend whose every request to the server goes through the breaker
    (the client's transport is where searches, counts and index writes all pass). Both
    clients take a ``transport_class``, but each of its own base class, made without the
    breaker: wrapping the transport's ``perform_request`` covers both in one place."""

    def __init__(self, params):
        # Imported here: it loads both server clients, needed only with a server.
        from search.engines.elastic import _unanswered

        breaker = _breaker(params["URLS"][0])
        super().__init__(params)
        send = self.es.transport.perform_request

        def perform_request(*args, **kwargs):
            with breaker.guard(_unanswered):
                return send(*args, **kwargs)

        self.es.transport.perform_request = perform_request


def SearchBackend(params: dict):  # noqa: N802 - the name Wagtail looks up in a backend module
    params = dict(params)
    engine = params.pop("ENGINE", "auto")
    if engine == "database":
        return _database_backend(params)
    url = params["URLS"][0]
    try:
        kind = _kind(engine, url, params.get("TIMEOUT", 5))
    except SearchUnavailable as error:
        return UnavailableBackend(params, reason=str(error))
    if kind == "opensearch":
        from modelsearch.backends.opensearch3 import OpenSearch3SearchBackend as backend
    else:
        from modelsearch.backends.elasticsearch8 import Elasticsearch8SearchBackend as backend
    return _with_inlined_filters(backend)(params)


@functools.cache
def _with_inlined_filters(backend):
    """The backend class whose searches take the page search's explorable-pages filter as
    conditions, not as a list of every explorable page's id (admin_filters)."""
    search = type("SearchCompiler", (InlinedFilters, backend.query_compiler_class), {})
    typed = type(
        "AutocompleteCompiler", (InlinedFilters, backend.autocomplete_query_compiler_class), {}
    )
    attributes = {"query_compiler_class": search, "autocomplete_query_compiler_class": typed}
    if hasattr(backend.results_class, "_backend_do_search"):  # Elasticsearch, OpenSearch
        attributes["results_class"] = type(
            "SearchResults", (TotalsOncePerRequest, backend.results_class), {}
        )
        attributes["index_class"] = type("Index", (MappedFirst, backend.index_class), {})
        mixins = (Guarded, MissesRemembered, PhrasesSearched)
        return type(backend.__name__, (*mixins, backend), attributes)
    return type(backend.__name__, (backend,), attributes)


def admin_index_mark_stale() -> None:
    """Remember that the admin's index missed a write (``search.models.AdminIndexStale``)."""
    # Imported here: settings name this module, which may be loaded before models are ready.
    from search.models import AdminIndexStale

    try:
        AdminIndexStale.objects.update_or_create(pk=1, defaults={"marked_at": timezone.now()})
    except Exception:  # the database too: the write's own error is what gets logged
        logger.warning("could not record that the admin's search index missed a write")


def admin_index_problem() -> str | None:
    """What is wrong with the admin's indexes on the search server that ``update_index``
    fixes, or None: an index missing (a wiped node, an index deleted; the admin's searches
    answer 503) or holding under half the objects the database has for it (Wagtail made it
    again from the one page published since: searches found that page alone, with no
    error). None with no server (Wagtail's database backend). Raises
    ``AdminSearchUnavailable`` when the server cannot be asked."""
    # Imported here: settings name this module, which may be loaded before models are ready.
    from modelsearch.backends import get_search_backend
    from modelsearch.index import get_indexed_models
    from modelsearch.management.commands.rebuild_modelsearch_index import (
        group_models_by_index,
    )

    backend = get_search_backend()
    if isinstance(backend, UnavailableBackend):
        raise AdminSearchUnavailable(backend.reason)
    if not isinstance(backend, Guarded):
        return None
    for index, models in group_models_by_index(backend, get_indexed_models()).items():
        try:
            if not index._exists():
                return f"{index.name} is missing"
            held = backend.es.count(index=index.name)["count"]
        except Exception as error:  # down, hanging, or the breaker open: not asked
            raise AdminSearchUnavailable(f"{type(error).__name__}: {error}") from error
        expected = sum(model.get_indexed_objects().count() for model in models)
        if held * 2 < expected:
            return f"{index.name} holds {held} of {expected} objects"
    return None


class PhrasesSearched:
    """Wagtail's page search hands ``autocomplete`` the marketer's text as parsed: with a quoted
    phrase (`pricing "roi`) that is ``And(PlainText, Phrase)``, which the server backends'
    autocomplete refuses (``NotImplementedError``: a server error). A phrase asks for whole
    words, so such a query is run as a search."""

    def autocomplete(self, query, model_or_queryset, **kwargs):
        if not isinstance(query, str | PlainText | MatchAll):
            return self.search(query, model_or_queryset, **kwargs)
        return super().autocomplete(query, model_or_queryset, **kwargs)


class MissesRemembered:
    """A write to the admin's index that fails (the server down, or refusing it) is logged
    and skipped by Wagtail, and the page was missing from marketers' search until someone
    ran ``update_index``. It is remembered, for the scheduler to rebuild the index."""

    def add(self, obj):
        with _remembered():
            return super().add(obj)

    def add_bulk(self, model, obj_list):
        with _remembered():
            return super().add_bulk(model, obj_list)

    def delete(self, obj):
        with _remembered():
            return super().delete(obj)


@contextlib.contextmanager
def _remembered():
    try:
        yield
    except Exception:
        admin_index_mark_stale()
        raise


class AdminIndexUnmapped(Exception):
    """The admin's index on the server holds documents but not the mapping Wagtail searches
    by (the server made it up when something was written before ``update_index``)."""


_mapped: set[tuple[str, type]] = set()  # (index, model) known to exist with its mapping
_mapped_lock = threading.Lock()


class MappedFirst:
    """Wagtail writes an object to the admin's index as it is saved. Into a missing index the
    server would guess a mapping (the key as text) from that first document, and from then
    on every admin search that found anything failed (a 500) until ``update_index`` rebuilt
    it: a stack started without ``update_index`` did exactly that. So before each write the
    index is made with its settings when it is missing (a new or wiped server), and each
    model's mapping is put once per index and process."""

    def add_item(self, item):
        self._mapped(type(item))
        return super().add_item(item)

    def add_items(self, model, items):
        self._mapped(model)
        return super().add_items(model, items)

    def _mapped(self, model) -> None:
        key = (self.name, model)
        with _mapped_lock:
            if not self._exists():  # asked each time: a server can lose its indexes
                try:
                    self.put()
                except Exception:
                    if not self._exists():  # else another process made it meanwhile
                        raise
                _mapped.difference_update({known for known in _mapped if known[0] == self.name})
            if key not in _mapped:
                self.add_model(model)
                _mapped.add(key)

    def _exists(self) -> bool:
        # modelsearch's own ``exists`` passes the name positionally, which the
        # Elasticsearch 8 client refuses.
        return bool(self.es.indices.exists(index=self.name))


_totals = Local()  # .known: {(index, query as JSON): how many match}, while a request runs


def totals_start(**kwargs) -> None:
    """From now on (a web request started: ``search.receivers``) a server's answer to how
    many match a search serves every count of that search (``TotalsOncePerRequest``)."""
    _totals.known = {}


def totals_end(**kwargs) -> None:
    _totals.known = None


@contextlib.contextmanager
def totals_shared():
    """``totals_start`` .. ``totals_end`` around a block, for callers outside a request."""
    totals_start()
    try:
        yield
    finally:
        totals_end()


class TotalsOncePerRequest:
    """A server is asked how many pages match a search once per web request, not three times.

    Wagtail's page search asks the server for the page-type counts of the marketer's search,
    then the paginator's count of the same search, its page of results, and the template's
    count of all matching pages: four round trips, three of them about one number. The
    page-type request here also asks for the exact total (``track_total_hits``), and a count
    whose query the server already answered in this request is taken from that answer.
    Outside a web request (commands, the shell) every count asks the server, unless the
    caller runs it within ``totals_shared``."""

    def _get_results_from_hits(self, hits):
        if any("fields" not in hit for hit in hits):  # no stored key: the index is unmapped
            raise AdminIndexUnmapped(
                self.backend.get_index_for_model(self.query_compiler.queryset.model).name
            )
        yield from super()._get_results_from_hits(hits)

    def _backend_do_search(self, body, **kwargs):
        if "aggregations" not in body:  # results: their count is asked first, by the paginator
            return super()._backend_do_search(body, **kwargs)
        body = {**body, "track_total_hits": True}
        response = super()._backend_do_search(body, **kwargs)
        total = response["hits"]["total"]  # {"value": n, "relation": "eq"} when exact
        known = getattr(_totals, "known", None)
        if known is not None and total["relation"] == "eq":
            known[self._total_key()] = total["value"]
        return response

    def _do_count(self):
        known = getattr(_totals, "known", None)
        total = None if known is None else known.get(self._total_key())
        if total is None:
            return super()._do_count()
        total -= self.start  # as the server's count is sliced (modelsearch's _do_count)
        if self.stop is not None:
            total = min(total, self.stop - self.start)
        return max(total, 0)

    def _total_key(self) -> tuple[str, str]:
        """This search's index and query: what a count and the page-type request share."""
        index = self.backend.get_index_for_model(self.query_compiler.queryset.model).name
        return index, json.dumps(self.query_compiler.get_query(), sort_keys=True, default=str)


def _database_backend(params: dict):
    """Wagtail's database backend for this database; on SQLite with FTS5, its one-pass form."""
    return _database_backend_class(connection.vendor)(params)


@functools.cache
def _database_backend_class(vendor: str):
    """Chosen once per process: modelsearch picks the class by asking for an instance (and, on
    SQLite, remembers whether FTS5 is there), which every admin search would otherwise repeat."""
    from modelsearch.backends import database

    backend = type(database.SearchBackend({}))
    if vendor == "sqlite" and database.USE_SQLITE_FTS:
        # Imported here: the module reads the SQLite FTS model, which exists only on SQLite.
        from search.admin_sqlite import OnePassSQLiteSearchBackend as backend
    return _with_inlined_filters(backend)


class _NotRebuilt:
    """``update_index`` against the stand-in: it fails. Without a rebuilder the command said
    the backend "doesn't require rebuilding" and ended without error, so the scheduler took
    an outage for a rebuild and forgot the writes the index had missed."""

    def __init__(self, index):
        raise AdminSearchUnavailable("the search server could not be asked: nothing rebuilt")


class UnavailableBackend(BaseSearchBackend):
    """Stands in while the server cannot be asked which it is: every operation fails with
    ``AdminSearchUnavailable``; Wagtail logs and skips the indexing ones, and ``update_index``
    fails rather than ends as if it had rebuilt something."""

    catch_indexing_errors = True
    rebuilder_class = _NotRebuilt

    def __init__(self, params: dict, *, reason: str):
        super().__init__({})
        self.reason = reason

    def _fail(self, *args, **kwargs):
        raise AdminSearchUnavailable(self.reason)

    def _miss(self, *args, **kwargs):
        admin_index_mark_stale()
        raise AdminSearchUnavailable(self.reason)

    search = autocomplete = _fail
    add = add_bulk = delete = _miss
    get_index_for_model = refresh_indexes = reset_indexes = _fail
