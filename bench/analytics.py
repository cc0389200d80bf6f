"""Analytics benchmark: 100k deals and 1M events, on SQLite or PostgreSQL.

Measures, in one run on a scratch database:
- a full rebuild of every rollup from all events (``update_analytics --full``), and the same
  rebuild again when nothing changed (it only compares);
- an incremental refresh after 10k new events of the last day (target under 1 s; the median of
  five, each after its own new events), and after
  10k events plus 100 deals closing (which recomputes the effectiveness estimates);
- ingestion through POST /api/v1/events by concurrent client processes against gunicorn, once
  alone and once while a full rebuild runs (target at least 10k events/s, none lost, none
  refused; p50/p99 latency per batch);
- the asset table and the heat map: computing them (compact rows -> estimator) against one
  hand-written SQL query that builds the same matched comparison sets and Mantel-Haenszel sums
  for the same strata (checked equal), and serving them from the rollups.

Usage: python -m bench analytics [--deals=N] [--events=N] [--clients=N] [--workers=N]
       [--ingest=N]
Writes bench/results/analytics-<database>.json. Uses a temporary SQLite database unless
DATABASE_URL names a scratch PostgreSQL database (its tables are emptied first: never point it
at real data).
"""

from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULTS = {
    "deals": 100_000,
    "events": 1_000_000,
    "clients": 4,
    # One sync worker per core: measured here (2 cores), a third worker made SQLite writers
    # queue on the write lock: p99 per batch 268 ms instead of 96, and no more events per second.
    "workers": os.cpu_count() or 2,
    "assets": 200,
    "reps": 200,
    "ingest": 200_000,
    "new": 10_000,
}
BATCH = 500
REFRESH_ROUNDS = 5  # refreshes after new events, each after its own new events: the median
SEGMENTS = ("Enterprise", "SMB")
TOUCH_KINDS = ("used_in_deal", "asset_shared", "asset_presented", "buyer_opened")
KINDS = (*TOUCH_KINDS, "asset_viewed", "asset_downloaded")


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
        Path(scratch, "static").mkdir()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _empty()
    return scratch


def _empty() -> None:
    """A scratch PostgreSQL database starts from no deals, events or rollups, and without the
    assets of earlier runs (left there, they made each run's library larger than the last)."""
    from django.contrib.auth import get_user_model

    from analytics import models
    from cms.models import AssetPage

    for model in (
        models.UsageEvent,
        models.DealAssetTouch,
        models.DealStageChange,
        models.DealChanged,
        models.Deal,
        models.UsageDaily,
        models.AssetReach,
        models.AssetUsage,
        models.UsageChange,
        models.AssetStats,
        models.RollupSnapshot,
        models.FillState,
        models.RefreshState,
        models.JobLock,
    ):
        model.objects.all().delete()
    AssetPage.objects.filter(title__startswith="Bench asset ").delete()
    get_user_model().objects.filter(username="bench-collector").delete()


def _log(message: str) -> None:
    print(f"[analytics bench] {message}", flush=True)


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, round(time.perf_counter() - started, 3)


# --- Data -------------------------------------------------------------------------------------


def _make_assets(count: int) -> list[int]:
    from cms.models import AssetPage, AssetType, BuyerStage, Pillar
    from cms.services import library_root_ensure

    library = library_root_ensure()
    stages, pillars = (
        list(BuyerStage.objects.order_by("sort_order"))[:3],
        list(Pillar.objects.all()),
    )
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


