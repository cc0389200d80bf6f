"""Writers during rollups and a busy database: events are stored while update_analytics
runs; when the database is truly busy the API answers 503 with Retry-After (never a 500),
pages still load, and events the app records itself are kept and stored later. Runs on
SQLite (WAL, one writer at a time) and PostgreSQL (a table lock stands in for "busy")."""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db import IntegrityError, connection
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.models import EventKind, ShareLink, UsageEvent
from analytics.rollups import fill
from analytics.services import api_key_create
from analytics.usage import USAGE_SPOOL, share_link_create, usage_spool_replay
from cms.middleware import database_busy
from notifications.models import Notification
from tests.analytics.helpers import walk_deal
from tests.factories import make_asset, make_user
from tests.locks import short_busy_timeout, table_held_busy

ROOT = Path(__file__).resolve().parent.parent


def _events(key, *keys, asset):
    body = {
        "events": [
            {"idempotency_key": k, "kind": "asset_presented", "asset_id": asset.pk} for k in keys
        ]
    }
    return Client().post(
        "/api/v1/events",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def _sqlite_process(tmp_path, code: str, *, web: bool) -> list[str]:
    """Run ``code`` in a new process on a SQLite database under ``tmp_path``: the web
    server's (it loads enablement.wsgi first) or any other's (manage.py shell)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEARCH_URL"}}
    env.pop("SQLITE_WAL_AUTOCHECKPOINT", None)
    env.update({"DJANGO_SETTINGS_MODULE": "enablement.settings", "DATA_DIR": str(tmp_path)})
    command = (
        [sys.executable, "-c", "import enablement.wsgi\n" + code]
        if web
        else [sys.executable, "manage.py", "shell", "-c", code]
    )
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()


_FILL_LOG = (
    "from django.db import connection, transaction\n"
    "import os\n"
    "c = connection.cursor()\n"
    "c.execute('PRAGMA wal_autocheckpoint'); print('auto', c.fetchone()[0])\n"
    "c.execute('CREATE TABLE t (x TEXT)')\n"
    "for n in range({rows}):\n"
    "    with transaction.atomic():\n"
    "        c.execute('INSERT INTO t VALUES (%s)', ['x' * 4000])\n"
    "log = lambda: os.path.getsize(str(connection.settings_dict['NAME']) + '-wal')\n"
)


def test_sqlite_runs_in_wal_mode(tmp_path):
    code = (
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    assert _sqlite_process(tmp_path, code, web=False)[-1] == "wal"


def test_sqlite_web_server_leaves_checkpoints_to_the_scheduler_and_refresh(tmp_path):
    """A checkpoint runs inside the commit that crosses the threshold, and the web request
    that made it would wait: web connections never checkpoint, and ``database_checkpoint``
    (each scheduler tick, each refresh) copies everything the log holds into the database."""
    code = _FILL_LOG.format(rows=30) + (
        "from analytics.refresh import database_checkpoint\n"
        "size = lambda: os.path.getsize(connection.settings_dict['NAME'])\n"
        "before = size()\n"
        "database_checkpoint()\n"
        "print('copied', size() - before > 30 * 4000)\n"
    )
    lines = _sqlite_process(tmp_path, code, web=True)
    assert "auto 0" in lines and "copied True" in lines, lines


def test_sqlite_long_writes_outside_the_web_server_keep_the_log_small(tmp_path):
    """An import or a rebuild (any process but the web server) checkpoints as it goes:
    writing 40 MB leaves a log of a few MB, not 40 (reads slow down as the log grows)."""
    code = _FILL_LOG.format(rows=10_000) + "print('log MB', log() // 1_000_000)\n"
    lines = _sqlite_process(tmp_path, code, web=False)
    assert "auto 1000" in lines, lines
    megabytes = int(next(line for line in lines if line.startswith("log MB")).split()[-1])
    assert megabytes < 10, lines


@pytest.mark.django_db(transaction=True)
def test_events_api_stores_events_while_update_analytics_runs():
    asset = make_asset("Deck")
    key = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]
    _events(key, "before", asset=asset)
    inside = threading.Event()
    original = fill._fill_derived

    def slow_derived(*args, **kwargs):
        inside.set()
        time.sleep(3)  # a long refresh: longer than writers will wait
        return original(*args, **kwargs)

    failures = []

    def run_rollups():
        try:
            fill.rollups_fill(full=True)
        except Exception as error:  # reported below
            failures.append(repr(error))
        finally:
            connection.close()

    with short_busy_timeout(1), mock.patch.object(fill, "_fill_derived", slow_derived):
        worker = threading.Thread(target=run_rollups)
        worker.start()
        assert inside.wait(30)
        started = time.monotonic()
        response = _events(key, "during-1", "during-2", asset=asset)
        took = time.monotonic() - started
        worker.join()
    assert failures == []
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 2 and took < 2.5
    assert UsageEvent.objects.filter(idempotency_key__startswith="during").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_truly_busy_database_answers_503_with_retry_after():
    asset = make_asset("Deck")
    key = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]
    with short_busy_timeout(0.5), table_held_busy(UsageEvent):
        response = _events(key, "busy", asset=asset)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "busy" in response.json()["detail"]
    retried = _events(key, "busy", asset=asset)
    assert retried.status_code == 200 and retried.json()["stored"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_read_with_an_api_key_does_not_wait_on_a_busy_database_to_note_its_use():
    """Noting a key's last use waited out the busy timeout (20 s; 5 here) on every read
    with a key whose last use was a minute old or more."""
    from analytics.models import ApiKey

    key = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    with short_busy_timeout(5), table_held_busy(ApiKey):
        started = time.monotonic()
        response = reader.get("/api/v1/analytics/assets")
        took = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert took < 2.5, took
    assert ApiKey.objects.get().last_used_at is None  # noted by a later call
    assert reader.get("/api/v1/analytics/assets").status_code == 200
    assert ApiKey.objects.get().last_used_at is not None


def _view_while_busy():
    """A rep opens an asset page while the events table is locked: (asset, rep)."""
    asset = make_asset("Deck")
    rep = make_user(role=REP)
    client = Client()
    client.force_login(rep)
    with short_busy_timeout(0.5), table_held_busy(UsageEvent):
        assert client.get(asset.url).status_code == 200
        assert not UsageEvent.objects.filter(kind=EventKind.VIEWED).exists()  # spooled
    return asset, rep


@pytest.mark.django_db(transaction=True)
def test_pages_load_and_app_events_are_kept_while_the_database_is_busy():
    asset, rep = _view_while_busy()
    assert usage_spool_replay() == 1
    viewed = UsageEvent.objects.get(kind=EventKind.VIEWED)
    assert viewed.asset_id == asset.pk and viewed.user_id == rep.pk
    assert usage_spool_replay() == 0


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_spooled_event_is_set_aside_and_never_blocks_the_rest():
    asset, _ = _view_while_busy()
    (USAGE_SPOOL.directory / "0000-broken.json").write_text("{not json")
    assert usage_spool_replay() == 1
    assert UsageEvent.objects.filter(kind=EventKind.VIEWED, asset=asset).exists()
    assert (USAGE_SPOOL.directory / "0000-broken.bad").exists()


@pytest.mark.django_db(transaction=True)
def test_a_spooled_event_the_database_refuses_is_set_aside_and_never_blocks_the_rest():
    """A record with a value no column stores (here no kind; on PostgreSQL also a NUL in its
    deal id) once stopped the replay with an error, every time, for every event after it."""
    asset, rep = _view_while_busy()
    (spooled,) = USAGE_SPOOL.directory.glob("*.json")
    refused = {**json.loads(spooled.read_text()), "idempotency_key": "0000-refused"}
    refused["kind"] = None
    (USAGE_SPOOL.directory / "0000-refused.json").write_text(json.dumps(refused))
    real = UsageEvent.objects.bulk_create

    def refusing(events, **kwargs):  # as PostgreSQL refuses it; SQLite's OR IGNORE drops it
        if any(event.kind is None for event in events):
            raise IntegrityError('null value in column "kind" violates not-null constraint')
        return real(events, **kwargs)

    with mock.patch.object(UsageEvent.objects, "bulk_create", side_effect=refusing):
        assert usage_spool_replay() == 1
    assert UsageEvent.objects.filter(kind=EventKind.VIEWED, asset=asset, user=rep).exists()
    assert (USAGE_SPOOL.directory / "0000-refused.bad").exists()
    assert list(USAGE_SPOOL.directory.glob("*.json")) == []


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def _shared_link():
    rep = make_user(role=REP)
    deal = walk_deal("006BUSY", ["discover", "evaluate"], owner=rep.username)
    link, token = share_link_create(user=rep, asset=make_asset("Pricing"), deal=deal)
    return rep, link, token


def _buyer_opens_while_busy(token) -> int:
    """A buyer opens (and reloads) the link while share links are locked; returns how often
    the request met the busy database."""
    met = []

    def busy(error):
        met.append(database_busy(error))
        return met[-1]

    with (
        short_busy_timeout(0.5),
        table_held_busy(ShareLink),
        mock.patch("analytics.usage.database_busy", busy),
    ):
        assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 200
        assert Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/").status_code == 200
    return sum(met)


@pytest.mark.django_db(transaction=True)
def test_a_buyer_opening_a_link_while_the_database_is_busy_is_told_to_the_rep_later():
    """The open used to be recorded without its link's "last opened" or the rep's notice,
    and each request waited out the busy database twice."""
    rep, link, token = _shared_link()
    assert _buyer_opens_while_busy(token) == 2  # once per request
    assert not UsageEvent.objects.filter(kind=EventKind.BUYER_OPENED).exists()
    assert usage_spool_replay() == 1  # the reload is the same open
    opened = UsageEvent.objects.get(kind=EventKind.BUYER_OPENED)
    link.refresh_from_db()
    assert link.last_opened_at == opened.occurred_at
    told = Notification.objects.filter(user=rep, kind="share_opened")
    assert told.count() == 1 and "Your buyer opened “Pricing”" in told.get().text
    assert usage_spool_replay() == 0


@pytest.mark.django_db(transaction=True)
def test_an_open_stored_late_keeps_the_later_open_as_the_last_one():
    rep, link, token = _shared_link()
    _buyer_opens_while_busy(token)
    later = timezone.now() + timedelta(hours=2)
    with mock.patch("analytics.usage.timezone.now", return_value=later):
        Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/")  # back, and the database is free
    assert usage_spool_replay() == 0  # that open stored the spooled one: another visit
    link.refresh_from_db()
    assert link.last_opened_at == later
    assert UsageEvent.objects.filter(kind=EventKind.BUYER_OPENED).count() == 2
    assert Notification.objects.filter(user=rep, kind="share_opened").count() == 1
