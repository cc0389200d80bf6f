"""Side by side for the search benchmark: the embedded engine, OpenSearch and Elasticsearch
given the same documents and asked the same queries through the same engine contract
(``SearchEngine.rebuild`` and ``SearchEngine.search``: hits, facet counts, highlights).

Servers come from ``OPENSEARCH_URL`` / ``ELASTICSEARCH_URL`` (or the ``*_TEST_URL`` variables
the tests use). When a variable is unset the benchmark starts a node of its own with
``.ci/opensearch.sh`` / ``.ci/elasticsearch.sh`` on a port of its own, and stops it after;
a server that cannot be started is reported as skipped, with the reason, in the results.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("embedded", "opensearch", "elasticsearch")
SERVERS = {
    "opensearch": ("OPENSEARCH", ROOT / ".ci" / "opensearch.sh", 9291),
    "elasticsearch": ("ELASTICSEARCH", ROOT / ".ci" / "elasticsearch.sh", 9292),
}


@contextlib.contextmanager
def servers(wanted: list[str]):
    """{kind: URL or None} for the server kinds in ``wanted``, and {kind: why not}; nodes
    this started are stopped on exit."""
    urls, problems, started = {}, {}, []
    try:
        for kind in wanted:
            if kind not in SERVERS:
                continue
            prefix, script, port = SERVERS[kind]
            url = os.environ.get(f"{prefix}_URL") or os.environ.get(f"{prefix}_TEST_URL")
            if not url:
                print(f"starting {kind} with {script.relative_to(ROOT)} on port {port}…")
                env = {**os.environ, f"{prefix}_PORT": str(port)}
                done = subprocess.run(
                    ["bash", str(script), "start"], env=env, capture_output=True, text=True
                )
                if done.returncode != 0:
                    problems[kind] = f"could not start: {done.stderr.strip()[-300:]}"
                    continue
                url = done.stdout.strip()
                started.append((script, env))
            urls[kind] = url
        yield urls, problems
    finally:
        for script, env in started:
            subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True)


def _engine(kind: str, urls: dict, size: int, scratch: Path):
    if kind == "embedded":
        from search.engines.embedded import EmbeddedEngine

        return EmbeddedEngine(path=scratch / f"engines-{size}")
    from search.engines.elastic import ElasticEngine

    return ElasticEngine(
        url=urls[kind], index=f"bench-engines-{size}-{os.getpid()}", kind=kind, timeout=300
    )


def _drop(kind: str, engine, scratch: Path, size: int) -> None:
    if kind == "embedded":
        shutil.rmtree(scratch / f"engines-{size}", ignore_errors=True)
        return
    with contextlib.suppress(Exception):
        for index in engine.transport.aliases(engine.alias):
            engine.transport.delete(index)


def _index_mb(kind: str, engine, scratch: Path, size: int) -> float | None:
    if kind == "embedded":
        files = (scratch / f"engines-{size}").rglob("*")
        return round(sum(f.stat().st_size for f in files if f.is_file()) / 1_000_000, 1)
    with contextlib.suppress(Exception):
        name = engine.transport.aliases(engine.alias)[0]
        stats = engine.transport.client.indices.stats(index=name, metric="store")
        stats = getattr(stats, "body", stats)
        return round(stats["_all"]["primaries"]["store"]["size_in_bytes"] / 1_000_000, 1)
    return None


def measure_engine(kind, engine, documents, queries, percentiles) -> dict:
    """Index ``documents`` (batches of 1,000, one rebuild), then time every query once after
    a warm-up pass."""
    batches = [documents[i : i + 1000] for i in range(0, len(documents), 1000)]
    started = time.perf_counter()
    engine.rebuild(batches)
    seconds = time.perf_counter() - started
    totals = [engine.search(query).total for query in queries]  # warm up
    timings = []
    for query in queries:
        began = time.perf_counter()
        engine.search(query)
        timings.append((time.perf_counter() - began) * 1000)
    return {
        "index": {
            "docs": len(documents),
            "seconds": round(seconds, 2),
            "docs_per_s": round(len(documents) / seconds),
        },
        "search": percentiles(timings),
        "mean_results_per_query": round(sum(totals) / len(totals), 1),
        "totals": totals,
    }


def compare(size: int, documents, queries, urls, problems, percentiles) -> dict:
    """Every engine on the same documents and queries, and the ratios to the embedded one."""
    scratch = Path(tempfile.mkdtemp(prefix="engines-", dir=os.environ["DATA_DIR"]))
    report: dict = {}
    for kind in ENGINES:
        if kind != "embedded" and kind not in urls:
            report[kind] = {"skipped": problems.get(kind, "not requested")}
            continue
        print(f"[{size}] {kind}: indexing and querying…", flush=True)
        engine = _engine(kind, urls, size, scratch)
        try:
            report[kind] = measure_engine(kind, engine, documents, queries, percentiles)
            report[kind]["index"]["index_mb"] = _index_mb(kind, engine, scratch, size)
        except Exception as error:  # a server that fails mid-run is reported, not fatal
            report[kind] = {"skipped": f"failed: {type(error).__name__}: {error}"[:300]}
        finally:
            _drop(kind, engine, scratch, size)
    shutil.rmtree(scratch, ignore_errors=True)
    report["ratios_to_embedded"] = _ratios(report)
    for kind in ENGINES:
        report.get(kind, {}).pop("totals", None)
    return report


def _ratios(report: dict) -> dict:
    base = report.get("embedded", {})
    ratios = {}
    for kind in ENGINES[1:]:
        other = report.get(kind, {})
        if "search" not in other or "search" not in base:
            continue
        ratios[kind] = {
            "search_p50": round(other["search"]["p50_ms"] / base["search"]["p50_ms"], 2),
            "search_p95": round(other["search"]["p95_ms"] / base["search"]["p95_ms"], 2),
            "index_rate_embedded_over_server": round(
                base["index"]["docs_per_s"] / other["index"]["docs_per_s"], 2
            ),
            "queries_with_the_same_total": round(
                sum(a == b for a, b in zip(base["totals"], other["totals"], strict=True))
                / len(base["totals"]),
                3,
            ),
        }
    return ratios
