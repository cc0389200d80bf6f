"""A refused request is one line in the log; a server error keeps its traceback (an outside
audit: every rep who opened the dashboard wrote a whole PermissionDenied stack)."""

import logging
import sys

import pytest

from accounts.roles import REP
from enablement.log_filters import RefusalOneLine
from tests.factories import make_user


@pytest.mark.django_db
def test_a_rep_refused_the_dashboard_is_one_line_without_a_traceback(client, caplog):
    client.force_login(make_user(role=REP))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/analytics/").status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and record.exc_text is None
    assert record.getMessage().startswith("Forbidden (Permission denied): /analytics/")
    assert "The dashboard is for enablement leads." in record.getMessage()


def _record(status: int) -> logging.LogRecord:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "%s", ("x",), exc_info)
    record.status_code = status
    return record


def test_a_server_error_keeps_its_traceback():
    kept = _record(500)
    assert RefusalOneLine().filter(kept) and kept.exc_info is not None
    refused = _record(404)
    assert RefusalOneLine().filter(refused) and refused.exc_info is None
    assert refused.getMessage() == "x: RuntimeError: boom"
