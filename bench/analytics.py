"""Analytics benchmark: 100k deals and 1M events.

Measures, in one run on a scratch database:
- ingestion through POST /api/v1/events with concurrent client processes against gunicorn
  on loopback (events/s; every event must be stored exactly once, resent batches add none);
- ``update_analytics`` wall time;
- the asset table's effectiveness query (ORM, with a segment filter so it is computed rather
  than read from the rollup) against one hand-written SQL aggregate over the same rows.

Usage: python -m bench analytics [--deals=N] [--events=N] [--clients=N] [--workers=N]
Writes bench/results/analytics.json. Uses a temporary SQLite database unless DATABASE_URL
names a scratch PostgreSQL database (its analytics tables are filled, not cleared).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "analytics.json"
DEFAULTS = {
    "deals": 100_000,
    "events": 1_000_000,
    "clients": 4,
    "workers": 3,
    "assets": 200,
    "wal": 0,
}
BATCH = 500
SEGMENTS = ("New Business", "Existing Business")


def _options(argv: list[str]) -> dict:
    options = dict(DEFAULTS)
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name in options and value:
            options[name] = int(value.replace("_", ""))
    return options


def _setup_django() -> str | None:
    """Configure Django on a scratch data directory; returns it (None when the caller had
    configured Django already) so that main() can remove it afterwards."""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    scratch = None
    if "DJANGO_SETTINGS_MODULE" not in os.environ:
        scratch = os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-analytics-")
        os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
        os.environ["DEBUG"] = "false"
        os.environ["TASKS_BACKEND"] = "immediate"
        os.environ["DJANGO_SETTINGS_MODULE"] = "enablement.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return scratch


def _log(message: str) -> None:
    print(f"[analytics bench] {message}", flush=True)


# --- Data -------------------------------------------------------------------------------------


def _make_assets(count: int) -> list[int]:
    from cms.models import AssetPage, AssetType, BuyerStage, Pillar
    from cms.services import library_root_ensure

    library = library_root_ensure()
    stages, pillars = list(BuyerStage.objects.all()), list(Pillar.objects.all())
    kind = AssetType.objects.first()
    ids = []
    for number in range(count):
        asset = AssetPage(title=f"Bench asset {number}", summary="bench", asset_type=kind)
        library.add_child(instance=asset)
        asset.stages.set([stages[number % 3]])
        asset.pillars.set([pillars[number % len(pillars)]])
        asset.save()
        ids.append(asset.pk)
    return ids


def _make_deals(count: int, rng: random.Random) -> None:
    from analytics.models import Deal, DealStageChange
    from cms.models import BuyerStage

    pipeline = list(BuyerStage.objects.order_by("sort_order"))[:3]
    top = BuyerStage.objects.order_by("-sort_order").first()
    now = datetime.now(UTC)
    for start in range(0, count, 5000):
        deals, paths = [], []
        for number in range(start, min(count, start + 5000)):
            begin = now - timedelta(days=rng.uniform(30, 400))
            steps = rng.choice((1, 1, 2, 2, 3, 3, 3))
            if steps == 3:
                outcome = rng.choice(("won", "won", "lost", "open"))
            else:
                outcome = rng.choice(("lost", "lost", "open"))
            close = begin + timedelta(days=10 * steps + 5)
            reached = top.sort_order if outcome == "won" else pipeline[steps - 1].sort_order
            deals.append(
                Deal(
                    external_id=f"BENCH-{number:06d}",
                    name=f"Deal {number}",
                    amount=rng.randrange(10, 2000) * 100,
                    stage="Closed Won" if outcome == "won" else pipeline[steps - 1].crm_stages()[0],
                    journey_stage=pipeline[steps - 1],
                    outcome=outcome,
                    close_date=close.date(),
                    segment=rng.choice(SEGMENTS),
                    industry="Software",
                    reached_stage_order=reached,
                )
            )
            paths.append([(pipeline[i], begin + timedelta(days=10 * i)) for i in range(steps)])
        Deal.objects.bulk_create(deals, batch_size=2000)
        history = [
            DealStageChange(
                deal=deal, stage=stage.crm_stages()[0], journey_stage=stage, entered_at=at
            )
            for deal, path in zip(deals, paths, strict=True)
            for stage, at in path
        ]
        DealStageChange.objects.bulk_create(history, batch_size=5000)


# --- Ingestion --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(workers: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "enablement.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start within 60 s")


def _client(args) -> dict:
    """One client process: send its share of events in batches; resend its first batch."""
    number, count, port, key, asset_ids, deals, seed = args
    rng = random.Random(seed)
    now = datetime.now(UTC)
    sent, failures, started = 0, 0, time.monotonic()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    first_body = None
    kinds = ("asset_viewed", "asset_downloaded", "used_in_deal", "asset_shared",
             "buyer_opened", "asset_presented")  # fmt: skip
    while sent < count:
        size = min(BATCH, count - sent)
        events = []
        for index in range(sent, sent + size):
            event = {
                "idempotency_key": f"bench-{number}-{index}",
                "kind": rng.choice(kinds),
                "asset_id": rng.choice(asset_ids),
                "occurred_at": (now - timedelta(days=rng.uniform(0, 365))).isoformat(),
            }
            if rng.random() < 0.6:
                event["deal_id"] = f"BENCH-{rng.randrange(deals):06d}"
            events.append(event)
        body = json.dumps({"events": events})
        first_body = first_body or body
        failures += _send(port, body, headers, size)
        sent += size
    elapsed = time.monotonic() - started
    duplicate = json.loads(_post(port, first_body, headers)[1])
    return {
        "sent": sent,
        "failures": failures,
        "seconds": elapsed,
        "resent_stored": duplicate["stored"],
    }


def _post(port: int, body: str, headers: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", "/api/v1/events", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _send(port: int, body: str, headers: dict, size: int) -> int:
    """Post one batch, retrying transport errors; returns 1 when it never got stored."""
    for _ in range(5):
        try:
            status, content = _post(port, body, headers)
        except OSError:
            time.sleep(0.5)
            continue
        if status == 200 and not json.loads(content)["errors"]:
            return 0
        time.sleep(0.5)
    return 1


def _ingest(options: dict, asset_ids: list[int]) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, connections

    from analytics.models import UsageEvent
    from analytics.services import api_key_create

    if options["wal"] and connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
    from analytics.models import ApiKey

    # An event collector: an integration key (events on every rep's deal) of a user who
    # sees every asset.
    user = get_user_model().objects.create_user("bench-collector", is_superuser=True)
    key = api_key_create(user=user, name="bench", scope=ApiKey.Scope.INTEGRATION)[1]
    connections.close_all()
    server, port = _start_server(options["workers"])
    clients = options["clients"]
    share = options["events"] // clients
    jobs = [(n, share, port, key, asset_ids, options["deals"], 1000 + n) for n in range(clients)]
    try:
        started = time.monotonic()
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            results = pool.map(_client, jobs)
        wall = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    sent = sum(r["sent"] for r in results)
    stored = UsageEvent.objects.count()
    return {
        "clients": clients,
        "server_workers": options["workers"],
        "batch_size": BATCH,
        "events_sent": sent,
        "events_stored": stored,
        "lost": sent - stored,
        "failed_batches": sum(r["failures"] for r in results),
        "resent_batches_stored_again": sum(r["resent_stored"] for r in results),
        "seconds": round(wall, 1),
        "events_per_second": round(sent / wall),
    }


# --- Queries ----------------------------------------------------------------------------------

HAND_SQL = """
SELECT t.asset_id, t.first_touch_stage_order, d.reached_stage_order, d.outcome,
       COUNT(t.id), SUM(d.amount),
       SUM(t.credit_first), SUM(t.credit_last), SUM(t.credit_linear),
       SUM(t.credit_u_shaped), SUM(t.credit_time_decay)
