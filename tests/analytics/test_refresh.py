"""The refresh: one entry point, queued by the button and imports (which return at once), run
by a worker, enqueued by the scheduler on its own; the page says "refreshing…" and the time
the numbers are from."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics import selectors
from analytics.models import DealAssetTouch, JobLock, RefreshState
from analytics.refresh import QUEUE_PATIENCE, scheduler_tick
from tests.analytics.helpers import refresh, send_events, walk_deal
from tests.factories import make_asset, make_user
from tests.locks import short_busy_timeout, table_held_busy
from tests.search.conftest import active_engine, embedded_engine, run_search  # noqa: F401

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _lead_client():
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


def _usage(client, asset) -> dict:
    body = client.get("/api/v1/analytics/assets?window=all").json()
    return next(row for row in body["assets"] if row["asset_id"] == asset.pk)


def _queued() -> int:
    """Refresh tasks waiting for a worker (publishing assets queues search tasks too)."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(status="READY")
    return waiting.filter(task_path__endswith="refresh_analytics_task").count()


def _run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_update_now_queues_the_refresh_returns_at_once_and_the_worker_runs_it(settings):
    settings.TASKS = DATABASE_TASKS
    asset = make_asset("Deck")
    send_events(("v1", "asset_viewed", asset, "", date(2024, 5, 1)))
    client = _lead_client()
    response = client.post("/analytics/refresh/")
    assert response.status_code == 302
    assert _queued() == 1  # queued, not run: the request did not wait for it
    page = client.get("/analytics/").content.decode()
    assert "refreshing…" in page and "Numbers not computed yet" in page
    assert _usage(client, asset)["views"] == 0
    _run_worker()
    page = client.get("/analytics/").content.decode()
    assert "refreshing…" not in page
    as_of = RefreshState.objects.get().data_as_of
    assert f"Numbers as of {timezone.localtime(as_of):%-d %b %Y %H:%M:%S}" in page
    assert _usage(client, asset)["views"] == 1
    assert client.get("/api/v1/analytics/assets").json()["refreshing"] is False


