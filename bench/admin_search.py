"""Admin search benchmark: what a marketer waits for when searching Wagtail's admin.

A synthetic library of ``--assets`` published asset pages (bench/search_corpus.py) and as
many documents, indexed by Wagtail's own ``update_index`` (timed), then the admin's own views
asked through Django's test client, signed in as a marketer (Wagtail's permission filtering
applies, as in production):
- ``page_search``: GET /admin/pages/search/?q= (results, the page-type facet counts, the
  paginator's count), the whole page as a search from the sidebar opens it;
- ``page_search_results``: GET /admin/pages/search/results/?q=, the same search's results
  region, which the page's search box fetches and swaps in as the marketer types;
- ``page_chooser_search``: GET /admin/choose-page/search/?q= (the page chooser's search box);
- ``document_search``: GET /admin/documents/results/?q= (the document listing's search);
- ``snippet_search``: GET /admin/snippets/cms/competitor/results/?q= (taxonomy snippets are
  not indexed models: Wagtail searches them with the ORM, ``search_fields = ["name"]``).

For each view two figures: ``http``, the whole request (Wagtail's admin rendering its table
included), and ``search``, only the calls the view makes to Wagtail's search backend (results,
count, the page-type facet) with the same user's permission filtering, so what the backend
costs is visible beside what the admin's own rendering costs (``page_search_results`` makes
``page_search``'s calls and has no figure of its own; on a server, the page-type request
also gives the count, ``search.admin_backend.TotalsOncePerRequest``).

The same queries (one word, two words, a prefix as typed, a competitor with a word) run once
to warm up and then ``--queries`` times per view, for each backend asked for:
``database`` (the embedded default: Wagtail's database backend, on SQLite in its one-pass form,
search/admin_sqlite.py) and ``opensearch`` / ``elasticsearch`` (Wagtail's own backends on the
servers at OPENSEARCH_URL / ELASTICSEARCH_URL, or the ``*_TEST_URL`` variables; a backend
without a URL is reported as skipped). ``database_stock`` is Wagtail's SQLite backend as it
comes, the "before" in the same run: ``--stock-queries`` queries, each stopped at ``--cap``
seconds (SQLite's progress handler) and counted as the cap, so its figures are lower bounds.

The process freezes its heap before measuring, as the server does after start-up
(enablement/wsgi.py), so a full garbage collection over the setup's objects does not land in a
timed request.

Usage: python -m bench admin_search [--assets=10000] [--queries=60] [--stock-queries=8] [--cap=20]
       [--backends=database_stock,database,opensearch,elasticsearch]
Writes bench/results/admin_search.json. Runs in a child process on a scratch SQLite database.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.child import run_child
from bench.search import percentiles

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "admin_search.json"
DEFAULTS = {
    "assets": 10_000,
    "queries": 60,
    "stock-queries": 8,
    "cap": 20,
    "backends": "database_stock,database,opensearch,elasticsearch",
}
VIEWS = {
    "page_search": "/admin/pages/search/",
    "page_search_results": "/admin/pages/search/results/",
    "page_chooser_search": "/admin/choose-page/search/",
    "document_search": "/admin/documents/results/",
    "snippet_search": "/admin/snippets/cms/competitor/results/",
}
SERVER_URLS = {"opensearch": "OPENSEARCH", "elasticsearch": "ELASTICSEARCH"}


def main(options: list[str]) -> None:
    """Run the benchmark in a child process with its own scratch data directory, DEBUG off
    as in production (Django's debug mode keeps every query and slows the admin's templates)."""
    run_child("bench.admin_search", options, debug=False)


def _options(argv: list[str]) -> dict:
    options = dict(DEFAULTS)
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name in options and value:
            options[name] = value if name == "backends" else int(value.replace("_", ""))
    options["backends"] = [name for name in str(options["backends"]).split(",") if name]
    return options


def make_admin_queries(count: int, *, seed: int = 23) -> list[str]:
    """What marketers type in the admin: a word, two words, a word being typed, a competitor."""
    from bench.search_corpus import COMPETITORS, DOMAIN

    pick = random.Random(seed)
    queries = []
    for number in range(count):
        kind = number % 4
        words = pick.sample(DOMAIN, 2)
        if kind == 0:
            queries.append(words[0])
        elif kind == 1:
            queries.append(" ".join(words))
        elif kind == 2:  # half a word, as the chooser sends it while typing
            queries.append(words[0][: max(3, len(words[0]) // 2)])
        else:
            queries.append(f"{pick.choice(COMPETITORS).lower()} {words[0]}")
    return queries


# --- the child process ---------------------------------------------------------------------
def _setup() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG off: hashed static names


def _insert_documents(corpus) -> int:
    """One document per asset: a title like the asset's and its text as extracted text."""
    from wagtail.documents import get_document_model
    from wagtail.models import Collection

    Document = get_document_model()
    collection = Collection.get_first_root_node()
    rows = [
        Document(
            title=f"{asset.title}.pdf",
            file=f"documents/bench-{asset.number}.pdf",
            file_size=100_000,
            collection=collection,
            extracted_text=asset.body,
            extraction_status="done",
        )
        for asset in corpus
    ]
    Document.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _backend_settings(name: str, index_prefix: str) -> dict | None:
    """The WAGTAILSEARCH_BACKENDS entry for one measured backend, or None when not available."""
    from enablement.env import wagtail_search_backends

    if name == "database_stock":
        return {"default": {"BACKEND": "wagtail.search.backends.database"}}
    if name == "database":
        return wagtail_search_backends(url=None, engine="embedded", index=index_prefix)
    prefix = SERVER_URLS[name]
    url = os.environ.get(f"{prefix}_URL") or os.environ.get(f"{prefix}_TEST_URL")
    if not url:
        return None
    backends = wagtail_search_backends(url=url, engine=name, index=index_prefix)
    backends["default"]["TIMEOUT"] = 120  # update_index's bulk requests on a busy 2-core box
    return backends


