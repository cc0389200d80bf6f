"""A refused request is one line in the log; a server error keeps its traceback (an outside
audit: every rep who opened the dashboard wrote a whole PermissionDenied stack). Each is
written once, with DEBUG on (``make run``) as with it off."""

import io
import logging
import sys
from contextlib import contextmanager

import pytest
from django.test import Client, override_settings
from django.urls import path

from accounts.roles import REP
from enablement.log_filters import RefusalOneLine
from enablement.urls import urlpatterns as site_urls
from tests.factories import make_user


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", _boom), *site_urls]


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


@contextmanager
def _console(logger: str):
    """What the console handlers that ``logger``'s records reach write, in one buffer
    (pytest's own capturing handlers left out)."""
    written = io.StringIO()
    handlers, node = [], logging.getLogger(logger)
    while node is not None:
        handlers += [
            handler
            for handler in node.handlers
            if isinstance(handler, logging.StreamHandler)
            and not type(handler).__module__.startswith("_pytest")
        ]
        node = node.parent if node.propagate else None
    streams = [handler.setStream(written) for handler in handlers]
    try:
        yield written
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)


def _rep() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(make_user(role=REP))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@override_settings(ROOT_URLCONF=__name__)
def test_a_refused_request_and_a_server_error_are_each_written_once(settings, debug):
    """With DEBUG on, Django's own console handler wrote each line a second time."""
    settings.DEBUG = debug
    client = _rep()

    with _console("django.request") as refused:
        assert client.get("/library/no-such-asset/").status_code == 404
    with _console("django.request") as failed:
        assert client.get("/boom/").status_code == 500

    assert refused.getvalue() == "Not Found: /library/no-such-asset/\n"
    log = failed.getvalue()
    assert log.startswith("Internal Server Error: /boom/\nTraceback (most recent call last):")
    assert log.count("Traceback") == 1 and log.endswith("RuntimeError: a bug\n")


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_runserver_request_lines_are_written_once_with_their_time(settings, debug):
    settings.DEBUG = debug
    with _console("django.server") as written:
        logging.getLogger("django.server").info(
            '"%s" %s %s',
            "GET /library/ HTTP/1.1",
            "200",
            "512",
            extra={"server_time": "06/Dec/2026 09:00:00", "status_code": 200},
        )
    assert written.getvalue() == '[06/Dec/2026 09:00:00] "GET /library/ HTTP/1.1" 200 512\n'


@pytest.mark.django_db
def test_no_share_token_is_written_to_the_log(settings):
    """A refused link's token (it may open again once its asset is published again) and a
    served one's, in Django's line and in runserver's, are written as /s/…"""
    token = "GsGugYf-Nem9pzbX5m1bYuiNgCF-Jb9etVQcWRLjIbE"
    with _console("django.request") as refused:
        assert Client().get(f"/s/{token}/").status_code == 404
    with _console("django.server") as served:
        logging.getLogger("django.server").info(
            '"%s" %s %s',
            f"GET /s/{token}/12/file/ HTTP/1.1",
            "302",
            "0",
            extra={"server_time": "06/Dec/2026 09:00:00", "status_code": 302},
        )
    assert refused.getvalue() == "Not Found: /s/…/\n"
    assert served.getvalue() == '[06/Dec/2026 09:00:00] "GET /s/…/12/file/ HTTP/1.1" 302 0\n'
    assert token not in refused.getvalue() + served.getvalue()
