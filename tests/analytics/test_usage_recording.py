"""Usage events a page records as a side effect (a rep's view or download, a buyer's open or
download) never hold the reader on a locked database: the insert gives up at once, the event
waits in the spool (or, on a disk error, in memory) and is stored exactly once after the lock
is gone, by the next response or the analytics refresh. Runs on SQLite and PostgreSQL."""

import errno
import time
from unittest import mock

import pytest
from django.test import Client

from accounts.roles import REP
from analytics import usage
from analytics.models import EventKind, UsageEvent
from analytics.refresh import analytics_refresh
from analytics.usage import USAGE_SPOOL, share_link_create, usage_spool_replay
from notifications.models import Notification
from tests.analytics.helpers import walk_deal
from tests.factories import make_asset, make_document, make_user
from tests.locks import short_busy_timeout, table_held_busy

pytestmark = pytest.mark.django_db(transaction=True)

BUSY_TIMEOUT = 5  # what a writer would wait; every request below must answer well before it
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def _spool_clear():
    directory = USAGE_SPOOL.directory
    for path in directory.glob("*") if directory.is_dir() else []:
        path.unlink()
    usage._unspooled.clear()
    usage.usage_events_pending.clear()


@pytest.fixture(autouse=True)
def _empty_spool():
    """The spool lives in the test session's DATA_DIR: start and leave it empty."""
    _spool_clear()
    yield
    _spool_clear()


@pytest.fixture
def shared():
    rep = make_user(role=REP)
    deal = walk_deal("006LOCK", ["discover", "evaluate"], owner=rep.username)
    asset = make_asset("Pricing one-pager", document=make_document("pricing.txt", b"price list"))
    link, token = share_link_create(user=rep, asset=asset, deal=deal)
    return rep, asset, link, token


def _timed_get(client: Client, url: str):
    """GET ``url`` (the whole body read, so the response is done, as a server finishes it)
    and return (response, seconds it took)."""
    started = time.monotonic()
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return response, time.monotonic() - started


def _rep_client(rep) -> Client:
    client = Client()
    client.force_login(rep)
    return client


def test_a_rep_reading_and_downloading_never_waits_for_a_locked_database(shared):
    rep, asset, _, _ = shared
    client = _rep_client(rep)
    with short_busy_timeout(BUSY_TIMEOUT), table_held_busy(UsageEvent):
        page, page_took = _timed_get(client, asset.url)
        download, download_took = _timed_get(client, f"/assets/{asset.pk}/download/")
        assert not UsageEvent.objects.exclude(kind=EventKind.SHARED).exists()
    assert page.status_code == download.status_code == 200
    assert page_took < 2 and download_took < 2, (page_took, download_took)
    assert usage_spool_replay() == 2
    assert usage_spool_replay() == 0
    used = UsageEvent.objects.filter(user=rep, asset=asset).exclude(kind=EventKind.SHARED)
    assert sorted(used.values_list("kind", flat=True)) == [EventKind.DOWNLOADED, EventKind.VIEWED]


def test_a_buyer_opening_and_downloading_never_waits_for_a_locked_database(shared):
    rep, asset, link, token = shared
    buyer = Client(HTTP_USER_AGENT=BROWSER)
    with short_busy_timeout(BUSY_TIMEOUT), table_held_busy(UsageEvent):
        page, page_took = _timed_get(buyer, f"/s/{token}/")
        download, download_took = _timed_get(buyer, f"/s/{token}/{asset.pk}/file/")
    assert page.status_code == download.status_code == 200
    assert page_took < 2 and download_took < 2, (page_took, download_took)
    assert not UsageEvent.objects.filter(kind=EventKind.BUYER_OPENED).exists()
    assert usage_spool_replay() == 2
    assert usage_spool_replay() == 0
    buyer_events = UsageEvent.objects.filter(share_link=link).exclude(kind=EventKind.SHARED)
    kinds = sorted(buyer_events.values_list("kind", flat=True))
    assert kinds == [EventKind.DOWNLOADED, EventKind.BUYER_OPENED]
    opened = buyer_events.get(kind=EventKind.BUYER_OPENED)
    link.refresh_from_db()
    assert link.last_opened_at == opened.occurred_at
    assert Notification.objects.filter(user=rep, kind="share_opened").count() == 1


