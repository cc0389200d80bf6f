"""Live search in a browser: keystroke -> results painted in Debian's Chromium, and the HTTP
search's p95 against the raw engine's p95 on the same index, in one run.

A synthetic library (bench/search_corpus.py) of ``size`` assets is served by gunicorn (two sync
workers, DEBUG off, as in production) on this machine; Chromium is driven by Playwright with
``executable_path`` (never a downloaded browser). The rep searching has ``REP_OPEN_DEALS``
open deals, as a rep at work does (every result card's "Used in a deal?" offers them).
Measured:
- ``keystroke_to_paint``: the box holds a query but its last character; a ``keydown`` listener
  marks the keystroke (Performance API), and the measure ends in the first animation frame
  after search.js has put the new results in the DOM (its ``search:updated`` event);
- ``facet_click_to_paint``: the same from a click on a facet link;
- ``raw_engine``: the tantivy calls behind one search (bench/search.py's ``_raw_engine``) on the
  served index, in this process, including the page index searched for where the hits matched
  (before 2026-12-03 it left that out: ``raw_engine_without_page_matches``), with the facet
  counts on a second thread as the engine runs them (``raw_engine_serial``: one call after
  another, as the engine did before 2026-12-03);
  ``http_partial``: GET of the results region the page fetches as the rep types (header
  X-Search-Partial) and ``http_full_page``: the whole page, both
  through gunicorn with the rep's session cookie, timed to the last byte, on the same queries
  (each list warmed up once first, as for the raw engine);
- ``http_floor``: GET /search/suggest/?q= (nothing to suggest) with the same cookie: a request
  that reads the rep's session, user, role and teams and answers a few bytes of JSON, with no
  engine call and no template. It is what any signed-in request costs here, so it shows how much
  of the 1.5x budget around the engine (half the raw p95) is gone before the search begins.

Then the same with the app on a server engine, for OpenSearch and then Elasticsearch
(``server_engines``): the index rebuilt from the same rows onto a node of the ``.ci`` scripts
(or the server ``OPENSEARCH_URL`` / ``ELASTICSEARCH_URL`` names), gunicorn started on it,
keystroke -> paint, facet click -> paint, ``http_partial`` and its ``raw_engine``: the request
bodies the app sends the server for each query, sent again as they are and timed to the parsed
answer, with none of the app around them.

Usage: python -m bench search_browser [--size=100000] [--keystrokes=60] [--queries=200]
[--servers=opensearch,elasticsearch|none]
The library (database rows and index) is built once and cached under
.ci/work/bench-search-browser-<size>/ (delete it to rebuild). Writes
bench/results/search_browser.json.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from bench.child import run_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "search_browser.json"
DEFAULTS = {
    "size": 100_000,
    "keystrokes": 60,
    "queries": 200,
    "servers": "opensearch,elasticsearch",
}
CORPUS_VERSION = 1  # bump when bench/search_corpus.py changes what it generates
TARGET_PAINT_P95_MS = 100
TARGET_HTTP_OVER_RAW = 1.5
#: The bench rep's open deals, listed by every result card's "Used in a deal?" (before
#: 2026-12-06 the rep had none, so that list cost nothing here).
REP_OPEN_DEALS = 25


def main(options: list[str]) -> None:
    """Run the benchmark in a child process; its 100k library is kept under .ci/work."""
    settings = _options(options)
    work = ROOT / ".ci" / "work" / f"bench-search-browser-{settings['size']}"
    work.mkdir(parents=True, exist_ok=True)
    run_child("bench.search_browser", options, data_dir=work, debug=False)


def _options(argv: list[str]) -> dict:
    options = dict(DEFAULTS)
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name == "servers":
            options[name] = "" if value == "none" else value
        elif name in options and value:
            options[name] = int(value.replace("_", ""))
    return options


# --- the child process -----------------------------------------------------------------------
def _library(size: int) -> None:
    """Build the cached library once: rows, the bench rep, the index."""
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    marker = Path(settings.DATA_DIR) / "built.json"
    wanted = {"size": size, "corpus": CORPUS_VERSION}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        from search import services

        if services.index_restore() is not None:  # an older version built it for other fields
            print("rebuilt the cached library's index", flush=True)
        return
    from accounts.roles import REP
    from bench.search_corpus import bench_teams, insert_rows, make_corpus
    from cms.models import AssetPage
    from search import services
    from tests.factories import make_user

    if AssetPage.objects.exists():
        raise SystemExit(f"{settings.DATA_DIR} holds a half-built library: delete it and rerun")
    print(f"building the {size:,}-asset library once (cached in {settings.DATA_DIR})…", flush=True)
    insert_rows(make_corpus(size), label=str(size))
    make_user("bench-rep", role=REP, teams=[bench_teams()[0]])
    count = services.index_rebuild(batch_size=1000)
    marker.write_text(json.dumps(wanted))
    print(f"indexed {count:,} assets", flush=True)


def _rep_deals(count: int) -> None:
    """Give the bench rep ``count`` open deals (once: they are kept with the library)."""
    from analytics.models import Deal
    from analytics.services import DealInput, deal_upsert

    for number in range(Deal.objects.filter(external_id__startswith="BENCH-").count(), count):
        name = f"Bench account {number} expansion"
        deal_upsert(
            data=DealInput(
                external_id=f"BENCH-{number:03d}",
                name=name,
                account=f"Bench account {number}",
                stage="Prospecting",
                owner="bench-rep",
            )
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int, env: dict | None = None) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "enablement.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


def _percentiles(values):
    from bench.search import percentiles

    return percentiles(values)


# Listeners the benchmark adds to the page (through the DevTools protocol, so the site's CSP
# still forbids inline script for everything else).
_LISTEN = """() => {
  window.benchPaint = [];
  window.benchPending = false;
  const start = () => {
    performance.clearMarks('bench-start');
    performance.mark('bench-start');
    window.benchPending = true;
  };
  document.getElementById('search-q').addEventListener('keydown', start, true);
  document.addEventListener('click', (event) => {
    if (event.target.closest('#search-region a.facet-link')) { start(); }
  }, true);
  document.addEventListener('search:updated', () => {
    if (!window.benchPending) { return; }
    window.benchPending = false;
    requestAnimationFrame(() => {
      window.benchPaint.push(performance.measure('bench-paint', 'bench-start').duration);
    });
  });
}"""


def _browser(base: str, texts: list[str]) -> tuple[dict, dict, list]:
    """Keystroke -> paint and facet click -> paint, in ms; and the rep's cookies."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, _chromium_path
    from tests.factories import PASSWORD

    path = _chromium_path()
    if path is None:
        raise SystemExit("Debian's Chromium is not installed (apt-get install chromium)")
    keystrokes, clicks = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto("/login/?next=/search/")  # not the library home: it lists 100k assets
        page.fill("#id_username", "bench-rep")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        for number, text in enumerate(texts):
            page.goto("/search/")
            page.evaluate(_LISTEN)
            prefix = text[:-1]
            page.fill("#search-q", prefix)  # the search for the prefix, not measured
            page.wait_for_function(
                "(q) => document.getElementById('search-region').dataset.q === q", arg=prefix
            )
            page.keyboard.type(text[-1])
            page.wait_for_function("() => window.benchPaint.length === 1")
            facet = page.locator("#search-region a.facet-link:not(.selected)").first
            if facet.count():
                # The suggestions list may cover the facets; the click event is the same.
                facet.dispatch_event("click")
                page.wait_for_function("() => window.benchPaint.length === 2")
            paints = page.evaluate("() => window.benchPaint")
            if number >= 3:  # the first searches warm the server's caches
                keystrokes.append(paints[0])
                clicks.extend(paints[1:])
        cookies = context.cookies()
        browser.close()
    return _percentiles(keystrokes), _percentiles(clicks), cookies


