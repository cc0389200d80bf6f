"""The engine is chosen by settings and built once per process.

``SEARCH_URL`` unset (or ``SEARCH_ENGINE=embedded``) -> the embedded tantivy engine in
``SEARCH_INDEX_DIR``; otherwise Elasticsearch or OpenSearch at ``SEARCH_URL`` with the alias
``SEARCH_INDEX`` (``SEARCH_ENGINE=auto`` asks the server which it is).
"""

from __future__ import annotations

import contextlib
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from search.engines.base import (
    EngineHealth,
    IndexCorrupt,
    IndexMissing,
    IndexOutdated,
    SearchEngine,
    SearchUnavailable,
)

__all__ = [
    "EngineHealth",
    "IndexCorrupt",
    "IndexMissing",
    "IndexOutdated",
    "SearchEngine",
    "SearchUnavailable",
    "get_engine",
    "retry_after",
    "use_engine",
]

_engine: SearchEngine | None = None
_lock = threading.Lock()


def retry_after() -> str:
    """A ``Retry-After`` for "search unavailable", in seconds: the breaker's cooldown, after
    which one request tries the server again (``search.engines.breaker``)."""
    return str(settings.SEARCH_COOLDOWN_SECONDS)


def engine_from_settings() -> SearchEngine:
    kind = settings.SEARCH_ENGINE
    if kind in ("elasticsearch", "opensearch") and not settings.SEARCH_URL:
        raise ImproperlyConfigured(f"SEARCH_ENGINE={kind} needs SEARCH_URL (the server's URL)")
    if settings.SEARCH_URL and kind != "embedded":
        # Only the configured engine's module is imported (start-up cost: each pulls in its
        # own client, the Elasticsearch and OpenSearch clients or the tantivy extension).
        from search.engines.elastic import ElasticEngine

        return ElasticEngine(
            url=settings.SEARCH_URL,
            index=settings.SEARCH_INDEX,
            kind=kind,
            cooldown=settings.SEARCH_COOLDOWN_SECONDS,
        )
    # As above: the tantivy extension loads only where the embedded engine runs.
    from search.engines.embedded import EmbeddedEngine

    return EmbeddedEngine(path=settings.SEARCH_INDEX_DIR / settings.SEARCH_INDEX)


def get_engine() -> SearchEngine:
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = engine_from_settings()
    return _engine


@contextlib.contextmanager
def use_engine(engine: SearchEngine):
    """Make ``engine`` the process's engine for a block (tests and the benchmark)."""
    global _engine
    previous, _engine = _engine, engine
    try:
        yield engine
    finally:
        _engine = previous