def _update_index() -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("update_index", verbosity=0)
    return round(time.perf_counter() - started, 2)


def _capped(function, cap_s: float) -> float:
    """Milliseconds ``function`` took, or the cap when SQLite interrupted it at the cap."""
    from django.db import OperationalError, connection

    connection.ensure_connection()
    raw = connection.connection if connection.vendor == "sqlite" else None
    deadline = time.perf_counter() + cap_s
    if raw is not None:
        raw.set_progress_handler(lambda: time.perf_counter() > deadline, 10_000)
    started = time.perf_counter()
    try:
        function()
    except OperationalError as error:
        if "interrupt" not in str(error):
            raise
        return cap_s * 1000
    finally:
        if raw is not None:
            raw.set_progress_handler(None, 0)
    return (time.perf_counter() - started) * 1000


def _search_calls(user) -> dict:
    """What each view asks of Wagtail's search backend, without the view around it."""
    from wagtail.documents import get_document_model
    from wagtail.models import Page
    from wagtail.permission_policies.pages import PagePermissionPolicy
    from wagtail.permissions import policy_registry

    from search.admin_backend import totals_shared

    explorable = PagePermissionPolicy().explorable_instances(user).values_list("pk", flat=True)
    documents_policy = policy_registry.get_by_type(get_document_model())
    documents = documents_policy.instances_user_has_any_permission_for(user, ["change", "delete"])

    def page_search(text):
        """In the view's order, sharing a server's totals as a request does."""
        pages = Page.objects.filter(pk__in=explorable)
        with totals_shared():
            pages.autocomplete(text).facet("content_type_id")
            results = pages.autocomplete(text)
            results.count()
            list(results[:20])

    def page_chooser_search(text):
        results = Page.objects.exclude(depth=1).type(Page).specific().autocomplete(text)
        list(results[:25])
        results.count()

    def document_search(text):
        results = documents.autocomplete(text)
        list(results[:20])
        results.count()

    return {
        "page_search": page_search,
        "page_chooser_search": page_chooser_search,
        "document_search": document_search,
    }


def _time_views(client, queries: list[str], user, cap_s: float) -> dict:
    """Per view: the whole request (``http``) and the backend calls it makes (``search``)."""
    calls = _search_calls(user)
    figures = {}
    for view, url in VIEWS.items():

        def get(text, url=url):
            response = client.get(url, {"q": text})
            assert response.status_code == 200, (url, text, response.status_code)

        _capped(lambda: get(queries[0]), cap_s)  # warm up
        http = [_capped(lambda text=text: get(text), cap_s) for text in queries]
        figures[view] = {"http": {**percentiles(http), "capped": http.count(cap_s * 1000)}}
        if view in calls:
            call = calls[view]
            search = [_capped(lambda text=text, call=call: call(text), cap_s) for text in queries]
            figures[view]["search"] = {**percentiles(search), "capped": search.count(cap_s * 1000)}
    return figures