def _http_get(port: int, target: str, headers: dict) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", target, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"GET {target} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def _http_and_raw(port: int, cookies: list, queries) -> dict:
    """The raw engine over every query (warmed up first, as bench/search.py does), then each
    query over HTTP, the partial and the full page back to back (after a warm-up pass)."""
    from bench.search import _raw_engine
    from search.engines import get_engine

    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    plain = {"Cookie": cookie, "Host": f"127.0.0.1:{port}"}
    partial = {**plain, "X-Search-Partial": "1"}
    raw, _ = _raw_engine(get_engine(), queries)  # the index the server answers from
    serial, _ = _raw_engine(get_engine(), queries, overlap=False)
    assets_only, _ = _raw_engine(get_engine(), queries, page_matches=False)
    targets = [_target(query) for query in queries]
    for target in targets:
        _http_get(port, target, partial)  # warm up, like the raw engine
    floor_target = "/search/suggest/?q="
    _http_get(port, floor_target, plain)
    partials, fulls, floors = [], [], []
    for target in targets:
        partials.append(_http_get(port, target, partial))
        fulls.append(_http_get(port, target, plain))
        floors.append(_http_get(port, floor_target, plain))
    return {
        "raw_engine": raw,
        "raw_engine_serial": serial,
        "raw_engine_without_page_matches": assets_only,
        "http_partial": _percentiles(partials),
        "http_full_page": _percentiles(fulls),
        "http_floor": _percentiles(floors),
    }