def _make_deals(options: dict, rng: random.Random) -> list[tuple[int, float, float]]:
    """Deals walking Discover -> Evaluate -> Decide with stays of 5-30 days, a tenth still open;
    returns (deal id, start, end) in days since the epoch for the event generator."""
    from analytics.models import Deal, DealStageChange
    from analytics.rollups.population import pipeline_stages
    from cms.models import BuyerStage

    pipeline = pipeline_stages()
    won_stage = BuyerStage.objects.get(slug="onboard")
    now = datetime.now(UTC)
    lives = []
    for start in range(0, options["deals"], 5000):
        deals, paths = [], []
        for number in range(start, min(options["deals"], start + 5000)):
            begin = now - timedelta(days=rng.uniform(20, 420))
            moment, path = begin, []
            for index, stage in enumerate(pipeline):
                path.append((stage.crm_stages()[0], stage, moment))
                moment += timedelta(days=rng.uniform(5, 30))
                if index < len(pipeline) - 1 and rng.random() > 0.6:
                    break
            reached = path[-1][1]
            closed = moment < now and rng.random() > 0.1
            won = closed and reached == pipeline[-1] and rng.random() < 0.45
            if closed:
                path.append(
                    ("Closed Won" if won else "Closed Lost", won_stage if won else None, moment)
                )
            deals.append(
                Deal(
                    external_id=f"BENCH-{number:06d}",
                    name=f"Deal {number}",
                    amount=rng.randrange(10, 2000) * 100,
                    currency="USD",
                    stage=path[-1][0],
                    journey_stage=reached,
                    outcome=("won" if won else "lost") if closed else "open",
                    close_date=moment.date() if closed else (now + timedelta(days=30)).date(),
                    segment=rng.choice(SEGMENTS),
                    industry="Software",
                    owner_name=f"rep {rng.randrange(options['reps'])}",
                    reached_stage_order=3 if won else reached.sort_order,
                )
            )
            paths.append(path)
            lives.append((begin.timestamp() / 86400, min(moment, now).timestamp() / 86400))
        Deal.objects.bulk_create(deals, batch_size=2000)
        DealStageChange.objects.bulk_create(
            [
                DealStageChange(deal=deal, stage=crm, journey_stage=journey, entered_at=at)
                for deal, path in zip(deals, paths, strict=True)
                for crm, journey, at in path
            ],
            batch_size=5000,
        )
    ids = list(Deal.objects.order_by("pk").values_list("pk", flat=True))
    return [(deal_id, a, b) for deal_id, (a, b) in zip(ids, lives, strict=True)]


def _make_events(options, rng, asset_ids, lives) -> None:
    """Events at a steady rate over each deal's open life (touches and views alike), a third
    without a deal; assets drawn by popularity (a few used a lot). Written by plain INSERTs."""
    from django.db import connection

    from analytics.models import UsageEvent

    weights = [1 / (rank + 1) for rank in range(len(asset_ids))]
    total_life = sum(b - a for _, a, b in lives)
    with_deal = int(options["events"] * 2 / 3)
    rate = with_deal / total_life
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    # The seed is a sender of its own: its keys are no collector's.
    columns = "sender idempotency_key kind asset_id deal_id crm_stage source metadata occurred_at"
    columns = [*columns.split(), "received_at"]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(datetime.now(UTC))
    rows, number = [], 0

    def flush():
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        rows.clear()

    def add(deal_id, when):
        nonlocal number
        number += 1
        asset = rng.choices(asset_ids, weights=weights)[0]
        moment = datetime.fromtimestamp(when * 86400, UTC)
        kind = rng.choice(KINDS)
        rows.append(
            ("bench", f"seed-{number}", kind, asset, deal_id, "", "api", "{}", adapt(moment), now)
        )
        if len(rows) >= 20000:
            flush()

    for deal_id, start, end in lives:
        when = start + rng.expovariate(rate)
        while when < end:
            add(deal_id, when)
            when += rng.expovariate(rate)
    horizon = datetime.now(UTC).timestamp() / 86400
    while number < options["events"]:
        add(None, horizon - rng.uniform(0, 400))
    flush()