@pytest.mark.django_db(transaction=True)
def test_a_deal_import_queues_the_refresh_and_returns_at_once(settings):
    settings.TASKS = DATABASE_TASKS
    upload = io.BytesIO(b"Opportunity ID,Stage,Close Date\nQ1,Closed Won,2024-04-30\n")
    upload.name = "deals.csv"
    client = _lead_client()
    posted = client.post(
        "/analytics/import/", {"file": upload, "kind": "deals", "date_order": "auto"}
    )
    assert posted.status_code == 302  # the import itself waits for the worker
    assert "Waiting to start" in client.get(posted.url).content.decode()
    assert not selectors.snapshot("overview", "all")
    _run_worker()  # the import, then the refresh it asked for
    _run_worker()
    assert "1 created" in client.get(posted.url).content.decode()
    assert selectors.snapshot("overview", "all")["closed_deals"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_queues_one_refresh_at_a_time_and_again_when_one_got_lost(settings):
    settings.TASKS = DATABASE_TASKS
    now = timezone.now()
    assert scheduler_tick(now=now) is True and _queued() == 1
    assert scheduler_tick(now=now + timedelta(seconds=60)) is False  # still waiting
    assert _queued() == 1
    later = now + QUEUE_PATIENCE + timedelta(seconds=1)  # the worker died: queue it again
    assert scheduler_tick(now=later) is True and _queued() == 2
    _run_worker()
    out = io.StringIO()
    call_command("analytics_scheduler", "--once", stdout=out)  # just ran: nothing due
    assert out.getvalue().strip() == "no refresh due"


@pytest.mark.django_db
def test_the_scheduler_refreshes_new_events_within_its_interval_with_no_command(settings):
    """Immediate tasks: a tick that finds a refresh due runs it. Time is advanced by ticking
    with a later ``now``."""
    settings.ANALYTICS_REFRESH_SECONDS = 30
    asset = make_asset("Deck")
    client = _lead_client()
    start = timezone.now()
    assert scheduler_tick(now=start) is True  # the first refresh
    send_events(("s1", "asset_viewed", asset, "", date(2024, 5, 1)))
    assert scheduler_tick(now=start + timedelta(seconds=10)) is False
    assert _usage(client, asset)["views"] == 0
    assert scheduler_tick(now=start + timedelta(seconds=31)) is True
    assert _usage(client, asset)["views"] == 1


@pytest.mark.django_db
def test_a_published_asset_is_listed_at_once_and_joins_the_heat_map_at_the_next_refresh():
    make_asset("Old deck")
    refresh()
    fresh = make_asset("New deck", stages=("decide",), pillars=("why-buy-now",))
    client = _lead_client()
    row = _usage(client, fresh)
    assert (row["verdict"], row["views"], row["deals_used"]) == ("not enough data", 0, 0)
    health = selectors.content_health()
    assert fresh.title in [a["title"] for a in health["not_used_yet"]]
    assert fresh.title not in [a["title"] for a in health["unused"]]
    counts = refresh()
    assert counts["heatmap"] > 0 and counts["asset_effects"] == 0  # only what depends on it
    heat = selectors.heatmap_grid("all")
    decide = next(r for r in heat["rows"] if r["stage"]["name"] == "Decide")
    assert [cell["assets"] for cell in decide["cells"]] == [0, 0, 1]


@pytest.mark.django_db
def test_a_refresh_with_nothing_new_writes_nothing():
    asset = make_asset("Deck")
    walk_deal("N1", ["discover", "won"])
    send_events(("n1", "used_in_deal", asset, "N1", date(2024, 5, 5)))
    refresh()
    counts = refresh()
    assert {name: n for name, n in counts.items() if n} == {}
    assert DealAssetTouch.objects.count() == 1
    # A full rebuild recomputes everything and writes (and reports) only what differs.
    counts = refresh(full=True)
    assert {name: n for name, n in counts.items() if n} == {}


@pytest.mark.django_db
def test_update_analytics_command_fills_incrementally_or_rebuilds_with_full():
    asset = make_asset("Deck")
    send_events(("u1", "asset_viewed", asset, "", date(2024, 5, 1)))
    out = io.StringIO()
    call_command("update_analytics", stdout=out)
    assert "usage_daily: 1 rows" in out.getvalue() and "Analytics updated" in out.getvalue()
    out = io.StringIO()
    call_command("update_analytics", "--full", stdout=out)
    assert "usage_daily: 0 rows" in out.getvalue()  # the rebuild found nothing to change


@pytest.mark.django_db
def test_a_failed_refresh_is_shown_and_the_old_numbers_stay(monkeypatch):
    from analytics.rollups import fill

    asset = make_asset("Deck")
    send_events(("f1", "asset_viewed", asset, "", date(2024, 5, 1)))
    refresh()
    as_of = RefreshState.objects.get().data_as_of

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fill, "_fill_derived", broken)
    with pytest.raises(RuntimeError):
        refresh()
    page = _lead_client().get("/analytics/").content.decode()
    assert "The last refresh failed: RuntimeError: disk full" in page
    assert RefreshState.objects.get().data_as_of == as_of
    assert _usage(_lead_client(), asset)["views"] == 1


@pytest.mark.django_db
def test_the_time_the_numbers_are_from_moves_as_soon_as_the_numbers_do(monkeypatch):
    """The API already showed the new numbers while ``updated_at`` still gave the previous
    refresh's time, for as long as search took the ranking signals."""
    from analytics import refresh as refreshing

    asset = make_asset("Deck")
    refresh()
    before = RefreshState.objects.get().data_as_of
    send_events(("t1", "asset_viewed", asset, "", date(2024, 5, 1)))
    seen = []

    def signals_taken(*, signals):
        seen.append((RefreshState.objects.get().data_as_of, _usage(_lead_client(), asset)))
        return 0

    monkeypatch.setattr(refreshing, "ranking_signals_replace", signals_taken)
    refresh()
    (as_of, row), after = seen[0], RefreshState.objects.get().data_as_of
    assert row["views"] == 1 and as_of == after and after > before


@pytest.mark.django_db
def test_api_says_when_the_numbers_are_from_and_which_view_the_verdicts_belong_to():
    make_asset("Deck")
    refresh()
    body = _lead_client().get("/api/v1/analytics/assets?window=all").json()
    assert body["updated_at"] and body["refreshing"] is False
    assert body["view"]["fdr"] == 0.1 and body["view"]["currency"] == "USD"
    assert body["view"]["strata"] == ["segment", "owner"]
    json.dumps(body)  # plain JSON all the way down


