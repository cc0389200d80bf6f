"""A directory of records waiting for the database: one JSON file per record under
``DATA_DIR/spool/<name>/``, written so that no reader ever sees half a file, and claimed by a
rename so that several processes can drain it at once without taking a record twice.

Usage events the database did not take at once (analytics) and searches written after the
response (search) wait here. A record's key names its file, so spooling it again replaces it.
``impatient_writes`` is how a writer with a spool behind it tries the database first: it gives
up on a held lock in a tenth of a second instead of the busy timeout, and spools the record.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from accounts.lock_wait import lock_wait_restore, lock_wait_shorten

logger = logging.getLogger(__name__)

#: A claim this old was left by a process that died between claiming and storing (a drain
#: takes milliseconds): any drain takes it over.
ABANDONED_SECONDS = 600

#: How long a write with a spool to fall back on waits for a lock (``impatient_writes``): a
#: healthy writer commits in milliseconds, so a lock held longer is a long write (an import,
#: a rollup, a person's ``BEGIN EXCLUSIVE``) that a reader's request must not wait out.
PATIENCE_SECONDS = 0.1


@contextlib.contextmanager
def impatient_writes(seconds: float = PATIENCE_SECONDS) -> Iterator[None]:
    """Writes on the default connection inside the block report "busy" (an OperationalError
    that ``cms.middleware.database_busy`` recognises) after ``seconds`` instead of the
    configured wait (SQLite's busy timeout, PostgreSQL's lock_timeout); the setting is put
    back afterwards. For writes whose record can wait in a spool instead: the request that
    made them never waits on a locked database."""
    saved = lock_wait_shorten(seconds)
    try:
        yield
    finally:
        lock_wait_restore(saved)


class Spool:
    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def directory(self) -> Path:
        return Path(settings.DATA_DIR) / "spool" / self.name

    def put(self, key: str, data: dict) -> None:
        """Keep ``data`` (JSON-ready) under ``key``: written aside, then renamed into place."""
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{key}.tmp"
        partial.write_text(json.dumps(data))
        partial.replace(self.directory / f"{key}.json")

    def waiting(self) -> bool:
        """Whether any record waits here (a directory listing: cheap enough for every event)."""
        try:
            with os.scandir(self.directory) as entries:
                return any(entry.name.endswith(".json") for entry in entries)
        except OSError:
            return False

    def claim(self) -> list[Path]:
        """Take every waiting record for this thread, oldest name first (renamed to
        ``*.claimed-<pid>-<thread>``; another process's claim is skipped unless it is older
        than ``ABANDONED_SECONDS``: its process died between claiming and storing)."""
        if not self.directory.is_dir():
            return []
        waiting = list(self.directory.glob("*.json"))
        abandoned = time.time() - ABANDONED_SECONDS
        for path in self.directory.glob("*.claimed-*"):
            with contextlib.suppress(OSError):
                if path.stat().st_ctime < abandoned:  # a rename sets ctime: when it was claimed
                    waiting.append(path)
        claimed = []
        for path in sorted(waiting, key=lambda path: path.stem):
            mine = path.with_suffix(f".claimed-{os.getpid()}-{threading.get_ident()}")
            try:
                path.replace(mine)
            except FileNotFoundError:
                continue  # another process took it
            claimed.append(mine)
        return claimed

    def read(self, path: Path) -> dict | None:
        """The data of a claimed record; an unreadable one is set aside as ``*.bad``
        (logged) and None returned, so it never blocks the rest."""
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as error:
            logger.error("unreadable %s record %s set aside: %s", self.name, path.name, error)
            path.replace(path.with_suffix(".bad"))
            return None

    def release(self, paths) -> None:
        """Give claimed records back for the next drain (the database refused them); one
        no longer there (set aside meanwhile) is skipped."""
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.replace(path.with_suffix(".json"))

    def set_aside(self, path: Path, error: BaseException) -> None:
        """A claimed record the database refuses for what it holds (a value no column
        stores): kept as ``*.bad`` for a person to look at (logged), so it never blocks the
        records after it."""
        logger.error(
            "%s record %s refused by the database, set aside: %s", self.name, path.name, error
        )
        path.replace(path.with_suffix(".bad"))

    def done(self, paths) -> None:
        """Forget claimed records that are stored now."""
        for path in paths:
            path.unlink()
