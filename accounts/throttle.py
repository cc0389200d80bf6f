"""Login throttling for every way in: /login/, /admin/login/ and API keys and tokens.

django-axes counts failed attempts per (username, client address) and, after
``LOGIN_FAILURE_LIMIT`` failures, refuses that pair for ``LOGIN_COOLOFF_MINUTES`` from the
last failure. Password spraying (one or two common passwords tried against every username
from one address) never reaches that limit, so ``ThrottleHandler`` also refuses an address
once ``LOGIN_IP_FAILURE_LIMIT`` failures (any usernames) came from it within the cool-off:
high enough that an office behind one address, with its typos, never meets it. (axes applies
one failure limit to all its lockout parameter sets, hence a handler of our own.)

Form logins reach the throttle through its authentication backend; API key checks report
their failures here with the pseudo-username "api-key", so guessing keys from one address is
throttled the same way. A locked-out person is told when to try again: a page (429) or, for
the API, JSON with ``Retry-After``; the page says whether the address or the username is
paused, never whether the username exists.

A locked database (another writer holding it) must neither keep a person waiting the whole
busy timeout nor let an attempt go uncounted: a sign-in's writes (its failure, or the
session, last login and access log of a success) give up after ``SIGN_IN_PATIENCE_SECONDS``
and the attempt answers 503 "busy" (``cms.middleware.DatabaseBusyMiddleware``) whatever the
password was, so nothing is learnt from it and nobody is signed in; a client already locked
out is still told so (429), since refusing it needs no write.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.signals import request_finished
from django.db import OperationalError
from django.db.models import Sum
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from ninja.errors import HttpError
from wagtail.api.v3.auth import BearerTokenAuth as WagtailBearerTokenAuth
from wagtail.models.api import TOKEN_PREFIX as WAGTAIL_TOKEN_PREFIX

from accounts.lock_wait import lock_wait_restore, lock_wait_shorten

logger = logging.getLogger(__name__)

#: How long a sign-in's writes wait for a lock another writer holds before the attempt
#: answers "busy" (503, Retry-After): a healthy writer commits in milliseconds, and the
#: database's own busy timeout (SQLITE_BUSY_TIMEOUT_SECONDS, 20 s) is far too long for a
#: person looking at a sign-in form.
SIGN_IN_PATIENCE_SECONDS = 1.0

#: Why a client is refused: too many failures for this username from this address, or from
#: this address whatever the usernames (``LOGIN_IP_FAILURE_LIMIT``).
USERNAME, ADDRESS = "username", "address"


class ThrottleBackend(AxesStandaloneBackend):
    """django-axes' check, first in AUTHENTICATION_BACKENDS. Code that authenticates without
    a request (a management command, the test client's ``login``) is no network path and
    has no client address to count, so it is let through to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        sign_in_patience(request)
        return super().authenticate(request, username=username, password=password, **kwargs)


class ThrottleHandler(AxesDatabaseHandler):
    """axes' database handler (``AXES_HANDLER``) with a second, higher limit per client
    address alone. Failures are recorded as axes records them, one row per (username,
    address, user agent); the address's count is the sum of its rows within the cool-off, so
    it falls as rows age out. A success resets only its own username's rows at that address
    (``AXES_LOCKOUT_PARAMETERS``): signing in to one account an attacker holds never clears
    what that address sprayed."""

    def lockout_scope(self, request, credentials: dict | None = None) -> str | None:
        """``USERNAME`` or ``ADDRESS`` when this client is refused, and why; else None."""
        if super().is_locked(request, credentials):
            return USERNAME
        if address_failures(request) >= settings.LOGIN_IP_FAILURE_LIMIT:
            return ADDRESS
        return None

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return self.lockout_scope(request, credentials) is not None

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        """Record the failure (failing fast on a locked database: the attempt then answers
        503 and is no success), and lock the address out at its own limit."""
        if request is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        sign_in_patience(request)
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
        except OperationalError as error:
            if not self.is_locked(request, credentials):  # a read: a locked database allows it
                raise
            # Refused before the password was looked at: say when to retry, though the extra
            # failure (which would only push the retry time later) could not be written.
            logger.warning("login throttle: a refused attempt was not recorded: %s", error)
            request.axes_locked_out = True
            request.axes_credentials = credentials
            return None
        if request.axes_locked_out:
            return None
        if address_failures(request) >= settings.LOGIN_IP_FAILURE_LIMIT:
            logger.warning(
                "login throttle: address %s locked out after %d failed sign-ins",
                request.axes_ip_address,
                settings.LOGIN_IP_FAILURE_LIMIT,
            )
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )
        return None

    def user_logged_in(self, sender, request, user, **kwargs):
        sign_in_patience(request)
        return super().user_logged_in(sender, request, user, **kwargs)