@pytest.mark.django_db(transaction=True)
def test_with_the_task_queue_down_update_now_still_answers_and_the_scheduler_catches_up(
    monkeypatch,
):
    from analytics import tasks

    class Down:
        def enqueue(self, *args, **kwargs):
            raise RuntimeError("the task queue is down")

    real = tasks.refresh_analytics_task
    monkeypatch.setattr(tasks, "refresh_analytics_task", Down())
    asset = make_asset("Deck")
    send_events(("q1", "asset_viewed", asset, "", date(2024, 5, 1)))
    client = _lead_client()
    assert client.post("/analytics/refresh/").status_code == 302
    assert "refreshing…" in client.get("/analytics/").content.decode()  # asked, not lost
    monkeypatch.setattr(tasks, "refresh_analytics_task", real)  # the queue is back
    assert scheduler_tick() is True  # asked for and never started: queued now
    assert _usage(client, asset)["views"] == 1
    assert "refreshing…" not in client.get("/analytics/").content.decode()


@pytest.mark.django_db
def test_refresh_status_says_when_the_numbers_are_from_to_those_who_see_them(client):
    from accounts.roles import MARKETER, REP

    make_asset("Deck")
    client.force_login(make_user(role=REP))
    assert client.get("/analytics/refresh/status/").status_code == 403
    client.logout()
    assert client.get("/analytics/refresh/status/")["Location"].startswith("/login/")
    client.force_login(make_user(role=MARKETER))  # the search gaps page shows the same line
    assert client.get("/analytics/refresh/status/").json() == {
        "data_as_of": None,
        "refreshing": False,
        "error": "",
        "stalled": None,
    }
    refresh()
    RefreshState.objects.update(requested_at=timezone.now())
    response = client.get("/analytics/refresh/status/")
    assert response.json()["refreshing"] is True and "no-cache" in response["Cache-Control"]
    refresh()
    body = client.get("/analytics/refresh/status/").json()
    as_of = RefreshState.objects.get().data_as_of
    assert body == {
        "data_as_of": as_of.isoformat(),
        "refreshing": False,
        "error": "",
        "stalled": None,
    }


@pytest.mark.django_db
def test_a_stopped_scheduler_or_worker_is_named_on_the_dashboard(settings):
    """With the scheduler stopped the numbers froze and nothing said so; with the worker
    stopped the page said "refreshing…" for ever (an outside audit of the stack)."""
    settings.ANALYTICS_REFRESH_SECONDS = 30
    refresh()
    client = _lead_client()
    assert 'id="refresh-stalled"' not in client.get("/analytics/").content.decode()
    started = RefreshState.objects.get().started_at
    RefreshState.objects.update(started_at=started - timedelta(minutes=6))
    page = client.get("/analytics/").content.decode()
    assert "No update has run since" in page and "manage.py analytics_scheduler" in page
    RefreshState.objects.update(started_at=started - timedelta(minutes=4))  # not yet
    assert selectors.refresh_status()["stalled"] is None
    queued = timezone.now() - timedelta(minutes=6)  # queued, never started
    RefreshState.objects.update(started_at=queued - timedelta(minutes=1), enqueued_at=queued)
    page = client.get("/analytics/health/").content.decode()
    assert "has not started" in page and "manage.py db_worker" in page
    assert selectors.refresh_status()["stalled"][0] == "worker"


@pytest.mark.django_db
def test_a_stopped_scheduler_or_worker_is_named_in_the_json_status_too(settings):
    """Only the dashboard's HTML said so: a monitor reading the JSON saw fresh-looking numbers
    (an outside audit)."""
    settings.ANALYTICS_REFRESH_SECONDS = 30
    refresh()
    client = _lead_client()

    def stalled() -> tuple:
        status = client.get("/analytics/refresh/status/").json()["stalled"]
        api = client.get("/api/v1/analytics/assets").json()["stalled"]
        return status, api

    assert stalled() == (None, None)
    started = RefreshState.objects.get().started_at - timedelta(minutes=6)
    RefreshState.objects.update(started_at=started)
    status, api = stalled()
    assert status == {"process": "scheduler", "since": started.isoformat()}
    assert api["process"] == "scheduler"
    since = datetime.fromisoformat(api["since"].replace("Z", "+00:00"))
    assert abs(since - started) < timedelta(milliseconds=1)  # ninja's JSON keeps milliseconds
    queued = timezone.now() - timedelta(minutes=6)  # queued, never started
    RefreshState.objects.update(started_at=queued - timedelta(minutes=1), enqueued_at=queued)
    assert [answer["process"] for answer in stalled()] == ["worker", "worker"]


