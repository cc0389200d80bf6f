"""A deal import writes in short transactions, one per chunk, so other writers (the events
API, a CRM webhook) get in between its chunks instead of waiting for the whole file: on
SQLite (a file database, WAL) and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.db import connection

from analytics import imports
from analytics.imports import deal_import_file
from analytics.models import Deal, UsageEvent
from analytics.usage import EventInput, usage_record_batch
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "Opportunity ID,Opportunity Name,Amount,Stage\n"


def _file(rows: int) -> io.BytesIO:
    lines = "".join(f"C{n},Deal {n},100,Prospecting\n" for n in range(rows))
    return io.BytesIO((HEADER + lines).encode())


def _in_thread(work):
    """Run ``work`` on its own connection and return what it returned (or raised)."""
    result = {}

    def run():
        try:
            result["value"] = work()
        except Exception as error:  # re-raised by the caller's assert
            result["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert "error" not in result, result.get("error")
    return result["value"]


def test_each_chunk_is_committed_before_the_next_is_read(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 40)
    visible = []

    def progress(rows):
        # Another connection sees what the import wrote so far: nothing is held open.
        visible.append((rows, _in_thread(Deal.objects.count)))

    report = deal_import_file(_file(100), "deals.csv", progress=progress)
    assert report.created == 100
    assert visible == [(40, 40), (80, 80), (100, 100)]


def test_a_writer_waiting_during_a_chunk_gets_in_before_the_next_chunk(monkeypatch):
    """The writer starts while the first chunk holds the write lock and holds it long enough
    for SQLite's busy handler to retry only every 100 ms; it must still be stored before the
    second chunk writes, and have waited about one chunk."""
    monkeypatch.setattr(imports, "CHUNK", 40)
    asset = make_asset("Deck")
    user = make_user()
    writer_done = threading.Event()
    waited = []
    seen_by_chunk = []

    def writer():
        try:
            began = time.monotonic()
            event = EventInput(
                idempotency_key="during-import", kind="asset_viewed", asset_id=asset.pk
            )
            assert not usage_record_batch(events=[event], user=user).errors
            waited.append(time.monotonic() - began)
            writer_done.set()
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    mark_changed = imports.deals_mark_changed

    def slow_first_chunk(*, deal_ids):
        seen_by_chunk.append(writer_done.is_set())
        if len(seen_by_chunk) == 1:
            thread.start()
            time.sleep(0.35)  # the first chunk's transaction holds the lock meanwhile
        mark_changed(deal_ids=deal_ids)

    monkeypatch.setattr(imports, "deals_mark_changed", slow_first_chunk)
    report = deal_import_file(_file(120), "deals.csv")
    thread.join(30)
    assert report.created == 120
    assert seen_by_chunk == [False, True, True]  # stored between the first chunk and the second
    assert waited[0] < 1.0
    assert UsageEvent.objects.filter(idempotency_key="during-import").exists()
