"""Search events leave the request path (spooled, written in bulk after the response) and none
is lost: not when the writer fails once, not on a disk error, not when the database is locked;
search gaps and click tracking see them."""

import errno
import json
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import DataError, OperationalError, connection
from django.test import Client
from django.utils import timezone

from cms import spool
from search import services
from search.models import SearchClick, SearchEvent
from search.selectors import search_gaps
from tests.factories import make_user
from tests.locks import short_busy_timeout, table_held_busy


def _spooled():
    directory = services.SEARCH_SPOOL.directory
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def _spool_clear():
    directory = services.SEARCH_SPOOL.directory
    for path in directory.glob("*") if directory.is_dir() else []:
        path.unlink()
    services._unspooled.clear()


@pytest.fixture(autouse=True)
def _empty_spool():
    """The spool lives in the test session's DATA_DIR: start and leave it empty."""
    _spool_clear()
    yield
    _spool_clear()


def _search(user, text):
    """What the search page does before rendering (no response, so nothing flushes)."""
    return services.rep_search(user=user, params={"q": text}, source="web")


@pytest.mark.django_db
def test_the_search_itself_writes_no_row_and_the_flush_writes_it(active_engine, library):
    page = _search(library.outsider, "zephyrine")
    assert not SearchEvent.objects.exists() and len(_spooled()) == 1
    assert services.search_events_pending.is_set()
    assert services.search_events_flush() == 1
    event = SearchEvent.objects.get()
    assert str(event.key) == page.search_id
    assert (event.user, event.query, event.result_count) == (library.outsider, "zephyrine", 0)
    assert _spooled() == [] and services.search_events_flush() == 0


@pytest.mark.django_db
def test_searches_from_the_page_are_written_once_the_response_is_done(
    active_engine, library, client
):
    client.force_login(library.outsider)
    client.get("/search/", {"q": "zephyrine"})
    client.get("/search/", {"q": "Zephyrine "}, HTTP_X_SEARCH_PARTIAL="1")
    client.get("/search/", {"q": "roadmap"})
    assert _spooled() == []
    gaps = search_gaps(since=timezone.now() - timedelta(hours=1))
    # grouped by the normalised text; shown as typed (the latest of equally frequent forms)
    assert gaps["zero_results"] == [{"query": "zephyrine", "searches": 2, "typed": "Zephyrine"}]
    assert gaps["no_click"] == [{"query": "roadmap", "searches": 1, "typed": "roadmap"}]


@pytest.mark.django_db
def test_a_search_typed_on_to_a_longer_one_is_kept_but_not_a_gap(active_engine, library, client):
    client.force_login(library.outsider)
    partial = {"HTTP_X_SEARCH_PARTIAL": "1"}
    client.get("/search/", {"q": "zephy"}, **partial)
    typed = str(SearchEvent.objects.get().key)
    client.get("/search/", {"q": "zephyrine"}, HTTP_X_SEARCH_REFINES=typed, **partial)
    client.get("/search/", {"q": "quasar"}, **partial)
    quasar = str(SearchEvent.objects.get(query="quasar").key)
    client.force_login(library.insider)  # someone else cannot hide the rep's search
    client.get("/search/", {"q": "roadmap"}, HTTP_X_SEARCH_REFINES=quasar, **partial)
    assert SearchEvent.objects.count() == 4  # every search is kept (append-only)
    gaps = search_gaps(since=timezone.now() - timedelta(hours=1))
    assert gaps["zero_results"] == [
        {"query": "quasar", "searches": 1, "typed": "quasar"},
        {"query": "zephyrine", "searches": 1, "typed": "zephyrine"},
    ]


@pytest.mark.django_db
def test_text_with_no_searchable_word_is_no_gap(active_engine, library, client):
    """ "the" found nothing because nothing is searched for it (the page says so): no content
    could answer it, so it is not listed for marketing beside real gaps (outside audit), and
    however many reps typed it, it takes no place from a real gap in the list."""
    client.force_login(library.outsider)
    for text in ("the", "of the", "🚚", "soc 2 report", "the", "The"):
        client.get("/search/", {"q": text})
    assert SearchEvent.objects.count() == 6  # every search is kept
    gaps = search_gaps(since=timezone.now() - timedelta(hours=1), limit=1)
    assert gaps["zero_results"] == [
        {"query": "soc 2 report", "searches": 1, "typed": "soc 2 report"}
    ]


@pytest.mark.django_db
def test_a_click_on_a_search_still_in_the_spool_is_recorded(active_engine, library, client):
    page = _search(library.outsider, "roadmap")
    client.force_login(library.outsider)
    response = client.get(page.cards[0].click_url)
    assert response.status_code == 302
    click = SearchClick.objects.get()
    assert str(click.search.key) == page.search_id and click.position == 1


@pytest.mark.django_db
def test_a_click_on_someone_elses_search_is_not_recorded(active_engine, library, client):
    page = _search(library.insider, "roadmap")
    client.force_login(library.outsider)
    assert client.get(page.cards[0].click_url).status_code == 302
    assert SearchEvent.objects.count() == 1 and not SearchClick.objects.exists()


