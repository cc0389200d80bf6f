"""The embedded engine under injected I/O faults: every one is ``SearchUnavailable`` (reps see
"Search is unavailable", the API answers 503, never 500), a failed write is kept as pending
and replayed, and a failed rebuild leaves the live index serving."""

import errno
import os
from pathlib import Path

import pytest

from search import services
from search.documents import SearchDocument
from search.engines import SearchUnavailable, use_engine
from search.engines.embedded import EmbeddedEngine
from search.models import PendingIndexUpdate
from tests.factories import make_asset
from tests.search.conftest import run_search, titles

pytestmark = pytest.mark.django_db

PAGE_MESSAGE = "Search is unavailable right now"
API_ANSWER = {"detail": "search is unavailable; try again shortly"}


@pytest.fixture
def reopened(active_engine, library):
    """Another process's engine on the same, populated index: it reads ``CURRENT`` afresh."""
    engine = EmbeddedEngine(path=active_engine.root.parent, lock_timeout=0.2)
    with use_engine(engine):
        yield engine


def _fail_for(monkeypatch, owner, name: str, path: Path, error: OSError):
    """Make ``owner.name`` raise ``error`` for ``path`` only."""
    original = getattr(owner, name)

    def failing(target, *args, **kwargs):
        if Path(target) == path:
            raise error
        return original(target, *args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


def _pointer(engine) -> Path:
    return engine.root / "CURRENT"


READ_FAULTS = {
    "pointer unreadable (EACCES)": lambda mp, engine: _fail_for(
        mp, Path, "open", _pointer(engine), PermissionError(errno.EACCES, "denied")
    ),
    "pointer stat fails (EIO)": lambda mp, engine: _fail_for(
        mp, os, "stat", _pointer(engine), OSError(errno.EIO, "Input/output error")
    ),
    "pointer empty": lambda mp, engine: _pointer(engine).write_text(""),
    "pointer binary": lambda mp, engine: _pointer(engine).write_bytes(b"\xff\xfe\x00garbage"),
    "pointer names a path": lambda mp, engine: _pointer(engine).write_text("../../../tmp"),
    "pointer names a missing generation": lambda mp, engine: _pointer(engine).write_text(
        "g123-abcdef"
    ),
    "generation metadata corrupt": lambda mp, engine: (
        engine.root / _pointer(engine).read_text() / "meta.json"
    ).write_text("{not json"),
}


@pytest.mark.parametrize("fault", READ_FAULTS)
def test_read_fault_is_search_unavailable_for_reps_and_api(
    fault, reopened, library, client, monkeypatch
):
    READ_FAULTS[fault](monkeypatch, reopened)
    with pytest.raises(SearchUnavailable):
        run_search(library.outsider, "roadmap")
    assert reopened.health().ok is False
    client.force_login(library.outsider)
    page = client.get("/search/", {"q": "roadmap"})
    assert page.status_code == 503 and PAGE_MESSAGE in page.content.decode()
    api = client.get("/api/v1/search", {"q": "roadmap"})
    assert (api.status_code, api.json()) == (503, API_ANSWER)
    assert client.get("/api/v1/search/suggest", {"q": "road"}).status_code == 503
    assert client.get("/search/suggest/", {"q": "road"}).status_code == 503


@pytest.mark.parametrize("fault", READ_FAULTS)
def test_write_under_a_read_fault_is_kept_pending(
    fault, reopened, library, monkeypatch, django_capture_on_commit_callbacks
):
    READ_FAULTS[fault](monkeypatch, reopened)
    with django_capture_on_commit_callbacks(execute=True):
        asset = make_asset("Penguin onboarding kit")
    assert asset.live
    assert PendingIndexUpdate.objects.filter(asset_id=asset.pk).exists()


class _FullDiskWriter:
    """A tantivy writer whose commit fails the way tantivy reports a full disk."""

    def __init__(self, writer):
        self._writer = writer

    def __getattr__(self, name):
        return getattr(self._writer, name)

    def commit(self):
        raise ValueError(
            "Failed to open file for write: 'IoError { io_error: Os { code: 28, kind: "
            'StorageFull, message: "No space left on device" } }'
        )


@pytest.fixture
def full_disk(monkeypatch):
    original = EmbeddedEngine._writer

    def writer(self, index, threads=1):
        return _FullDiskWriter(original(self, index, threads))

    monkeypatch.setattr(EmbeddedEngine, "_writer", writer)
    return lambda: monkeypatch.setattr(EmbeddedEngine, "_writer", original)


def test_full_disk_on_write_keeps_the_update_pending_and_search_serving(
    active_engine, library, full_disk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        library.roadmap.title = "Roadmap briefing, second edition"
        library.roadmap.save_revision().publish()
    pending = PendingIndexUpdate.objects.get(asset_id=library.roadmap.pk)
    assert "No space left on device" in pending.error
    assert titles(run_search(library.outsider, "analyst")) == ["Analyst notes"]  # reads work
    assert titles(run_search(library.outsider, "roadmap")) == ["Analyst notes"]  # stale: hidden
    full_disk()  # space freed
    assert services.index_assets(asset_ids=[]).ok
    assert titles(run_search(library.outsider, "edition")) == ["Roadmap briefing, second edition"]


def test_full_disk_during_a_rebuild_leaves_the_live_index_serving(active_engine, library):
    before = sorted(p.name for p in active_engine.root.iterdir() if p.is_dir())

    def batches():
        yield [SearchDocument(id=1, title="Half-built")]
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SearchUnavailable, match="No space left on device"):
        active_engine.rebuild(batches())
    assert sorted(p.name for p in active_engine.root.iterdir() if p.is_dir()) == before
    assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"


def test_failed_swap_leaves_the_live_index_serving(active_engine, library, monkeypatch):
    before = _pointer(active_engine).read_text()

    def replace(source, target):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("search.engines.embedded.os.replace", replace)
    with pytest.raises(SearchUnavailable, match="Input/output error"):
        active_engine.rebuild([[SearchDocument(id=1, title="Never live")]])
    assert _pointer(active_engine).read_text() == before
    assert [p.name for p in active_engine.root.iterdir() if p.is_dir()] == [before]
    assert not list(active_engine.root.glob("CURRENT.*.tmp"))
    assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"


def test_a_rebuild_repairs_a_malformed_pointer(active_engine, library):
    _pointer(active_engine).write_text("garbage")
    engine = EmbeddedEngine(path=active_engine.root.parent)
    with use_engine(engine):
        with pytest.raises(SearchUnavailable, match="malformed pointer file"):
            run_search(library.outsider, "roadmap")
        services.index_rebuild()
        assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"
