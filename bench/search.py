"""Search benchmark: synthetic libraries of 10k and 100k assets, measured in one run.

For each size, on the same rows:
- indexing: the embedded engine fed documents directly (engine throughput); the full
  ``search_reindex`` path from database rows (``services.index_rebuild``); Wagtail's own
  database search backend (SQLite FTS5) indexing the same pages;
- engines side by side (bench/search_engines.py): the embedded engine, OpenSearch and
  Elasticsearch fed the same documents (docs/s) and asked the same queries through the
  engine contract (p50/p95 of ``engine.search``), with their ratios to the embedded engine;
- queries (the same list for every system; a rep with team restrictions):
  ``raw_engine``: the tantivy calls the engine makes for one search (top 20 with count, the
  facet aggregations, the 20 stored documents and their snippets, the page index searched
  for where those 20 matched, with the best pages' text and snippets) without any Python
  around them; ``raw_engine_search_and_facets_only`` leaves out the documents and snippets;
  ``server_side``: ``search.selectors.search_run``, the code path the search page and the API
  call (query building, tantivy, stored fields, highlights, facet labels, deal reasons);
  ``http_view``: GET /search/ through Django's test client (adds auth, the search-event insert
  and template rendering); ``event_insert``: the analytics insert alone;
  ``wagtail_db_backend``: Wagtail's database backend as the admin uses it (the configured one:
  since 2026-12-03 the one-pass SQLite form, ``search/admin_sqlite.py``; Wagtail's form as it
  comes is ``admin_search``'s ``database_stock``), search + count + two facet counts the way
  ``SearchResults.facet()`` computes them, each query capped (SQLite progress handler) so a
  run always ends; capped queries count as the cap (so its figures are lower bounds).

Usage: python -m bench search [--sizes=10000,100000] [--queries=200] [--http-queries=60]
       [--db-queries=12] [--db-cap=30] [--db-budget=180] [--db-budget-large=60]
       [--engines=embedded,opensearch,elasticsearch]
(the Wagtail database backend gets ``db-budget`` seconds at 10k and below, ``db-budget-large``
above; queries stop once the budget is spent, so a full run stays near 12 minutes on 2 cores)
Writes bench/results/search.json. Runs in a child process on a scratch SQLite database.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.child import run_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "search.json"
DEFAULTS = {
    "sizes": "10000,100000",
    "queries": 200,
    "http-queries": 60,
    "db-queries": 12,
    "db-cap": 30,
    "db-budget": 180,
    "db-budget-large": 60,
    "engines": "embedded,opensearch,elasticsearch",
}


def main(options: list[str]) -> None:
    """Run the benchmark in a child process with its own scratch data directory."""
    run_child("bench.search", options)


def _options(argv: list[str]) -> dict:
    options = dict(DEFAULTS)
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name in options and value:
            textual = name in ("sizes", "engines")
            options[name] = value if textual else int(value.replace("_", ""))
    options["sizes"] = [int(size.replace("_", "")) for size in str(options["sizes"]).split(",")]
    options["engines"] = [name for name in str(options["engines"]).split(",") if name]
    return options


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]

    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(at(0.95), 3),
        "max_ms": round(ordered[-1], 3),
    }


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def _directory_mb(path: Path) -> float:
    total = sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return round(total / 1_000_000, 1)


# --- the child process ---------------------------------------------------------------------
def _setup():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _queries(options, audience, now):
    from bench.search_corpus import make_queries
    from search.query import SearchQuery

    return [
        SearchQuery(audience=audience, now=now, text=spec["text"], filters=spec["filters"])
        for spec in make_queries(options["queries"])
    ]


def _documents(corpus, team_ids) -> list:
    from bench.search_corpus import to_document

    now = int(time.time())
    return [to_document(asset, published_at=now, team_ids=team_ids) for asset in corpus]


def _reindex_from_rows(engine) -> dict:
    """The ``search_reindex`` path: documents built from database rows, then indexed."""
    from search import services
    from search.engines import use_engine

    with use_engine(engine):
        started = time.perf_counter()
        count = services.index_rebuild(batch_size=1000)
        elapsed = time.perf_counter() - started
    size_mb = _directory_mb(engine.root)
    return {
        "assets": count,
        "seconds": round(elapsed, 2),
        "assets_per_s": round(count / elapsed),
        "index_mb": size_mb,
    }


def _index_wagtail_db_backend() -> dict:
    from django.db import connection
    from wagtail.search.backends import get_search_backend

    from cms.models import AssetPage

    backend = get_search_backend()
    backend.reset_indexes()
    ids = list(AssetPage.objects.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    for start in range(0, len(ids), 1000):
        backend.add_bulk(
            AssetPage, list(AssetPage.objects.filter(pk__in=ids[start : start + 1000]))
        )
    elapsed = time.perf_counter() - started
    database = Path(connection.settings_dict["NAME"])
    return {
        "docs": len(ids),
        "seconds": round(elapsed, 2),
        "docs_per_s": round(len(ids) / elapsed),
        "sqlite_file_mb": round(database.stat().st_size / 1_000_000, 1),
    }


def _raw_engine(
    engine, queries, page_matches: bool = True, overlap: bool = True
) -> tuple[dict, dict]:
    """The tantivy calls behind one search, without the Python around them: ``full`` is
    top 20 with count, facet aggregations, the 20 stored documents and their snippets, and
    the search of the page index for where those 20 matched, with the matching pages' stored
    text and snippets (the same work ``search`` asks of tantivy; ``page_matches=False``
    leaves out the page index, as this benchmark did before); ``core`` is only the search
    and aggregations. As ``search`` does, the aggregations run on a second thread while the
    hits, snippets and page matches are read (``overlap=False``: one after the other, as the
    engine did before 2026-12-03). As ``selectors.search_run`` does, a search is first run
    without typo tolerance, and again with it when that finds nothing (a typo) and, for a
    filtered search, neither does its count without the filters."""
    import dataclasses

    import tantivy

    from search.engines.embedded import PAGE_SCHEMA, _counting_pool
    from search.schema import PAGE_MATCHES, SNIPPET_CHARS

    assets, pages = engine._indexes_now()
    searcher, page_searcher = assets.searcher(), pages.searcher()

    def plan_of(query):
        text, main, facet_plan = engine.plan(query)
        in_pages = None
        if page_matches and query.highlight and text is not None and not query.unsearchable:
            in_pages = engine.page_text(query.text_plan)
        return text, main, facet_plan, in_pages

    def found(plan) -> bool:
        return searcher.search(plan[1], limit=1).count > 0

    plans = []  # per query, its searches: (plan, whether only its count is asked)
    for query in queries:
        exact = dataclasses.replace(query, typos=False)
        steps = [(plan_of(exact), False)]
        if query.text_plan.tolerates_typos and not found(steps[0][0]):
            if exact.active_filters():  # selectors._typed_words_found
                unfiltered = dataclasses.replace(exact, filters={}, facets=(), per_page=0)
                steps.append((plan_of(unfiltered), True))
            if len(steps) == 1 or not found(steps[-1][0]):
                steps.append((plan_of(query), False))
        plans.append(steps)

    def aggregations(facet_plan):
        for _, query, request in facet_plan:
            searcher.aggregate(query, request)

    def core(plan, read_hits: bool = False):
        _, main, facet_plan, _ = plan
        counting = _counting_pool().submit(aggregations, facet_plan) if overlap else None
        result = searcher.search(main, limit=20, count=True)
        if read_hits:
            hits(plan, result)
        if counting is None:
            aggregations(facet_plan)
        else:
            counting.result()

    def where_matched(in_pages, addresses):
        """The engine's one page search for the hits (``_best_pages``), then the best pages'
        text and snippets."""
        ids = [int(i) for i in searcher.fast_field_values("id", addresses)]
        limit = PAGE_MATCHES * len(ids) * 10
        _, best = engine._best_pages(page_searcher, in_pages, ids, limit)
        generator = tantivy.SnippetGenerator.create(page_searcher, in_pages, PAGE_SCHEMA, "text")
        generator.set_max_num_chars(SNIPPET_CHARS)
        for pages_of_hit in best.values():
            for _, _, address in pages_of_hit:
                generator.snippet_from_doc(page_searcher.doc(address)).highlighted()

    def hits(plan, result):
        generators = engine._snippet_generators(searcher, plan[0])
        for _, address in result.hits:
            document = searcher.doc(address)
            for generator in generators:
                if generator.snippet_from_doc(document).highlighted():
                    break
        if plan[3] is not None and result.hits:
            where_matched(plan[3], [address for _, address in result.hits])

    def run(steps, read_hits: bool = False):
        for plan, count_only in steps:
            if count_only:
                searcher.search(plan[1], limit=1, count=True)
            else:
                core(plan, read_hits)

    for steps in plans:
        run(steps, read_hits=True)  # warm up
    return (
        percentiles([_timed(lambda steps=steps: run(steps, read_hits=True)) for steps in plans]),
        percentiles([_timed(lambda steps=steps: run(steps)) for steps in plans]),
    )


def _server_side(engine, queries) -> tuple[dict, list[int]]:
    from search.engines import use_engine
    from search.selectors import search_run

    with use_engine(engine):
        totals = [search_run(query=query).total for query in queries]  # warm up
        timings = [_timed(lambda query=query: search_run(query=query)) for query in queries]
    return percentiles(timings), totals


def _http_view(engine, queries, user) -> dict:
    from django.test import Client

    from search.engines import use_engine

    client = Client()
    client.force_login(user)

    def get(query):
        params = {"q": query.text, **{k: list(v) for k, v in query.filters.items()}}
        response = client.get("/search/", params)
        assert response.status_code == 200, response.status_code

    with use_engine(engine):
        get(queries[0])
        return percentiles([_timed(lambda query=query: get(query)) for query in queries])


def _event_insert(queries, user) -> dict:
    from search import services
    from search.query import SearchResults

    results = SearchResults(total=3, hits=[], facets={}, took_ms=1.0)
    return percentiles(
        [
            _timed(
                lambda query=query: services.search_event_record(
                    user=user, query=query, results=results, source="bench"
                )
            )
            for query in queries
        ]
    )


def _db_backend_queries(queries, cap_s: float, budget_s: float) -> dict:
    from django.db import OperationalError, connection
    from django.db.models import Count
    from wagtail.search.backends import get_search_backend

    from cms.models import AssetPage

    backend = get_search_backend()
    connection.ensure_connection()
    raw = connection.connection
    timings, capped, spent = [], 0, 0.0

    def run(text):
        results = backend.search(text, AssetPage.objects.live(), operator="and")
        list(results[:20])
        results.count()
        compiler = results.query_compiler
        matches = compiler.search(compiler.get_config(backend), None, None)
        for field in ("asset_type", "stages"):
            list(matches.values(field).annotate(count=Count("pk")).order_by("-count"))

    for query in queries:
        if spent > budget_s:
            break
        deadline = time.perf_counter() + cap_s
        raw.set_progress_handler(lambda deadline=deadline: time.perf_counter() > deadline, 10_000)
        try:
            elapsed = _timed(lambda query=query: run(query.text.replace('"', "")))
        except OperationalError as error:
            if "interrupt" not in str(error):
                raise
            elapsed, capped = cap_s * 1000, capped + 1
        finally:
            raw.set_progress_handler(None, 0)
        timings.append(elapsed)
        spent += elapsed / 1000
    return {
        **percentiles(timings),
        "capped": capped,
        "cap_s": cap_s,
        "note": "text only (no facet filters); capped queries count as the cap",
    }


def _measure(size, corpus, options, rep, team_ids, servers) -> dict:
    from django.utils import timezone

    from bench.search_engines import compare
    from search.engines.embedded import EmbeddedEngine
    from search.query import audience_for

    queries = _queries(options, audience_for(rep), timezone.now())
    urls, problems = servers
    wanted = {kind: url for kind, url in urls.items() if kind in options["engines"]}
    engines = compare(size, _documents(corpus, team_ids), queries, wanted, problems, percentiles)
    direct = engines["embedded"]["index"]
    print(f"[{size}] indexing from database rows…", flush=True)
    engine = EmbeddedEngine(path=Path(os.environ["DATA_DIR"]) / f"index-{size}")
    reindex = _reindex_from_rows(engine)
    wagtail_index = _index_wagtail_db_backend()
    print(f"[{size}] queries…", flush=True)
    raw, raw_core = _raw_engine(engine, queries)
    server, totals = _server_side(engine, queries)
    http = _http_view(engine, queries[: options["http-queries"]], rep)
    event = _event_insert(queries[:50], rep)
    print(f"[{size}] Wagtail database backend queries (capped)…", flush=True)
    budget = options["db-budget"] if size <= 10_000 else options["db-budget-large"]
    database = _db_backend_queries(queries[: options["db-queries"]], options["db-cap"], budget)
    return {
        "indexing": {
            "embedded_engine_direct": direct,
            "search_reindex_from_rows": reindex,
            "wagtail_db_backend": wagtail_index,
        },
        "queries": {
            "raw_engine": raw,
            "raw_engine_search_and_facets_only": raw_core,
            "server_side": server,
            "http_view": http,
            "event_insert": event,
            "wagtail_db_backend": database,
        },
        "engines": engines,
        "mean_results_per_query": round(statistics.mean(totals), 1),
        "targets": _targets(raw, server, database, reindex, size),
    }


def _targets(raw, server, database, reindex, size) -> dict:
    return {
        "server_p95_within_2x_raw_engine": server["p95_ms"] <= 2 * raw["p95_ms"],
        "server_p95_over_raw_p95": round(server["p95_ms"] / raw["p95_ms"], 2),
        "server_p95_under_50ms": server["p95_ms"] < 50 if size >= 100_000 else None,
        "db_backend_p50_over_server_p50": round(database["p50_ms"] / server["p50_ms"], 1),
        "db_backend_p95_over_server_p95": round(database["p95_ms"] / server["p95_ms"], 1),
        "at_least_20x_faster_than_db_backend": database["p50_ms"] >= 20 * server["p50_ms"],
        "reindex_at_least_2000_per_s": reindex["assets_per_s"] >= 2000,
    }


def _print_summary(report: dict) -> None:
    print("\nsearch benchmark (ms; p50 / p95)")
    for size, data in report["sizes"].items():
        q, ix = data["queries"], data["indexing"]
        print(f"  {int(size):,} assets")
        for name, figures in q.items():
            print(f"    {name:<34} {figures.get('p50_ms')} / {figures.get('p95_ms')}")
        print(
            f"    engine indexing {ix['embedded_engine_direct']['docs_per_s']} docs/s; "
            f"search_reindex {ix['search_reindex_from_rows']['assets_per_s']} assets/s; "
            f"Wagtail DB backend {ix['wagtail_db_backend']['docs_per_s']} docs/s"
        )
        print(f"    targets: {data['targets']}")
        for kind, figures in data["engines"].items():
            if kind == "ratios_to_embedded":
                print(f"    engine ratios to embedded: {figures}")
            elif "skipped" in figures:
                print(f"    engine {kind}: skipped ({figures['skipped']})")
            else:
                search = figures["search"]
                print(
                    f"    engine {kind:<14} search {search['p50_ms']} / {search['p95_ms']} ms; "
                    f"index {figures['index']['docs_per_s']} docs/s"
                )
    print(f"written to {RESULTS.relative_to(ROOT)}")


def run(argv: list[str]) -> dict:
    options = _options(argv)
    _setup()
    import tantivy

    from accounts.roles import REP
    from bench.search_corpus import bench_teams, insert_rows, make_corpus
    from bench.search_engines import servers as engine_servers
    from tests.factories import make_user

    corpus = make_corpus(max(options["sizes"]))
    teams = bench_teams()
    rep = make_user("bench-rep", role=REP, teams=[teams[0]])
    report = {
        "suite": "search",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "tantivy": getattr(tantivy, "__version__", "?"),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "options": options,
        "sizes": {},
    }
    inserted = 0
    with engine_servers(options["engines"]) as servers:
        for size in sorted(options["sizes"]):
            print(f"[{size}] inserting {size - inserted:,} asset rows…", flush=True)
            insert_rows(corpus[inserted:size], label=str(size))
            inserted = size
            report["sizes"][str(size)] = _measure(
                size, corpus[:size], options, rep, [team.pk for team in teams], servers
            )
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    _print_summary(report)
    return report


if __name__ == "__main__":
    run(sys.argv[1:])