def _new_events(count: int, rng: random.Random, asset_ids, deal_ids, tag: str) -> None:
    """``count`` events of the last day, as a collector would send them next (through the
    service the API calls): 60% on the given deals (open ones: reps work on open deals),
    the rest on no deal."""
    from analytics.models import ApiKey
    from analytics.usage import EventInput, usage_record_batch

    key = ApiKey.objects.select_related("user").get(user__username="bench-collector")
    external = dict(
        __import__("analytics.models", fromlist=["Deal"])
        .Deal.objects.filter(pk__in=deal_ids)
        .values_list("pk", "external_id")
    )
    now = datetime.now(UTC)
    for start in range(0, count, 1000):
        batch = [
            EventInput(
                idempotency_key=f"{tag}-{n}",
                kind=rng.choice(KINDS),
                asset_id=rng.choice(asset_ids),
                deal_external_id=external[rng.choice(deal_ids)] if rng.random() < 0.6 else "",
                occurred_at=now - timedelta(hours=rng.uniform(0, 24)),
            )
            for n in range(start, min(count, start + 1000))
        ]
        result = usage_record_batch(events=batch, user=key.user, api_key=key)
        assert not result.errors, result.errors[:3]


def _close_deals(count: int, rng: random.Random) -> None:
    """``count`` open deals close through the CRM webhook's service."""
    from analytics.models import Deal
    from analytics.services import deal_stage_change

    open_deals = list(Deal.objects.filter(outcome="open").order_by("pk")[: count * 3])
    for deal in rng.sample(open_deals, min(count, len(open_deals))):
        deal_stage_change(
            deal=deal,
            stage=rng.choice(["Closed Won", "Closed Lost"]),
            entered_at=datetime.now(UTC) - timedelta(minutes=5),
        )


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


def _bodies(number: int, count: int, asset_ids, deal_count: int, seed: int, tag: str):
    """The client's batches, built before the clock starts."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    bodies = []
    for start in range(0, count, BATCH):
        events = []
        for index in range(start, min(count, start + BATCH)):
            event = {
                "idempotency_key": f"{tag}-{number}-{index}",
                "kind": rng.choice(KINDS),
                "asset_id": rng.choice(asset_ids),
                "occurred_at": (now - timedelta(hours=rng.uniform(0, 48))).isoformat(),
            }
            if rng.random() < 0.6:
                event["deal_id"] = f"BENCH-{rng.randrange(deal_count):06d}"
            events.append(event)
        bodies.append((len(events), json.dumps({"events": events})))
    return bodies


def _client(args) -> dict:
    """One client process: post its batches one after the other; then resend the first."""
    number, count, port, key, asset_ids, deals, seed, tag = args
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = _bodies(number, count, asset_ids, deals, seed, tag)
    latencies, refused, failed, sent = [], 0, 0, 0
    started = time.monotonic()
    for size, body in bodies:
        began = time.monotonic()
        status = _send(port, body, headers)
        latencies.append(time.monotonic() - began)
        if status is None:
            failed += 1
        elif status != 200:
            refused += 1
        sent += size
    elapsed = time.monotonic() - started
    duplicate = json.loads(_post(port, bodies[0][1], headers)[1])
    return {
        "sent": sent,
        "refused_batches": refused,
        "failed_batches": failed,
        "seconds": elapsed,
        "started": started,
        "latencies": latencies,
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


def _send(port: int, body: str, headers: dict) -> int | None:
    """Post one batch; a transport error is retried (the same keys: stored once); returns the
    status, or None when it never got through."""
    for _ in range(5):
        try:
            return _post(port, body, headers)[0]
        except OSError:
            time.sleep(0.5)
    return None


def _ingest(options: dict, asset_ids: list[int], key: str, tag: str, during=None) -> dict:
    """Clients post ``options["ingest"]`` events; ``during`` (a function) runs meanwhile in
    this process, started with the clients."""
    from django.db import connections

    from analytics.models import UsageEvent

    connections.close_all()
    server, port = _start_server(options["workers"])
    _warm_up(port, key, asset_ids, options["workers"])
    before = UsageEvent.objects.count()
    connections.close_all()
    clients = options["clients"]
    share = options["ingest"] // clients
    jobs = [
        (n, share, port, key, asset_ids, options["deals"], 1000 + n, tag) for n in range(clients)
    ]
    side: dict = {}
    done = threading.Event()
    checkpoints = threading.Thread(target=_checkpoint_every_tick, args=(done,))
    checkpoints.start()
    try:
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            pending = pool.map_async(_client, jobs)
            time.sleep(3)  # clients build their batches first
            if during is not None:
                thread = threading.Thread(target=_run_during, args=(during, side))
                thread.start()
            results = pending.get()
            if during is not None:
                thread.join()
    finally:
        done.set()
        checkpoints.join()
        server.terminate()
        server.wait(timeout=30)
    connections.close_all()
    sent = sum(r["sent"] for r in results)
    stored = UsageEvent.objects.count() - before
    wall = max(r["started"] + r["seconds"] for r in results) - min(r["started"] for r in results)
    latencies = sorted(value for r in results for value in r["latencies"])
    result = {
        "clients": clients,
        "server_workers": options["workers"],
        "batch_size": BATCH,
        "events_sent": sent,
        "events_stored": stored,
        "lost": sent - stored,
        "refused_batches": sum(r["refused_batches"] for r in results),
        "failed_batches": sum(r["failed_batches"] for r in results),
        "resent_batches_stored_again": sum(r["resent_stored"] for r in results),
        "seconds": round(wall, 1),
        "events_per_second": round(sent / wall),
        "batch_latency_p50_ms": round(1000 * statistics.median(latencies), 1),
        "batch_latency_p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
        "batch_latency_max_ms": round(1000 * latencies[-1], 1),
    }
    if side:
        result["refresh_during"] = side
    return result


def _warm_up(port: int, key: str, asset_ids, workers: int) -> None:
    """Each server worker loads the app on its first request: send a few before the clock."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for number in range(4 * workers):
        event = {"idempotency_key": f"warm-{port}-{number}", "kind": "asset_viewed"}
        event["asset_id"] = asset_ids[0]
        _send(port, json.dumps({"events": [event]}), headers)