@pytest.mark.django_db
def test_update_now_comes_back_to_the_page_it_was_pressed_on():
    asset = make_asset("Deck")
    client = _lead_client()
    page = f"/analytics/assets/{asset.pk}/?window=365d"
    assert 'name="next"' in client.get(page).content.decode()
    assert client.post("/analytics/refresh/", {"next": page})["Location"] == page
    for elsewhere in ("https://evil.example/", "//evil.example/analytics/", "/admin/"):
        response = client.post("/analytics/refresh/", {"next": elsewhere})
        assert response["Location"] == "/analytics/"


@pytest.mark.django_db
def test_an_asset_used_in_a_won_deal_without_a_helps_verdict_ranks_level_with_its_twin(
    active_engine,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    """Search follows the dashboard's verdict, never a raw "used in won deals" (true of
    nearly every asset after a year of deals): two assets alike but for the outcome of the
    one deal each was used in score the same once analytics hands search its signals."""
    with django_capture_on_commit_callbacks(execute=True):  # published, so indexed
        won = make_asset("Acme pricing, first edition", summary="What Acme pays.")
        lost = make_asset("Acme pricing, second edition", summary="What Acme pays.")
    walk_deal("W1", ["discover", "won"])
    walk_deal("L1", ["discover", "lost"])
    send_events(
        ("w1", "used_in_deal", won, "W1", date(2024, 5, 10)),
        ("l1", "used_in_deal", lost, "L1", date(2024, 5, 10)),
    )
    refresh()
    assert selectors.asset_stats(won.pk, window="all")["won"] == 1  # a won deal, no verdict
    assert selectors.ranking_signals()[won.pk]["effective"] == 0.0

    found = run_search(make_user(role=REP), "acme pricing")
    scores = {hit.asset_id: hit.score for hit in found.hits}
    assert set(scores) == {won.pk, lost.pk}
    assert scores[won.pk] == pytest.approx(scores[lost.pk])


# --- A refresh and a busy database (outside audit 47, F11) ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_refresh_that_fails_on_a_busy_database_does_not_leave_its_lock_behind(monkeypatch):
    """Its release met the same busy database and failed too: every later refresh was
    locked out for two hours while the dashboard said "refreshing…"."""
    from analytics import locks
    from analytics.refresh import analytics_refresh
    from analytics.rollups import fill

    monkeypatch.setattr(locks, "BUSY_PAUSE", 0.1)
    taken = threading.Event()

    def hold():
        with table_held_busy(JobLock):
            taken.set()
            time.sleep(1.0)

    def settled_while_another_writer_holds_the_database(log=None):
        threading.Thread(target=hold).start()
        assert taken.wait(10)
        JobLock.objects.create(name="a write", acquired_at=timezone.now())  # gives up

    monkeypatch.setattr(fill, "events_settled", settled_while_another_writer_holds_the_database)
    with short_busy_timeout(0.3), pytest.raises(OperationalError):
        analytics_refresh()
    assert not JobLock.objects.exists()
    assert RefreshState.objects.get().error.startswith("OperationalError")
    monkeypatch.undo()
    analytics_refresh()  # the next one runs
    assert RefreshState.objects.get().error == ""


@pytest.mark.django_db
def test_a_refresh_holding_its_lock_too_long_shows_as_stalled_not_refreshing(settings):
    """A locked-out try noted itself as started: the running (or dead) one looked just begun,
    and the page said "refreshing…" until its lock went stale."""
    from analytics.refresh import analytics_refresh
    from analytics.rollups.fill import AnalyticsLocked

    settings.ANALYTICS_REFRESH_SECONDS = 30
    refresh()
    started = timezone.now() - timedelta(minutes=6)
    RefreshState.objects.update(started_at=started)
    JobLock.objects.create(name="update_analytics", acquired_at=started)

    with pytest.raises(AnalyticsLocked):
        analytics_refresh()

    assert RefreshState.objects.get().started_at == started
    assert selectors.refresh_status()["stalled"] == ("refresh", started)
    page = _lead_client().get("/analytics/").content.decode()
    assert "has not finished: it may have stopped midway" in page
