"""One line, not a traceback, for failures a traceback cannot help with; and no share
link's token in any line (``ShareTokens``).

``OneLine``: the search servers' clients, one line per failure rather than a traceback per
retry.

With the search server down, one publish wrote 24 tracebacks to the log (an outside audit):
the Elasticsearch client's retry warnings and Wagtail's failed index writes each carry the
whole stack, though the cause is one line ("Connection refused"), the app already says what
it did about it (the update is pending, the admin index will be rebuilt), and a traceback
here never points at a bug of ours. ``OneLine`` keeps each record and its level, and puts the
exception's type and message in place of the stack. The clients' INFO line per request is
left out by the levels in ``enablement.settings.LOGGING``.
"""

from __future__ import annotations

import logging
import re


class OneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = record.exc_text = None
        return True


class RefusalOneLine(OneLine):
    """``django.request``: a refusal (4xx: a rep opening a lead's page is a 403) is one line;
    Django logged each with the whole stack of the ``PermissionDenied``, so that the log of
    an ordinary day was mostly tracebacks and a real error was hard to find. A server error
    (5xx) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            return super().filter(record)
        return True


#: A buyer share link's address: what follows /s/ is its token (``analytics.share_urls``).
_SHARE_PATH = re.compile(r"/s/[^/\s?\"']+")


class ShareTokens(logging.Filter):
    """On the handlers: a share link's token is written as ``/s/…`` in every line (Django's
    "Not Found", runserver's request lines, the app's "file store down on GET ..."). A link
    refused today (its asset unpublished, its maker inactive) can open again tomorrow, so a
    token in a log is a key to a file, and the README promises none is written in clear (an
    outside audit found them in the web log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/s/" in message:
            record.msg, record.args = _SHARE_PATH.sub("/s/…", message), None
        return True
