"""The sandbox: warm worker processes with time and memory caps, reused for many files,
replaced after N files and after any failure, killed with everything they started."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time

import pytest

from cms.extraction import ExtractionError, Limits, extract_bounded, pool
from tests.cms.builders import (
    make_encrypted_pdf,
    make_pdf,
    make_pdf_mapping_to_lone_surrogate,
    write,
)

LIMITS = Limits(ocr_pages=0)


@pytest.fixture
def make_pool():
    pools = []

    def build(command=None, *, size=1, max_jobs=50):
        created = pool.Pool(command or pool.worker_command(1024), size=size, max_jobs=max_jobs)
        pools.append(created)
        return created

    yield build
    for created in pools:
        created.close()


def ping(worker_pool) -> int:
    return worker_pool.run({"op": "ping"}, timeout=30, max_memory_mb=1024)["pid"]


def extract_request(path, filename: str) -> dict:
    return {"op": "extract", "path": str(path), "filename": filename, "limits": LIMITS.__dict__}


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_files_are_read_by_the_same_warm_worker(tmp_path, make_pool):
    worker_pool = make_pool()
    path = write(tmp_path, "a.pdf", make_pdf(["Hello from the worker"]))
    first = ping(worker_pool)

    answer = worker_pool.run(extract_request(path, "a.pdf"), timeout=30, max_memory_mb=1024)

    assert answer["extraction"]["text"] == "Hello from the worker"
    assert ping(worker_pool) == first != os.getpid()


def test_a_worker_is_replaced_after_its_share_of_files_by_one_started_in_advance(make_pool):
    worker_pool = make_pool(max_jobs=2)
    first = ping(worker_pool)
    assert ping(worker_pool) == first  # its second and last job

    replacement = worker_pool._idle[0]
    assert replacement.alive()  # started before anyone asked for it
    assert ping(worker_pool) == replacement.process.pid != first
    assert not running(first)


def test_a_request_past_its_time_kills_the_worker_and_what_it_started(tmp_path, make_pool):
    pids = tmp_path / "pids"
    hang = textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen(["sleep", "60"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        sys.stdin.readline()
        time.sleep(60)
    """)
    worker_pool = make_pool([sys.executable, "-c", hang])

    started = time.monotonic()
    with pytest.raises(ExtractionError, match="longer than 1 seconds and was stopped"):
        worker_pool.run({"op": "ping"}, timeout=1, max_memory_mb=1024)

    assert time.monotonic() - started < 5
    worker, child = map(int, pids.read_text().split())
    deadline = time.monotonic() + 5
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)  # the orphaned child is reaped by init
    assert not running(worker) and not running(child)


def test_a_worker_that_dies_is_reported_and_the_next_file_gets_a_new_one(tmp_path, make_pool):
    worker_pool = make_pool()
    dead = ping(worker_pool)
    os.kill(dead, 9)  # as the kernel's out-of-memory killer would
    time.sleep(0.2)

    assert ping(worker_pool) != dead


def test_a_worker_that_crashes_mid_file_is_reported_as_such(make_pool):
    crash = [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
    worker_pool = make_pool(crash)

    with pytest.raises(ExtractionError, match="stopped unexpectedly .* more than 256 MB"):
        worker_pool.run({"op": "ping"}, timeout=30, max_memory_mb=256)


def test_an_unexpected_error_answers_damaged_and_retires_the_worker(make_pool):
    worker_pool = make_pool()
    before = ping(worker_pool)

    answer = worker_pool.run(
        {"op": "extract", "path": "/nonexistent.pdf", "filename": "x.pdf", "limits": {"bogus": 1}},
        timeout=30,
        max_memory_mb=1024,
    )

    assert answer["error"] == "The file is damaged and could not be read."
    assert ping(worker_pool) != before


def test_file_needing_more_memory_than_the_cap_is_reported(tmp_path):
    path = write(tmp_path, "deck.pdf", make_pdf(["x"]))

    with pytest.raises(ExtractionError, match="more than 1 MB of memory"):
        extract_bounded(path, filename="deck.pdf", limits=LIMITS, timeout=30, max_memory_mb=1)


def test_errors_come_back_with_their_status(tmp_path):
    locked = write(
        tmp_path, "l.pdf", make_encrypted_pdf(["x"], user_password="pw", algorithm="AES-128")
    )

    with pytest.raises(ExtractionError, match="protected by a password") as error:
        extract_bounded(locked, filename="l.pdf", limits=LIMITS, timeout=30, max_memory_mb=1024)

    assert error.value.status == "protected"


def test_text_with_lone_surrogates_comes_back_from_the_worker(tmp_path):
    # It used to crash the child while writing its result ("needed more than 1024 MB").
    path = write(tmp_path, "s.pdf", make_pdf_mapping_to_lone_surrogate())

    result = extract_bounded(path, filename="s.pdf", limits=LIMITS, timeout=30, max_memory_mb=1024)

    assert result.text == "Price \ufffd list"


def test_two_files_at_once_are_read_by_two_workers(tmp_path, make_pool):
    worker_pool = make_pool(size=2)
    paths = [write(tmp_path, f"{n}.pdf", make_pdf([f"File number {n}"])) for n in (1, 2)]
    answers = {}

    def read(path):
        answers[path.name] = worker_pool.run(
            extract_request(path, path.name), timeout=30, max_memory_mb=1024
        )

    threads = [threading.Thread(target=read, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers["1.pdf"]["extraction"]["text"] == "File number 1"
    assert answers["2.pdf"]["extraction"]["text"] == "File number 2"
    assert len(worker_pool._idle) == 2


def test_a_page_preview_is_drawn_in_the_sandbox(tmp_path):
    from PIL import Image

    from cms.extraction import render_page_bounded

    path = write(tmp_path, "deck.pdf", make_pdf(["One", "Two"]))

    png = render_page_bounded(path, number=1, width=200, timeout=30, max_memory_mb=1024)

    with Image.open(__import__("io").BytesIO(png)) as image:
        assert image.width == 200
    with pytest.raises(ExtractionError, match="no page 5"):
        render_page_bounded(path, number=5, width=200, timeout=30, max_memory_mb=1024)
