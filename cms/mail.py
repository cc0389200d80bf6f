"""Mail backends that never put a traceback in the log for a message that cannot go out.

Wagtail sends moderation and review notifications itself and logs any exception with its
traceback; these backends catch the failure, log one line that says which message failed and
why, and report it as not sent (a count of 0), as ``fail_silently`` would.

- ``LoggingFileBackend`` (the embedded default) writes each message to a file under
  ``EMAIL_FILE_PATH`` (``DATA_DIR/mail``).
- ``LoggingSMTPBackend`` sends through ``EMAIL_HOST`` (see the README's settings table).
"""

from __future__ import annotations

import logging
import smtplib
import socket

from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

logger = logging.getLogger("cms.mail")
_FAILURES = (OSError, smtplib.SMTPException, socket.error, ValueError, UnicodeError)


def _describe(messages) -> str:
    subjects = [getattr(m, "subject", "") for m in messages or ()]
    recipients = sorted({r for m in messages or () for r in m.recipients()})
    return f"{len(subjects)} message(s) {subjects[:3]} to {recipients[:5]}"


class _Logging:
    def send_messages(self, email_messages):
        try:
            return super().send_messages(email_messages)
        except _FAILURES as error:
            logger.warning("mail not sent: %s: %s", _describe(email_messages), error)
            return 0

    def open(self):
        try:
            return super().open()
        except _FAILURES as error:
            logger.warning("mail server not reachable: %s", error)
            return False


class LoggingSMTPBackend(_Logging, SMTPBackend):
    pass


class LoggingFileBackend(_Logging, FileBackend):
    pass