FROM analytics_dealassettouch t
JOIN analytics_deal d ON d.id = t.deal_id
WHERE d.outcome IN ('won', 'lost') AND UPPER(d.segment) = UPPER(%s)
GROUP BY t.asset_id, t.first_touch_stage_order, d.reached_stage_order, d.outcome
"""


def _median_seconds(function, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _queries() -> dict:
    """The asset table's effectiveness query, with a segment filter so that it is computed
    from the deal x asset rollup rather than read back: the ORM queryset against the same
    aggregate written by hand, and the whole per-asset computation end to end."""
    from django.db import connection

    from analytics import selectors

    segment = SEGMENTS[0]
    scope = selectors.closed_deals_filter(segment=segment, prefix="deal__")

    def orm():
        return list(selectors.touch_groups(scope))

    def hand():
        with connection.cursor() as cursor:
            cursor.execute(HAND_SQL, [segment])
            return cursor.fetchall()

    def end_to_end():
        return selectors.asset_effectiveness(segment=segment)

    orm_rows, hand_rows = orm(), hand()
    same = sorted((r["asset_id"], r["n"]) for r in orm_rows) == sorted(
        (r[0], r[4]) for r in hand_rows
    )
    orm_s, hand_s = _median_seconds(orm), _median_seconds(hand)
    full_s = _median_seconds(end_to_end)
    table_s = _median_seconds(lambda: selectors.asset_table(window="365d"))
    return {
        "assets": len(end_to_end()),
        "groups": len(hand_rows),
        "same_rows": same,
        "orm_query_seconds": round(orm_s, 4),
        "hand_sql_seconds": round(hand_s, 4),
        "orm_vs_hand_ratio": round(orm_s / hand_s, 2),
        "end_to_end_seconds": round(full_s, 4),
        "end_to_end_vs_hand_ratio": round(full_s / hand_s, 2),
        "rollup_asset_table_seconds": round(table_s, 4),
    }


def main(argv: list[str]) -> None:
    options = _options(argv)
    total_started = time.monotonic()
    scratch = _setup_django()
    from django.db import connection

    from analytics.rollups import update_analytics

    rng = random.Random(42)
    _log(f"options {options}; database {connection.vendor}")
    started = time.monotonic()
    asset_ids = _make_assets(options["assets"])
    _make_deals(options["deals"], rng)
    setup_s = time.monotonic() - started
    _log(f"{options['assets']} assets and {options['deals']} deals in {setup_s:.0f} s")
    ingestion = _ingest(options, asset_ids)
    _log(f"ingestion: {ingestion}")
    started = time.monotonic()
    counts = update_analytics()
    update_s = time.monotonic() - started
    _log(f"update_analytics: {update_s:.1f} s {counts}")
    started = time.monotonic()
    update_analytics()
    second_s = time.monotonic() - started
    queries = _queries()
    _log(f"queries: {queries}")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": connection.vendor,
        "cpus": os.cpu_count(),
        "options": options,
        "setup_seconds": round(setup_s, 1),
        "ingestion": ingestion,
        "update_analytics_seconds": round(update_s, 1),
        "update_analytics_second_run_seconds": round(second_s, 1),
        "rollup_rows": counts,
        "asset_table_query": queries,
        "total_seconds": round(time.monotonic() - total_started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    _log(f"wrote {RESULTS.relative_to(ROOT)} in {result['total_seconds']} s total")
    if scratch:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(scratch, ignore_errors=True)