@pytest.mark.django_db
def test_when_the_writer_fails_once_the_events_wait_and_are_written_once(active_engine, library):
    for text in ("zephyrine", "roadmap"):
        _search(library.outsider, text)
    real = SearchEvent.objects.bulk_create
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(*args, **kwargs)

    with mock.patch.object(SearchEvent.objects, "bulk_create", side_effect=fails_once):
        assert services.search_events_flush() == 0
        assert not SearchEvent.objects.exists() and len(_spooled()) == 2
        assert services.search_events_pending.is_set()  # the next response tries again
        assert services.search_events_flush() == 2
    assert sorted(SearchEvent.objects.values_list("query", flat=True)) == ["roadmap", "zephyrine"]


@pytest.mark.django_db
def test_a_search_by_a_user_deleted_meanwhile_is_kept_without_them(active_engine, library):
    _search(library.na_rep, "roadmap")
    _search(library.outsider, "zephyrine")
    library.na_rep.delete()
    assert services.search_events_flush() == 2
    kept = dict(SearchEvent.objects.values_list("query", "user_id"))
    assert kept == {"roadmap": None, "zephyrine": library.outsider.pk}


@pytest.mark.django_db
def test_a_search_replayed_twice_is_stored_once(active_engine, library):
    """A flush that dies between the insert and removing its files replays them later."""
    _search(library.outsider, "roadmap")
    (spooled,) = _spooled()
    copy = spooled.read_text()
    services.search_events_flush()
    spooled.write_text(copy)
    assert services.search_events_flush() == 1
    assert SearchEvent.objects.count() == 1


@pytest.mark.django_db
def test_on_a_disk_error_the_search_is_written_at_once(active_engine, library):
    full = OSError(errno.ENOSPC, "No space left on device")
    with mock.patch("pathlib.Path.write_text", side_effect=full):
        page = _search(library.outsider, "roadmap")
    assert str(SearchEvent.objects.get().key) == page.search_id


@pytest.mark.django_db
def test_on_a_disk_error_and_a_locked_database_the_search_waits_in_memory(active_engine, library):
    full = OSError(errno.EROFS, "Read-only file system")
    locked = OperationalError("database is locked")
    with (
        mock.patch("pathlib.Path.write_text", side_effect=full),
        mock.patch.object(SearchEvent.objects, "bulk_create", side_effect=locked),
    ):
        _search(library.outsider, "roadmap")
    assert not SearchEvent.objects.exists() and len(services._unspooled) == 1
    assert services.search_events_flush() == 1
    assert SearchEvent.objects.get().query == "roadmap"


@pytest.mark.django_db
def test_an_unreadable_spool_file_is_set_aside_and_the_others_written(active_engine, library):
    _search(library.outsider, "roadmap")
    broken = services.SEARCH_SPOOL.directory / "0123.json"
    broken.write_text("{not json")
    assert services.search_events_flush() == 1
    assert (services.SEARCH_SPOOL.directory / "0123.bad").exists()
    assert SearchEvent.objects.get().query == "roadmap"


def _refusing(query: str):
    """``bulk_create`` as a database that refuses any batch holding a search for ``query``
    (as PostgreSQL refuses text with a NUL character: a DataError)."""
    real = SearchEvent.objects.bulk_create

    def bulk_create(events, **kwargs):
        if any(event.query == query for event in events):
            raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return real(events, **kwargs)

    return mock.patch.object(SearchEvent.objects, "bulk_create", side_effect=bulk_create)


@pytest.mark.django_db
def test_a_spooled_search_the_database_refuses_is_set_aside_and_the_rest_written(
    active_engine, library, caplog
):
    """One such record once held back every search after it, flush after flush."""
    for text in ("alpha", "roadmap", "zephyrine"):
        _search(library.outsider, text)
    with _refusing("roadmap"):
        assert services.search_events_flush() == 2
    assert sorted(SearchEvent.objects.values_list("query", flat=True)) == ["alpha", "zephyrine"]
    (bad,) = services.SEARCH_SPOOL.directory.glob("*.bad")
    assert json.loads(bad.read_text())["query"] == "roadmap"
    assert _spooled() == [] and "refused by the database, set aside" in caplog.text
    _search(library.outsider, "later")
    assert services.search_events_flush() == 1


@pytest.mark.django_db
def test_a_spooled_search_with_a_nul_character_holds_back_no_other(active_engine, library):
    """A search spooled before requests with NUL were refused: PostgreSQL stores no NUL in
    text (set aside there), SQLite does (stored)."""
    _search(library.outsider, "alpha")
    (spooled,) = _spooled()
    data = json.loads(spooled.read_text())
    nul = services.SEARCH_SPOOL.directory / "00ff.json"
    nul.write_text(json.dumps({**data, "key": "00" * 15 + "ff", "query": "a\x00b"}))
    _search(library.outsider, "zephyrine")
    stored = 3 if connection.vendor == "sqlite" else 2
    assert services.search_events_flush() == stored
    assert {"alpha", "zephyrine"} <= set(SearchEvent.objects.values_list("query", flat=True))
    assert _spooled() == []
    assert nul.with_suffix(".bad").exists() == (connection.vendor != "sqlite")