def _measure(name: str, options: dict, user, run_id: str) -> dict:
    from django.test import Client, override_settings

    backends = _backend_settings(name, f"bench-admin-{run_id}")
    if backends is None:
        prefix = SERVER_URLS[name]
        return {"skipped": f"neither {prefix}_URL nor {prefix}_TEST_URL is set"}
    stock = name == "database_stock"
    queries = make_admin_queries(options["stock-queries"] if stock else options["queries"])
    print(f"  {name}: update_index…", flush=True)
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        try:
            seconds = _update_index()
            client = Client()
            client.force_login(user)
            print(f"  {name}: {len(queries)} queries per view…", flush=True)
            views = _time_views(client, queries, user, options["cap"])
            return {"update_index_s": seconds, "queries": len(queries), "views": views}
        finally:
            if name in SERVER_URLS:
                _drop_index(name)


def _drop_index(name: str) -> None:
    """Delete the benchmark's indexes from the server (their names carry the run's id)."""
    from wagtail.search.backends import get_search_backend

    backend = get_search_backend()
    prefix = backend.index_prefix
    names = backend.es.indices.get_alias(index=f"{prefix}*")
    names = getattr(names, "body", names)
    for index in names:
        backend.es.indices.delete(index=index)


def run(argv: list[str]) -> dict:
    options = _options(argv)
    _setup()
    # A stock query stopped at the cap fails its request; that is counted, not logged.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    import uuid

    from accounts.roles import MARKETER
    from bench.search_corpus import insert_rows, make_corpus
    from tests.factories import make_user

    size = options["assets"]
    corpus = make_corpus(size)
    print(f"inserting {size:,} asset pages and {size:,} documents…", flush=True)
    insert_rows(corpus, label=str(size))
    _insert_documents(corpus)
    del corpus
    marketer = make_user("bench-marketer", role=MARKETER)
    # As the server does once it has loaded (enablement/wsgi.py): what is alive now is never
    # walked by the collector again. Without it, a full collection over this process's heap
    # (140 ms at 10k assets) landed in one request of every few dozen, as a server's would not.
    gc.collect()
    gc.freeze()
    report = {
        "suite": "admin_search",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "options": options,
        "assets": size,
        "documents": size,
        "backends": {},
    }
    run_id = uuid.uuid4().hex[:8]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for name in options["backends"]:
        try:
            report["backends"][name] = _measure(name, options, marketer, run_id)
        except Exception as error:  # a server failing mid-run is reported, not fatal
            report["backends"][name] = {"failed": f"{type(error).__name__}: {error}"[:300]}
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        report["targets"] = _targets(report["backends"])
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")  # after each backend
    _print_summary(report)
    return report


def _targets(backends: dict) -> dict:
    """p95 under 100 ms, per backend: the search calls of every view, and the whole request."""
    targets = {}
    for name, figures in backends.items():
        views = figures.get("views", {}).values()
        if views:
            targets[name] = {
                "search_p95_under_100ms": all(
                    view["search"]["p95_ms"] < 100 for view in views if "search" in view
                ),
                "http_p95_under_100ms": all(view["http"]["p95_ms"] < 100 for view in views),
            }
    return targets


def _print_summary(report: dict) -> None:
    print(f"\nadmin search benchmark, {report['assets']:,} assets (ms; p50 / p95)")
    for name, figures in report["backends"].items():
        if "views" not in figures:
            print(f"  {name}: {figures}")
            continue
        print(f"  {name} (update_index {figures['update_index_s']} s)")
        for view, timing in figures["views"].items():
            http, search = timing["http"], timing.get("search")
            line = f"    {view:<22} request {http['p50_ms']} / {http['p95_ms']}"
            if search:
                line += f"; search calls {search['p50_ms']} / {search['p95_ms']}"
            print(line)
    print(f"  targets: {report['targets']}")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    run(sys.argv[1:])