def _checkpoint_every_tick(done: threading.Event) -> None:
    """What the analytics scheduler does besides queueing refreshes: checkpoint SQLite's
    write-ahead log every tick (web requests do not)."""
    from django.db import connection

    from analytics.management.commands.analytics_scheduler import TICK_SECONDS
    from analytics.refresh import database_checkpoint

    try:
        while not done.wait(TICK_SECONDS):
            database_checkpoint()
    finally:
        connection.close()


def _run_during(function, side: dict) -> None:
    from django.db import connection

    try:
        _, seconds = _timed(function)
        side["seconds"] = seconds
    except Exception as error:  # reported in the results
        side["error"] = repr(error)
    finally:
        connection.close()


# --- The asset table and heat map against hand-written SQL ------------------------------------

MATCHED_SQL = """
WITH deals AS (
    SELECT id, CASE WHEN outcome = 'won' THEN 1 ELSE 0 END AS won, segment,
           COALESCE(owner_name, '') AS owner, close_date
    FROM analytics_deal WHERE outcome IN ('won', 'lost') AND close_date >= %(since)s
),
history AS (
    SELECT c.deal_id, c.id, {days} AS t, s.sort_order AS stage,
           LAG(s.sort_order, 1, -1) OVER (PARTITION BY c.deal_id ORDER BY c.entered_at, c.id)
               AS previous
    FROM analytics_dealstagechange c
    JOIN deals d ON d.id = c.deal_id
    LEFT JOIN cms_buyerstage s ON s.id = c.journey_stage_id AND s.sort_order IN (0, 1, 2)
),
changes AS (
    SELECT deal_id, id, t, stage,
           LEAD(t) OVER (PARTITION BY deal_id ORDER BY t, id) AS next_t
    FROM history
    WHERE COALESCE(stage, -2) <> COALESCE(previous, -2)
),
stays AS (
    SELECT c.deal_id, c.stage, c.t AS entered,
           MAX(c.t, MIN(COALESCE(c.next_t, {close_days}), {close_days})) AS left_at,
           ROW_NUMBER() OVER (PARTITION BY c.deal_id, c.stage ORDER BY c.t, c.id) AS visit,
           d.won, d.segment, d.owner
    FROM changes c JOIN deals d ON d.id = c.deal_id
    WHERE c.stage IS NOT NULL
),
first_stays AS (SELECT * FROM stays WHERE visit = 1),
starts AS (SELECT deal_id, MIN(t) AS start FROM history GROUP BY deal_id),
touched AS (
    SELECT x.asset_id, x.deal_id, MAX({first_days}, s.start) AS t
    FROM analytics_dealassettouch x JOIN starts s ON s.deal_id = x.deal_id
),
treated AS (
    SELECT x.asset_id, f.deal_id, f.stage, f.segment, f.owner, f.won, x.t - f.entered AS day
    FROM touched x JOIN first_stays f ON f.deal_id = x.deal_id
    WHERE f.entered <= x.t AND x.t < f.left_at
),
matched AS (
    SELECT tr.asset_id, tr.stage, tr.segment, tr.won AS a,
           COUNT(f.deal_id) AS n0, COALESCE(SUM(f.won), 0) AS c
    FROM treated tr
    LEFT JOIN first_stays f
      ON f.stage = tr.stage AND f.segment = tr.segment AND f.owner = tr.owner
     AND f.left_at - f.entered > tr.day
     AND NOT EXISTS (
         SELECT 1 FROM analytics_dealassettouch o
         WHERE o.deal_id = f.deal_id AND o.asset_id = tr.asset_id
           AND {other_first_days} <= f.entered + tr.day
     )
    GROUP BY tr.asset_id, tr.deal_id, tr.stage, tr.segment, tr.won
)
SELECT asset_id, stage, segment, COUNT(*) AS treated,
       SUM((a * n0 - c) * 1.0 / (n0 + 1)) AS numerator,
       SUM(n0 * 1.0 / (n0 + 1)) AS weight,
       SUM((c - n0 * n0 * a + n0 * (n0 - 1) / 2.0) / ((n0 + 1.0) * (n0 + 1.0))) AS p_sum,
       SUM((a * (n0 - c) + c * (1 - a)) / (2.0 * (n0 + 1))) AS q_sum
FROM matched WHERE n0 > 0
GROUP BY asset_id, stage, segment
"""


