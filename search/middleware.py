"""The admin's search server failing answers with a page that says so, never a 500.

Wagtail's admin (page search, the choosers, the document listing) asks Wagtail's search
backend; with ``SEARCH_URL`` set that is the project's Elasticsearch/OpenSearch server
(``search.admin_backend``). When that server is down or its index was never built, the error
surfaces while the view or its template runs; this turns it into a 503 naming the problem and
what to do, and logs it. Saving and publishing are unaffected (Wagtail logs and skips indexing
errors for these backends; ``manage.py update_index`` catches the index up).
"""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.urls import reverse

from search.admin_backend import AdminIndexUnmapped, AdminSearchUnavailable
from search.engines import SearchUnavailable, retry_after

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    "Search is unavailable: the search server does not answer. Browsing and editing pages "
    "and documents still work; try the search again in a minute."
)
NOT_BUILT = (
    "Search is not set up yet: the admin's search index does not exist. An administrator "
    "builds it with `manage.py update_index`."
)
UNMAPPED = (
    "Search needs rebuilding: the admin's search index was made without the fields it is "
    "searched by. An administrator rebuilds it with `manage.py update_index`."
)
_CLIENT_PACKAGES = {"elasticsearch", "elastic_transport", "opensearchpy"}


def admin_search_problem(error: BaseException) -> str | None:
    """What to tell a user when ``error`` came from the search server, else None."""
    if isinstance(error, AdminSearchUnavailable | SearchUnavailable):  # the latter: the breaker
        return UNAVAILABLE
    if isinstance(error, AdminIndexUnmapped):
        return UNMAPPED
    if type(error).__module__.split(".")[0] not in _CLIENT_PACKAGES:
        return None  # the clients are imported only when one of them raised
    import elastic_transport
    import elasticsearch
    import opensearchpy

    if isinstance(error, elasticsearch.NotFoundError | opensearchpy.NotFoundError):
        return NOT_BUILT
    if isinstance(error, elastic_transport.TransportError | opensearchpy.ConnectionError):
        return UNAVAILABLE  # no answer: refused, timed out, reset
    status = getattr(error, "status_code", None)
    if isinstance(error, elasticsearch.ApiError | opensearchpy.TransportError) and (
        isinstance(status, int) and status >= 500
    ):
        return UNAVAILABLE  # the server answered that it cannot serve (e.g. red cluster)
    return None  # a request the server refused is a bug: a 500, logged with its traceback


class AdminSearchUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith(reverse("wagtailadmin_home")):
            return None
        message = admin_search_problem(exception)
        if message is None:
            return None
        logger.warning("admin search failed on %s: %r", request.path, exception)
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = retry_after()
        return response
