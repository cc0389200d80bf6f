"""Cross-cutting request handling: the Content-Security-Policy header, bounded request
bodies, no NUL character in an address or parameter, a clear 503 (with Retry-After) when the
database is too busy to write or the file store does not answer, Wagtail's redirects held to
the same permissions as the pages they lead to, signed-out visitors sent to sign in at every
library URL, whether a page is there or not, and the visibility rule's tree-wide reads made
once per page opened."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from wagtail.contrib.redirects.middleware import RedirectMiddleware as WagtailRedirectMiddleware
from wagtail.contrib.redirects.middleware import get_redirect
from wagtail.contrib.redirects.models import Redirect

from cms.selectors import page_visible_to, tree_read_ahead, tree_read_once
from cms.storage import file_store_down

logger = logging.getLogger(__name__)
BUSY_RETRY_SECONDS = 5
STORE_RETRY_SECONDS = 60  # a store that does not answer is rarely back within seconds


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` with every response that has none."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


_REFUSAL_HEADINGS = {
    400: "This address cannot be answered",
    413: "Too large",
    503: "Try again shortly",
}


def _refusal(request, message: str, status: int, retry_after: int | None = None):
    """What every refusal here answers: the message as JSON under /api/, as the site's error
    page to a browser (``error.html``, which reads nothing from the database), else as text."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=status)
    elif "text/html" in request.headers.get("Accept", ""):
        in_admin = request.path.startswith("/admin/")
        context = {
            "heading": _REFUSAL_HEADINGS.get(status, "Not answered"),
            "message": message,
            "try_again": retry_after is not None and request.method in ("GET", "HEAD"),
            "back": ("/admin/", "Back to the admin") if in_admin else ("/", "Back to the library"),
        }
        response = HttpResponse(render_to_string("error.html", context), status=status)
    else:
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _too_large(request) -> HttpResponse:
    if request.content_type == "multipart/form-data":  # a file upload: name the file limit
        message = (
            f"The file is larger than the {settings.MAX_UPLOAD_MB} MB a file may be, "
            "so nothing was saved."
        )
    else:
        limit_mb = settings.MAX_REQUEST_BYTES / (1024 * 1024)
        message = f"The request is larger than this server accepts ({limit_mb:.0f} MB)."
    return _refusal(request, message, 413)


