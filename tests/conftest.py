"""Shared fixtures and the CI rule that nothing skips silently.

On a user's machine a test that needs a missing service skips with a reason. With CI=true
every skip fails the run: CI installs and starts every service the suite needs.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    fixtures = getattr(item, "fixturenames", ())
    return "transactional_db" in fixtures or "live_server" in fixtures


@pytest.fixture(autouse=True)
def _migration_rows_after_flush(request):
    """Transactional tests (browser, concurrency) flush the database when they end, which
    also wipes the rows migrations create: the page tree, buyer stages, pillars, asset types,
    role groups. Put them back before each such test, as a fresh install has them.

    Before that flush, the live server's requests must have finished: a browser test can end
    while a request it set off (a search typed, the search event written after its response)
    still writes, and on PostgreSQL that write and the flush's TRUNCATE deadlock."""
    if _is_transactional(request.node):
        request.getfixturevalue("transactional_db")
        from tests.baseline import baseline_ensure

        baseline_ensure()
    yield
    if "live_server" in getattr(request, "fixturenames", ()):
        _live_server_requests_finished()


def _live_server_requests_finished(timeout: float = 10.0) -> None:
    """Wait until no thread of the live server is handling a request (socketserver names each
    ``Thread-N (process_request_thread)``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [t for t in threading.enumerate() if "process_request_thread" in t.name]
        if not busy:
            return
        time.sleep(0.05)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if IN_CI and skipped:
        terminalreporter.section("skips are failures in CI", sep="=", red=True)
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            terminalreporter.write_line(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1