def client_address(request) -> str | None:
    """The client's address (``AXES_CLIENT_IP_CALLABLE``): ``REMOTE_ADDR``, or behind
    ``PROXY_COUNT`` reverse proxies the address the outermost of them saw, which is the
    ``PROXY_COUNT``-th entry of ``X-Forwarded-For`` from its end (each proxy appends the
    address it was reached from; entries before those are the client's own word and can be
    anything). Without it every client behind a proxy would share the proxy's address, and
    the address limit would pause everyone at once."""
    remote = request.META.get("REMOTE_ADDR") or None
    if not settings.PROXY_COUNT:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < settings.PROXY_COUNT:
        return remote  # not through all the proxies: trust only the connection
    try:
        return str(ipaddress.ip_address(forwarded[-settings.PROXY_COUNT]))
    except ValueError:
        return remote


def address_failures(request) -> int:
    """Failed attempts from this request's client address within the cool-off, any
    username (axes keeps the count of each row's run and the time of its last failure)."""
    total = (
        AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        )
        .aggregate(total=Sum("failures_since_start"))
        .get("total")
    )
    return total or 0


_patience = threading.local()


def sign_in_patience(request) -> None:
    """From here to the end of ``request``, writes on the default connection give up on a
    lock another writer holds after ``SIGN_IN_PATIENCE_SECONDS`` (SQLite's busy_timeout,
    PostgreSQL's lock_timeout) and the request answers 503; the connection's own wait is put
    back when the request finishes. Everything a sign-in writes comes after the credentials
    are checked (the failure, the session, last login), so the whole attempt is quick to say
    "busy", and never signed in without its writes (``accounts.lock_wait``). Only for a request that
    came from a client (it has its address): code that signs someone in without one (the
    test client's ``force_login``, a shell) has no end of request to put the wait back."""
    if not request.META.get("REMOTE_ADDR"):
        return
    if getattr(_patience, "saved", None) is None:
        _patience.saved = lock_wait_shorten(SIGN_IN_PATIENCE_SECONDS)


@receiver(request_finished, dispatch_uid="accounts.throttle.sign_in_patience_end")
def sign_in_patience_end(**kwargs) -> None:
    """Put back the wait ``sign_in_patience`` shortened, in the thread that served the request
    (a connection closed meanwhile gets its configured wait anew)."""
    saved = getattr(_patience, "saved", None)
    _patience.saved = None
    lock_wait_restore(saved)


class Throttled(Exception):
    """Too many failed attempts from this client; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed attempts; retry after {retry_after} seconds")
        self.retry_after = retry_after


def retry_after_seconds(request=None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds())) if cool_off else 3600


def credentials_check(*, request, username: str) -> None:
    """Raise ``Throttled`` when this client is locked out for ``username`` or altogether."""
    if request is not None and AxesProxyHandler.is_locked(request, {"username": username}):
        raise Throttled(retry_after_seconds(request))


def credentials_failed(*, request, username: str) -> None:
    """Count one failed attempt (what Django's ``authenticate`` does for a bad password)."""
    if request is not None:
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def lockout_response(request, original_response=None, credentials=None):
    """What axes answers a locked-out client: when to retry, as a page or as JSON."""
    seconds = retry_after_seconds(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": str(Throttled(seconds))}, status=429)
    else:
        retry_at = timezone.localtime(timezone.now() + timezone.timedelta(seconds=seconds))
        scope = AxesProxyHandler.get_implementation().lockout_scope(request, credentials)
        context = {
            "retry_at": retry_at,
            "minutes": math.ceil(seconds / 60),
            "whole_address": scope == ADDRESS,
        }
        response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def throttled_response(request, error: Throttled):
    """django-ninja exception handler for ``Throttled``."""
    response = JsonResponse({"detail": str(error)}, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


#: How the two kinds of bearer token begin: the app's own API keys (``analytics``: events and
#: analytics APIs) and Wagtail's API tokens (the search API). A token of the other kind can
#: never open an API, so it is refused saying so and not counted as a guess: one integration
#: configured with the wrong key would otherwise lock every key from its address out.
APP_KEY_PREFIX = "ea_"


class WrongKindOfToken(HttpError):
    def __init__(self, given: str, takes: str):
        super().__init__(401, f"{given} does not open this API; it takes {takes}")


class BearerTokenAuth(WagtailBearerTokenAuth):
    """Wagtail's API token check (``Authorization: Bearer``), unknown tokens throttled like
    logins; a valid token is never refused by the throttle, as for API keys
    (``analytics.services.api_key_authenticate``). (Same class name as Wagtail's, which names
    the scheme in the OpenAPI schema.)"""

    def authenticate(self, request, token: str):
        if token.startswith(APP_KEY_PREFIX):
            raise WrongKindOfToken(
                f"An API key ({APP_KEY_PREFIX}…)", f"a Wagtail API token ({WAGTAIL_TOKEN_PREFIX}…)"
            )
        result = super().authenticate(request, token)
        if result is None:
            credentials_check(request=request, username="api-key")
            credentials_failed(request=request, username="api-key")
        return result