def run(argv: list[str]) -> dict:
    options = _options(argv)
    import django

    django.setup()
    _library(options["size"])
    _rep_deals(REP_OPEN_DEALS)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bench.search import _queries
    from search.query import audience_for

    rep = get_user_model().objects.get(username="bench-rep")
    queries = _queries({"queries": options["queries"]}, audience_for(rep), timezone.now())
    texts = [q.text for q in queries if len(q.text.strip()) >= 3][: options["keystrokes"] + 3]
    port = _free_port()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    server = _serve(port)
    try:
        print(f"Chromium: {len(texts)} keystrokes and facet clicks…", flush=True)
        keystroke, click, cookies = _browser(f"http://127.0.0.1:{port}", texts)
        print(f"HTTP and raw engine: {len(queries)} queries…", flush=True)
        http = _http_and_raw(port, cookies, queries)
    finally:
        server.terminate()
        server.wait(timeout=30)
    raw_p95 = http["raw_engine"]["p95_ms"]
    report = {
        "suite": "search_browser",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "server": "gunicorn, 2 sync workers, DEBUG off, SQLite, embedded engine",
            "rep_open_deals": REP_OPEN_DEALS,
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "options": options,
        "keystroke_to_paint": keystroke,
        "facet_click_to_paint": click,
        **http,
        "ratios": {
            "http_partial_p95_over_raw_p95": round(http["http_partial"]["p95_ms"] / raw_p95, 2),
            "http_full_page_p95_over_raw_p95": round(http["http_full_page"]["p95_ms"] / raw_p95, 2),
            "http_partial_p95_over_raw_serial_p95": round(
                http["http_partial"]["p95_ms"] / http["raw_engine_serial"]["p95_ms"], 2
            ),
            "http_floor_p95_over_budget_around_engine": round(
                http["http_floor"]["p95_ms"] / (raw_p95 * (TARGET_HTTP_OVER_RAW - 1)), 2
            ),
            "http_partial_p95_over_raw_without_page_matches_p95": round(
                http["http_partial"]["p95_ms"] / http["raw_engine_without_page_matches"]["p95_ms"],
                2,
            ),
        },
    }
    report["targets"] = {
        "keystroke_to_paint_p95_at_most_100ms": keystroke["p95_ms"] <= TARGET_PAINT_P95_MS,
        "http_partial_p95_at_most_1_5x_raw": report["ratios"]["http_partial_p95_over_raw_p95"]
        <= TARGET_HTTP_OVER_RAW,
    }
    wanted = [kind for kind in options["servers"].split(",") if kind]
    report["server_engines"] = _server_engines(wanted, texts, queries)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    _print(report)
    return report


def _server_engines(kinds: list[str], texts: list[str], queries) -> dict:
    """The same measures with the app on OpenSearch and on Elasticsearch (one node at a time,
    from the ``.ci`` scripts unless ``OPENSEARCH_URL`` / ``ELASTICSEARCH_URL`` name servers),
    each given an index rebuilt from the same rows, as ``search_reindex`` does."""
    from bench.search_engines import servers

    report = {}
    for kind in kinds:
        with servers([kind]) as (urls, problems):
            if kind not in urls:
                report[kind] = {"skipped": problems.get(kind, "not started")}
                continue
            report[kind] = _server_engine(kind, urls[kind], texts, queries)
    return report


