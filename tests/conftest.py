"""Shared fixtures and the CI rule that nothing skips silently.

On a user's machine a test that needs a missing service skips with a reason. With CI=true
every skip fails the run: CI installs and starts every service the suite needs.
"""

from __future__ import annotations

import os

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
    role groups. Put them back before each such test, as a fresh install has them."""
    if _is_transactional(request.node):
        request.getfixturevalue("transactional_db")
        from tests.baseline import baseline_ensure

        baseline_ensure()
    yield


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