def test_the_next_response_stores_what_waited_once_the_lock_is_gone(shared):
    rep, asset, _, token = shared
    client = _rep_client(rep)
    with short_busy_timeout(BUSY_TIMEOUT), table_held_busy(UsageEvent):
        client.get(asset.url)
        Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/")
        assert usage.usage_events_pending.is_set()  # the responses could not store them
    assert not UsageEvent.objects.filter(kind__in=[EventKind.VIEWED, EventKind.BUYER_OPENED])
    client.get("/no-such-page/")  # any response afterwards stores them
    assert UsageEvent.objects.filter(kind=EventKind.VIEWED, user=rep).count() == 1
    assert UsageEvent.objects.filter(kind=EventKind.BUYER_OPENED).count() == 1
    assert not USAGE_SPOOL.waiting() and not usage.usage_events_pending.is_set()


def test_the_analytics_refresh_stores_spooled_events_before_it_counts(shared):
    rep, asset, _, _ = shared
    client = _rep_client(rep)
    with short_busy_timeout(BUSY_TIMEOUT), table_held_busy(UsageEvent):
        client.get(asset.url)
    assert USAGE_SPOOL.waiting()
    analytics_refresh()
    assert UsageEvent.objects.filter(kind=EventKind.VIEWED, user=rep).count() == 1
    assert not USAGE_SPOOL.waiting()


def test_on_a_disk_error_a_busy_databases_events_wait_in_memory_and_are_stored_once(shared):
    rep, asset, link, token = shared
    full = OSError(errno.ENOSPC, "No space left on device")
    client = _rep_client(rep)
    with (
        short_busy_timeout(BUSY_TIMEOUT),
        table_held_busy(UsageEvent),
        mock.patch("pathlib.Path.write_text", side_effect=full),
    ):
        page, took = _timed_get(client, asset.url)
        opened, open_took = _timed_get(Client(HTTP_USER_AGENT=BROWSER), f"/s/{token}/")
    assert page.status_code == opened.status_code == 200 and took < 2 and open_took < 2
    assert len(usage._unspooled) == 2 and not USAGE_SPOOL.waiting()
    assert usage_spool_replay() == 2
    assert usage_spool_replay() == 0 and usage._unspooled == []
    assert UsageEvent.objects.filter(kind=EventKind.VIEWED, user=rep).count() == 1
    assert UsageEvent.objects.filter(kind=EventKind.BUYER_OPENED, share_link=link).count() == 1


def test_a_spool_replayed_again_stores_nothing_twice(shared):
    """A replay that dies between storing and removing its files replays them later."""
    rep, asset, _, token = shared
    client = _rep_client(rep)
    with short_busy_timeout(BUSY_TIMEOUT), table_held_busy(UsageEvent):
        client.get(asset.url)
        Client(HTTP_USER_AGENT=BROWSER).get(f"/s/{token}/")
    copies = {path: path.read_text() for path in USAGE_SPOOL.directory.glob("*.json")}
    assert len(copies) == 2
    assert usage_spool_replay() == 2
    for path, text in copies.items():
        path.write_text(text)
    assert usage_spool_replay() == 0
    assert UsageEvent.objects.filter(kind=EventKind.VIEWED).count() == 1
    assert UsageEvent.objects.filter(kind=EventKind.BUYER_OPENED).count() == 1
    assert Notification.objects.filter(user=rep, kind="share_opened").count() == 1
    assert not USAGE_SPOOL.waiting()


def test_a_free_database_stores_the_event_at_once_and_keeps_its_own_busy_timeout(shared):
    from django.db import connection

    rep, asset, _, _ = shared
    with short_busy_timeout(BUSY_TIMEOUT):
        _rep_client(rep).get(asset.url)
        assert UsageEvent.objects.filter(kind=EventKind.VIEWED, user=rep).count() == 1
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout")
                assert cursor.fetchone()[0] == BUSY_TIMEOUT * 1000
    assert not USAGE_SPOOL.waiting()