class RequestSizeLimitMiddleware:
    """Refuse (413) a body whose declared length exceeds MAX_REQUEST_BYTES before anything
    reads it: CSRF checking would otherwise parse it, spooling uploads to temporary files,
    even for an anonymous caller. (Django never reads past the declared length.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse("Bad Content-Length.", status=400)
        if length > settings.MAX_REQUEST_BYTES:
            return _too_large(request)
        return self.get_response(request)


class NulCharacterMiddleware:
    """Refuse (400, naming where) a request whose path or a parameter (query string or form
    field) holds a NUL character: no text column stores one on PostgreSQL, so it would be a
    500 at the first lookup, or a search event that no flush could ever write. (Forms refuse
    NUL too; JSON bodies are checked by ``enablement.api.StrictJSON``.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _nul_in(request)
        if where:
            message = f"The {where} holds a NUL character (%00), which no text here may contain."
            return _refusal(request, message, 400)
        return self.get_response(request)


def _nul_in(request) -> str:
    """Where a NUL character is in ``request`` ("address", "parameter 'q'"), or ""."""
    if "\x00" in request.path:
        return "address"
    fields = [request.GET]
    if request.method == "POST":
        fields.append(request.POST)
    for data in fields:
        for name, values in data.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return f"parameter {name.replace(chr(0), '%00')[:40]!r}"
    return ""


def database_busy(error: BaseException) -> bool:
    """Whether ``error`` means "the database is locked by another writer right now"
    (SQLite's busy timeout ran out; PostgreSQL's lock or statement timeout)."""
    if not isinstance(error, OperationalError):
        return False
    text = str(error).lower()
    cause = getattr(error, "__cause__", None)
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return (
        "database is locked" in text
        or "database table is locked" in text
        or code in {"55P03", "57014", "40P01"}
    )


# PostgreSQL's codes for a session the server ended or would not begin: an administrator's
# shutdown or restart, a crash restart, a server starting up or shutting down, an idle
# session ended by its timeout.
SERVER_ENDED_SESSION = frozenset({"57P01", "57P02", "57P03", "57P05"})


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database server cannot be reached, rather than that this
    query or this database is wrong.

    The rule: the error comes from psycopg (Django keeps the driver's error as
    ``__cause__``, and only psycopg's errors carry a ``sqlstate``) and its SQLSTATE is

    - none at all: the client library's own failures, before or outside any answer from the
      server (connection refused, "server closed the connection unexpectedly", "the
      connection is closed", a timeout);
    - class 08, connection exception: the server or the network reports the connection
      failed;
    - one of ``SERVER_ENDED_SESSION``: "terminating connection due to administrator
      command", "the database system is starting up", and the like.

    Everything else is not an outage: an error the server answered with a code of another
    class (a missing table, a statement timeout, a deadlock), and every SQLite error, since
    there is no server to come back (a locked database is the package's case, handled
    apart). ``InterfaceError`` is left out too: psycopg 3 reports a broken connection as an
    ``OperationalError`` and keeps ``InterfaceError`` for misuse (a closed cursor), which
    waiting would not mend. The error alone decides, with no query to the database after
    it: a server restarted within the second answers such a query, yet the session the
    worker held is gone all the same.
    """
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if not hasattr(cause, "sqlstate"):
        return False
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in SERVER_ENDED_SESSION


class DatabaseBusyMiddleware:
    """A request that fails because the database stayed busy past its timeout answers 503
    with Retry-After (the API as JSON), never a 500: the client retries, nothing is lost."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_busy(exception):
            return None
        logger.warning("database busy on %s %s: %s", request.method, request.path, exception)
        return busy_refusal(request)


def busy_refusal(request) -> HttpResponse:
    """503 with Retry-After: the database stayed busy (the API's own handler answers the same).
    A form sent (an admin Save or Publish) is told how to send it again without losing it:
    the browser's Back keeps what was typed, where a link away would not."""
    if request.method in ("GET", "HEAD"):
        message = "The library is busy saving other changes; try again in a few seconds."
    else:
        message = (
            "The library is busy saving other changes and could not finish this. Go back (your "
            "browser keeps what you typed) and send it again in a few seconds."
        )
    return _refusal(request, message, 503, retry_after=BUSY_RETRY_SECONDS)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, for a database that stays busy past its timeout while the session is saved
    after the view. Django answers a failed update of the session with 400 "Bad request"
    (``SessionInterrupted``, meant for a session deleted meanwhile), although the view's work
    was done: the rep who pressed "Used in deal" was asked to try again and counted it twice.
    A busy update keeps the view's answer and loses only the session's change (a one-off
    notice); a new session that cannot be stored (signing in) is the busy page, since the
    user would not be signed in."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except SessionInterrupted as interrupted:
            update_error = interrupted.__context__
            if not database_busy(getattr(update_error, "__context__", None)):
                raise
            logger.warning(
                "database busy: the session of %s %s was not saved", request.method, request.path
            )
            return response
        except OperationalError as error:
            if not database_busy(error):
                raise
            logger.warning(
                "database busy: a new session on %s %s was not stored", request.method, request.path
            )
            return busy_refusal(request)


class FileStoreDownMiddleware:
    """A request that fails because the file store is down (S3 not answering, a full disk)
    answers 503 with Retry-After saying so, never a 500: an upload is not saved (the file is
    stored before its row), a preview or download can be tried again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not file_store_down(exception):
            return None
        logger.warning("file store down on %s %s: %r", request.method, request.path, exception)
        message = (
            "The file store is not available, so nothing was saved or sent; try again in a minute."
        )
        return _refusal(request, message, 503, retry_after=STORE_RETRY_SECONDS)


class RedirectMiddleware(WagtailRedirectMiddleware):
    """Wagtail's redirects (the old URL of a page that was moved or renamed), except to an asset
    or section the user may not open: that request stays the 404 it was, so a redirect never
    tells a rep where a restricted page went (or what it is now called)."""

    def process_response(self, request, response):
        redirected = super().process_response(request, response)
        if redirected is response:
            return response
        target = _redirect_page(request)
        if target is not None and not page_visible_to(request.user, target):
            return response
        return redirected


def _redirect_page(request):
    """The page the redirect Wagtail just chose for this request points to, if any (Wagtail's
    own lookup: the full path, then the path without its query)."""
    path = Redirect.normalise_path(request.get_full_path(), decode_unicode=False)
    redirect = get_redirect(request, path) or get_redirect(request, urlparse(path).path)
    return redirect.redirect_page if redirect is not None else None


class SignInFirstMiddleware:
    """A signed-out visitor asking Wagtail for any URL is sent to sign in, whether a page is
    there or not (or one they could never open), so that nothing tells them which library URLs
    exist. Signed in, the library's visibility rule applies (``cms.serving``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match.url_name == "wagtail_serve" and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return None


class TreeReadOnceMiddleware:
    """A GET or HEAD request reads what the visibility rule needs from the whole tree once
    (``cms.selectors.tree_read_once``), however often its page asks the rule; for a page of
    the library it reads it before Wagtail looks for the page (``tree_read_ahead``), so that
    a missing page answers as slowly as a hidden one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        with tree_read_once():
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.resolver_match.url_name == "wagtail_serve" and request.user.is_authenticated:
            tree_read_ahead(request.user)
        return None
