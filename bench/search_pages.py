"""What page-level matches cost the embedded engine, in one run on the same corpus: the same
documents indexed with their pages and without (``pages=()``), then the same queries through
``engine.search`` (hits, facets, highlights and, with pages, each hit's best pages).

Usage: python -m bench.search_pages [--size=100000] [--queries=300] [--engine=embedded]
(``--engine=opensearch`` or ``elasticsearch``: the server at OPENSEARCH_TEST_URL or
ELASTICSEARCH_TEST_URL, through indices of its own that are deleted afterwards)
Writes bench/results/search_pages-<engine>.json. (Not one of ``make bench``'s suites: it
measures one design choice; ``make bench BENCH_ARGS=search`` compares the three engines with pages.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _option(argv: list[str], name: str, default):
    for arg in argv:
        key, _, value = arg.lstrip("-").partition("=")
        if key == name and value:
            return type(default)(value.replace("_", ""))
    return default


def _engine(kind: str, scratch: Path, label: str):
    if kind == "embedded":
        from search.engines.embedded import EmbeddedEngine

        return EmbeddedEngine(path=scratch / label)
    from search.engines.elastic import ElasticEngine

    url = os.environ[f"{kind.upper()}_TEST_URL"]
    name = f"bench-pages-{label}-{os.getpid()}"
    return ElasticEngine(url=url, index=name, kind=kind, timeout=300)


def _measure(kind, engine, documents, queries, scratch) -> dict:
    from bench.search import _directory_mb, _timed, percentiles
    from bench.search_engines import _drop, _index_mb

    started = time.perf_counter()
    engine.rebuild(documents[start : start + 1000] for start in range(0, len(documents), 1000))
    seconds = time.perf_counter() - started
    for query in queries:
        engine.search(query)  # warm up
    timings = [_timed(lambda query=query: engine.search(query)) for query in queries]
    matches = [len(hit.matches) for query in queries for hit in engine.search(query).hits]
    if kind != "embedded":
        engine.transport.refresh(engine.transport.aliases(engine.alias)[0])
    result = {
        "index_seconds": round(seconds, 1),
        "assets_per_s": round(len(documents) / seconds),
        "index_mb": (
            _directory_mb(engine.root)
            if kind == "embedded"
            else _index_mb(kind, engine, scratch, 0)
        ),
        "search": percentiles(timings),
        "hits_with_pages": round(sum(1 for m in matches if m) / max(len(matches), 1), 3),
    }
    _drop(kind, engine, scratch, 0)
    return result


def run(argv: list[str]) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enablement.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    import django

    django.setup()
    from django.utils import timezone

    from bench.search_corpus import make_corpus, make_queries, to_document
    from search.query import Audience, SearchQuery

    size, count = _option(argv, "size", 100_000), _option(argv, "queries", 300)
    kind = _option(argv, "engine", "embedded")
    teams = [1, 2, 3, 4]
    now = int(time.time())
    documents = [to_document(a, published_at=now, team_ids=teams) for a in make_corpus(size)]
    audience, moment = Audience(team_ids=frozenset({1})), timezone.now()
    queries = [
        SearchQuery(audience=audience, now=moment, text=spec["text"], filters=spec["filters"])
        for spec in make_queries(count)
    ]
    report = {
        "suite": "search_pages",
        "engine": kind,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "assets": size,
        "pages": sum(len(document.pages) for document in documents),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as scratch:
        without = [dataclasses.replace(document, pages=()) for document in documents]
        for label, batch in (("without_pages", without), ("with_pages", documents)):
            engine = _engine(kind, Path(scratch), label.replace("_", "-"))
            report[label] = _measure(kind, engine, batch, queries, Path(scratch))
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    with_p95 = report["with_pages"]["search"]["p95_ms"]
    report["p95_with_over_without"] = round(
        with_p95 / report["without_pages"]["search"]["p95_ms"], 2
    )
    (RESULTS / f"search_pages-{kind}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    run(sys.argv[1:])
