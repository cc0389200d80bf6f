"""A circuit breaker: stop asking a search server that did not answer, for a while.

A server that hangs (accepts the connection, never answers) holds each request's worker for
the whole timeout; with a few sync workers every page of the site then waits behind searches.
After one request that could not connect or timed out, the breaker is *open*: for
``cooldown`` seconds every request fails at once with ``SearchUnavailable``, without touching
the network. Then exactly one request (the *probe*) is let through while the others still
fail at once; its answer closes the breaker, its failure opens it for another cool-down.

Only silence counts. A server that answers, even with an error status (a 400 for a bad
query, a 500), is there: that is the caller's error to report, not a reason to stop asking.

One breaker per server and process (``breaker_for``): the rep search's engine and the
admin's Wagtail backends ask the same server, so when either finds it silent the other stops
asking too. Each process learns on its own; nothing is shared between processes.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator

from search.engines.base import SearchUnavailable

logger = logging.getLogger(__name__)


class Breaker:
    def __init__(
        self, *, server: str, cooldown: float, clock: Callable[[], float] = time.monotonic
    ):
        self.server, self.cooldown, self.clock = server, cooldown, clock
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # None: closed; else when the next probe may go
        self._probing = False

    @contextlib.contextmanager
    def guard(self, unanswered: Callable[[BaseException], bool]) -> Iterator[None]:
        """Run the block as one request to the server, or raise ``SearchUnavailable`` at once
        while the breaker is open. ``unanswered(error)`` says whether an error raised by the
        block means the server did not answer (a failure); any other outcome means it did."""
        self._enter()
        try:
            yield
        except BaseException as error:
            if unanswered(error):
                self._failed(error)
            else:
                self._answered()
            raise
        self._answered()

    def _enter(self) -> None:
        with self._lock:
            if self._retry_at is None:
                return
            wait = self._retry_at - self.clock()
            if wait <= 0 and not self._probing:
                self._probing = True  # this request is the probe
                return
        if wait > 0:
            at = datetime.datetime.now() + datetime.timedelta(seconds=wait)
            when = f"it will be tried again in {wait:.0f} s (at {at:%H:%M:%S})"
        else:
            when = "another request is trying it again now"
        raise SearchUnavailable(
            f"the search server at {self.server} did not answer recently; {when}"
        )

    def _failed(self, error: BaseException) -> None:
        with self._lock:
            self._retry_at = self.clock() + self.cooldown
            self._probing = False
        logger.warning(
            "search server at %s did not answer (%s): not asked again for %g s",
            self.server,
            error,
            self.cooldown,
        )

    def _answered(self) -> None:
        with self._lock:
            if self._retry_at is not None:
                logger.info("search server at %s answers again", self.server)
            self._retry_at, self._probing = None, False


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(url: str, *, cooldown: float) -> Breaker:
    """This process's breaker for the server at ``url``, made on first use with ``cooldown``
    (the engine and the admin's backends both pass ``SEARCH_COOLDOWN_SECONDS``)."""
    with _breakers_lock:
        if url not in _breakers:
            _breakers[url] = Breaker(server=without_password(url), cooldown=cooldown)
        return _breakers[url]


def breakers_forget() -> None:
    """Drop every server's breaker, as a new process starts (tests: a server one test found
    down must not be refused in the next)."""
    with _breakers_lock:
        _breakers.clear()


def without_password(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))