@pytest.mark.django_db
def test_a_search_in_memory_the_database_refuses_is_dropped_and_the_rest_written(
    active_engine, library
):
    full = OSError(errno.EROFS, "Read-only file system")
    locked = OperationalError("database is locked")
    with (
        mock.patch("pathlib.Path.write_text", side_effect=full),
        mock.patch.object(SearchEvent.objects, "bulk_create", side_effect=locked),
    ):
        for text in ("alpha", "roadmap"):
            _search(library.outsider, text)
    assert len(services._unspooled) == 2
    with _refusing("roadmap"):
        assert services.search_events_flush() == 1
    assert services._unspooled == []
    assert list(SearchEvent.objects.values_list("query", flat=True)) == ["alpha"]


@pytest.mark.django_db
def test_a_claim_left_by_a_process_that_died_is_taken_over(active_engine, library, monkeypatch):
    _search(library.outsider, "roadmap")
    (spooled,) = _spooled()
    left = spooled.with_suffix(".claimed-999999-1")  # claimed, then the process was killed
    spooled.replace(left)
    assert services.search_events_flush() == 0  # a claim this young may still be at work
    monkeypatch.setattr(spool, "ABANDONED_SECONDS", -1)
    assert services.search_events_flush() == 1
    assert SearchEvent.objects.get().query == "roadmap"
    assert list(services.SEARCH_SPOOL.directory.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_neither_fails_the_search_nor_loses_it(tmp_path):
    from search.engines import use_engine
    from search.engines.embedded import EmbeddedEngine
    from tests.factories import make_asset

    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        make_asset("Roadmap briefing", summary="Where we go next.")
        rep = make_user("rep")
        client = Client()
        client.force_login(rep)
        with short_busy_timeout(0.5), table_held_busy(SearchEvent):
            page = client.get("/search/", {"q": "roadmap"})
            assert page.status_code == 200 and "1 result for" in page.content.decode()
            assert len(_spooled()) == 1
        assert not SearchEvent.objects.exists()
        client.get("/search/", {"q": "zephyrine"})  # the next response writes both
    assert sorted(SearchEvent.objects.values_list("query", flat=True)) == ["roadmap", "zephyrine"]
    assert connection.vendor in {"sqlite", "postgresql"}


@pytest.mark.django_db(transaction=True)
def test_writing_searches_after_the_response_does_not_wait_on_a_locked_database(tmp_path):
    """The worker that served a search wrote its event after the response, waiting out the
    whole busy timeout (20 s under make run) while the database was held."""
    from search.engines import use_engine
    from search.engines.embedded import EmbeddedEngine
    from tests.factories import make_asset

    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        make_asset("Roadmap briefing", summary="Where we go next.")
        client = Client()
        client.force_login(make_user("rep"))
        with short_busy_timeout(5), table_held_busy(SearchEvent):
            started = time.monotonic()
            assert client.get("/search/", {"q": "roadmap"}).status_code == 200
            assert time.monotonic() - started < 2.5  # the timeout is 5 s
            assert len(_spooled()) == 1
        client.get("/search/", {"q": "zephyrine"})  # the next response writes both
    assert sorted(SearchEvent.objects.values_list("query", flat=True)) == ["roadmap", "zephyrine"]


@pytest.mark.django_db(transaction=True)
def test_searches_reuse_the_database_connection_between_requests(tmp_path):
    """Opening a connection (SQLite: its pragmas and schema) cost several milliseconds of
    every search; the server keeps it, as it does PostgreSQL's, and still writes the events."""
    from search.engines import use_engine
    from search.engines.embedded import EmbeddedEngine
    from tests.factories import make_asset

    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        make_asset("Roadmap briefing", summary="Where we go next.")
        client = Client()
        client.force_login(make_user("rep"))
        client.get("/search/", {"q": "roadmap"})
        first = connection.connection
        client.get("/search/", {"q": "briefing"})
        assert first is not None and connection.connection is first
    assert SearchEvent.objects.count() == 2


@pytest.mark.django_db
def test_head_answers_as_get_and_records_no_search_and_no_click(active_engine, library, client):
    """A HEAD (a link checker, a prefetching proxy) was a 405 on the search page, the
    suggestions and a result's click; it answers as GET would, with no body, and records
    nothing a GET would."""
    client.force_login(library.outsider)
    for target in ("/search/?q=roadmap", "/search/suggest/?q=road"):
        got, head = client.get(target), client.head(target)
        assert head.status_code == got.status_code == 200, target
        assert head["Content-Type"] == got["Content-Type"] and head.content == b""
    services.search_events_flush()
    assert SearchEvent.objects.count() == 1  # the GET's search; the HEAD's recorded nothing
    click_url = _search(library.outsider, "roadmap").cards[0].click_url
    services.search_events_flush()
    head = client.head(click_url)
    assert head.status_code == 302 and head["Location"] == client.get(click_url)["Location"]
    assert SearchClick.objects.count() == 1  # the GET's click only
    assert SearchEvent.objects.count() == 2