def _server_engine(kind: str, url: str, texts: list[str], queries) -> dict:
    from search import services
    from search.engines import use_engine
    from search.engines.elastic import ElasticEngine

    index = f"bench-search-browser-{kind}"
    engine = ElasticEngine(url=url, index=index, kind=kind, timeout=300)
    print(f"{kind}: indexing the library from its rows…", flush=True)
    started = time.perf_counter()
    with use_engine(engine):
        indexed = services.index_rebuild(batch_size=1000)
    seconds = time.perf_counter() - started
    port = _free_port()
    server = _serve(port, {"SEARCH_URL": url, "SEARCH_ENGINE": kind, "SEARCH_INDEX": index})
    try:
        print(f"{kind}: Chromium, then HTTP and the raw engine…", flush=True)
        keystroke, click, cookies = _browser(f"http://127.0.0.1:{port}", texts)
        raw = _raw_server(engine, queries)
        partials = _http_partials(port, cookies, queries)
    finally:
        server.terminate()
        server.wait(timeout=30)
        for name in engine.transport.aliases(index):
            engine.transport.delete(name)
    ratio = round(partials["p95_ms"] / raw["p95_ms"], 2)
    return {
        "indexing": {"assets": indexed, "seconds": round(seconds, 1)},
        "keystroke_to_paint": keystroke,
        "facet_click_to_paint": click,
        "raw_engine": raw,
        "http_partial": partials,
        "http_partial_p95_over_raw_p95": ratio,
        "targets": {
            "keystroke_to_paint_p95_at_most_100ms": keystroke["p95_ms"] <= TARGET_PAINT_P95_MS,
            "http_partial_p95_at_most_1_5x_raw": ratio <= TARGET_HTTP_OVER_RAW,
        },
    }


def _raw_server(engine, queries) -> dict:
    """The server's answers behind one search: the request bodies ``selectors.search_run``
    sends for a query (recorded once, which also warms the server up), sent again as they are
    and timed to the parsed JSON, with nothing of the app around them."""
    from search import selectors
    from search.engines import use_engine

    transport = engine.transport
    send = transport.search
    recorded: list[list] = []

    def record(index, body):
        recorded[-1].append((index, body))
        return send(index, body)

    transport.search = record
    try:
        with use_engine(engine):
            for query in queries:
                recorded.append([])
                selectors.search_run(query=query)
    finally:
        transport.search = send
    timings = []
    for calls in recorded:
        began = time.perf_counter()
        for index, body in calls:
            send(index, body)
        timings.append((time.perf_counter() - began) * 1000)
    return _percentiles(timings)


def _http_partials(port: int, cookies: list, queries) -> dict:
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    headers = {"Cookie": cookie, "Host": f"127.0.0.1:{port}", "X-Search-Partial": "1"}
    targets = [_target(query) for query in queries]
    for target in targets:
        _http_get(port, target, headers)  # warm up, like the raw engine
    return _percentiles([_http_get(port, target, headers) for target in targets])


def _target(query) -> str:
    params = [("q", query.text)] + [(k, v) for k, vs in query.filters.items() for v in vs]
    return "/search/?" + urlencode(params)


def _print(report: dict) -> None:
    print(f"\nlive search in Chromium at {report['options']['size']:,} assets (ms; p50 / p95)")
    for name in (
        "keystroke_to_paint",
        "facet_click_to_paint",
        "raw_engine",
        "raw_engine_serial",
        "raw_engine_without_page_matches",
        "http_partial",
        "http_full_page",
        "http_floor",
    ):
        figures = report[name]
        print(f"  {name:<24} {figures.get('p50_ms')} / {figures.get('p95_ms')}")
    print(f"  ratios: {report['ratios']}")
    print(f"  targets: {report['targets']}")
    for kind, figures in report["server_engines"].items():
        if "skipped" in figures:
            print(f"  {kind}: skipped ({figures['skipped']})")
            continue
        print(f"  {kind}:")
        for name in ("keystroke_to_paint", "facet_click_to_paint", "raw_engine", "http_partial"):
            print(f"    {name:<22} {figures[name]['p50_ms']} / {figures[name]['p95_ms']}")
        print(f"    HTTP over raw at p95: {figures['http_partial_p95_over_raw_p95']}x")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    run(sys.argv[1:])
