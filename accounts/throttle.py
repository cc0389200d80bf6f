"""Login throttling for every way in: /login/, /admin/login/ and API keys and tokens.

django-axes counts failed attempts per (username, client address) and, after
``LOGIN_FAILURE_LIMIT`` failures, refuses that pair for ``LOGIN_COOLOFF_MINUTES`` from the
last failure. Form logins reach it through its authentication backend; API key checks
report their failures here with the pseudo-username "api-key", so guessing keys from one
address is throttled the same way. A locked-out person is told when to try again: a page
(429) or, for the API, JSON with ``Retry-After``.
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.contrib.auth.signals import user_login_failed
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from ninja.errors import HttpError
from wagtail.api.v3.auth import BearerTokenAuth as WagtailBearerTokenAuth
from wagtail.models.api import TOKEN_PREFIX as WAGTAIL_TOKEN_PREFIX


class ThrottleBackend(AxesStandaloneBackend):
    """django-axes' check, first in AUTHENTICATION_BACKENDS. Code that authenticates without
    a request (a management command, the test client's ``login``) is no network path and
    has no client address to count, so it is let through to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class Throttled(Exception):
    """Too many failed attempts from this client; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed attempts; retry after {retry_after} seconds")
        self.retry_after = retry_after


def retry_after_seconds(request=None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds())) if cool_off else 3600


def credentials_check(*, request, username: str) -> None:
    """Raise ``Throttled`` when this client is locked out for ``username``."""
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
        response = render(
            request,
            "registration/locked_out.html",
            {"retry_at": retry_at, "minutes": math.ceil(seconds / 60)},
            status=429,
        )
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