def _matched_sql(since) -> str:
    """MATCHED_SQL in the running database's dialect (days since the epoch, two-argument
    minimum and maximum)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        days = "(julianday(c.entered_at) - 2440587.5)"
        close = "(julianday(d.close_date) - 2440587.5 + 1)"
        first = "(julianday(x.first_touch_at) - 2440587.5)"
        other = "(julianday(o.first_touch_at) - 2440587.5)"
        sql = MATCHED_SQL
    else:
        days = "(EXTRACT(EPOCH FROM c.entered_at) / 86400.0)"
        close = "((d.close_date - DATE '1970-01-01') + 1)"
        first = "(EXTRACT(EPOCH FROM x.first_touch_at) / 86400.0)"
        other = "(EXTRACT(EPOCH FROM o.first_touch_at) / 86400.0)"
        sql = MATCHED_SQL.replace("MAX(c.t, MIN(", "GREATEST(c.t, LEAST(").replace(
            "MAX({first_days}, s.start)", "GREATEST({first_days}, s.start)"
        )
    # A comparison deal touched by day u of its stay: its effective touch max(first touch,
    # first history time) <= entered + u; the first history time never exceeds entered, so
    # that is first touch <= entered + u, which the (deal, asset) index answers.
    return sql.format(days=days, close_days=close, first_days=first, other_first_days=other)


def _hand_sql(since) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_matched_sql(since), {"since": since or "1900-01-01"})
        return {
            (asset, stage, segment): (treated, numerator, weight, p_sum, q_sum)
            for asset, stage, segment, treated, numerator, weight, p_sum, q_sum in cursor.fetchall()
        }


def _ours(window: str) -> tuple[dict, dict]:
    """What the rollups compute for one window: the asset table's estimates and the heat map,
    from the compact rows."""
    from django.utils import timezone

    from analytics import effectiveness
    from analytics.rollups import effects, population
    from analytics.scope import window_start
    from cms.models import BuyerStage, Pillar

    inputs = population.load()
    deal_ids = effects.view_deals(inputs, window_start(window, timezone.now().date()))
    prepared = effectiveness.population_prepare(inputs.records(deal_ids), stages=inputs.stages)
    rows, _ = effects.asset_view(inputs, deal_ids, prepared, [])
    heat = effects.heatmap_view(
        inputs,
        prepared,
        list(BuyerStage.objects.order_by("sort_order")),
        list(Pillar.objects.order_by("sort_order")),
        effects._asset_tags(),
    )
    return rows, heat


def _cells(window: str) -> dict:
    """Per (asset, stage, segment): the estimator's own Mantel-Haenszel sums, for checking the
    SQL (the same tables: one treated deal each, its comparison deals)."""
    from django.utils import timezone

    from analytics import effectiveness
    from analytics.rollups import effects, population
    from analytics.scope import window_start

    inputs = population.load()
    deal_ids = effects.view_deals(inputs, window_start(window, timezone.now().date()))
    prepared = effectiveness.population_prepare(inputs.records(deal_ids), stages=inputs.stages)
    cells = {}
    for asset_id, touched in inputs.first_touches().items():
        tables = effectiveness.asset_tables(prepared, touched)
        for (stage, segment), rows in tables.tables.items():
            usable = [(won, c, n0) for _, _, won, c, n0 in rows if n0]
            if usable:
                cells[(asset_id, stage, segment)] = (
                    len(usable),
                    sum((a * n0 - c) / (n0 + 1) for a, c, n0 in usable),
                    sum(n0 / (n0 + 1) for _, _, n0 in usable),
                )
    return cells


def _same(ours: dict, sql: dict) -> bool:
    if set(ours) != set(sql):
        return False
    return all(
        ours[k][0] == sql[k][0]
        and math.isclose(ours[k][1], sql[k][1], rel_tol=1e-9, abs_tol=1e-9)
        and math.isclose(ours[k][2], sql[k][2], rel_tol=1e-9, abs_tol=1e-9)
        for k in ours
    )


def _table_and_heatmap(window: str = "365d") -> dict:
    from django.utils import timezone

    from analytics import scope, selectors

    since = scope.window_start(window, timezone.now().date())
    (rows, heat), ours_s = _timed(_ours, window)
    sql, sql_s = _timed(_hand_sql, since)
    same = _same(_cells(window), sql)
    serve_table = _median(lambda: selectors.asset_table(window=window))
    serve_heat = _median(lambda: selectors.heatmap_grid(window))
    _, filtered_first = _timed(selectors.asset_table, window=window, segment=SEGMENTS[0])
    filtered_again = _median(lambda: selectors.asset_table(window=window, segment=SEGMENTS[0]))
    verdicts: dict[str, int] = {}
    for data in rows.values():
        verdicts[data["verdict"]] = verdicts.get(data["verdict"], 0) + 1
    return {
        "window": window,
        "assets": len(rows),
        "heatmap_cells": len(heat["cells"]),
        "verdicts": verdicts,
        "compute_table_and_heatmap_seconds": ours_s,
        "hand_sql_matched_sets_seconds": sql_s,
        "compute_vs_hand_sql_ratio": round(ours_s / sql_s, 2),
        "same_matched_sets": same,
        "serve_asset_table_seconds": serve_table,
        "serve_heatmap_seconds": serve_heat,
        "segment_view_first_request_seconds": filtered_first,
        "segment_view_stored_seconds": filtered_again,
    }


def _median(function, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        _, seconds = _timed(function)
        times.append(seconds)
    return round(statistics.median(times), 4)


# --- The run ------------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    options = _options(argv)
    total_started = time.monotonic()
    scratch = _setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from analytics.models import ApiKey, Deal, FillState
    from analytics.refresh import analytics_refresh
    from analytics.rollups.fill import rollups_fill
    from analytics.services import api_key_create

    rng = random.Random(42)
    vendor = connection.vendor
    _log(f"options {options}; database {vendor}")
    started = time.monotonic()
    asset_ids = _make_assets(options["assets"])
    lives = _make_deals(options, rng)
    _make_events(options, rng, asset_ids, lives)
    setup_s = round(time.monotonic() - started, 1)
    sizes = f"{options['assets']} assets, {options['deals']} deals, {options['events']} events"
    _log(f"{sizes} in {setup_s} s")
    user = get_user_model().objects.create_user("bench-collector", is_superuser=True)
    key = api_key_create(user=user, name="bench", scope=ApiKey.Scope.INTEGRATION)[1]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": vendor,
        "cpus": os.cpu_count(),
        "options": options,
        "setup_seconds": setup_s,
    }
    counts, result["full_rebuild_seconds"] = _timed(rollups_fill, full=True)
    result["rollup_rows"] = counts
    _log(f"full rebuild: {result['full_rebuild_seconds']} s {counts}")
    _, result["full_rebuild_again_seconds"] = _timed(rollups_fill, full=True)
    _, result["refresh_nothing_new_seconds"] = _timed(analytics_refresh)
    deal_ids = list(Deal.objects.filter(outcome="open").values_list("pk", flat=True))
    runs = []
    for round_ in range(REFRESH_ROUNDS):  # one sample is at the mercy of a noisy machine
        _new_events(options["new"], rng, asset_ids, deal_ids, f"new{round_}")
        steps: list[str] = []  # what the refresh logs: each rollup's rows and seconds
        counts, seconds = _timed(analytics_refresh, log=steps.append)
        runs.append(seconds)
        _log(f"refresh after {options['new']} new events: {seconds} s {steps}")
    result["refresh_after_10k_events_seconds"] = statistics.median(runs)
    result["refresh_after_10k_events_runs"] = runs
    result["refresh_after_10k_events_rows"] = counts
    result["refresh_after_10k_events_log"] = steps
    _new_events(options["new"], rng, asset_ids, deal_ids, "new2")
    _close_deals(100, rng)
    _, result["refresh_after_10k_events_and_100_closes_seconds"] = _timed(analytics_refresh)
    _log(
        f"... and 100 deals closing: {result['refresh_after_10k_events_and_100_closes_seconds']} s"
    )
    result["asset_table_and_heatmap"] = _table_and_heatmap("365d")
    _log(f"asset table and heat map: {result['asset_table_and_heatmap']}")
    result["ingestion_alone"] = _ingest(options, asset_ids, key, "alone")
    _log(f"ingestion alone: {result['ingestion_alone']}")

    def rebuild_from_nothing():
        FillState.objects.all().delete()
        rollups_fill(full=True)

    result["ingestion_during_full_rebuild"] = _ingest(
        options, asset_ids, key, "during", during=rebuild_from_nothing
    )
    _log(f"ingestion during a full rebuild: {result['ingestion_during_full_rebuild']}")
    result["deals"] = Deal.objects.count()
    result["total_seconds"] = round(time.monotonic() - total_started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"analytics-{vendor}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    _log(f"wrote {target.relative_to(ROOT)} in {result['total_seconds']} s total")
    if scratch:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(scratch, ignore_errors=True)
