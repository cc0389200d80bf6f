"""GET /healthz/: whether this web process can serve, for docker-compose's health check and a
load balancer's. It answers before every other middleware: the check runs inside the
container at 127.0.0.1, a Host the site need not serve (ALLOWED_HOSTS may name only the public
one) and over plain HTTP (SECURE_SSL_REDIRECT would send it to https://127.0.0.1). Before
2026-12-06 the check fetched /login/ and failed under either, so the web service never
became healthy and the scheduler, which waits for it, never started (an outside audit)."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz/"


class HealthMiddleware:
    """``ok`` (200) when the database answers, else ``database unavailable`` (503), nothing
    more: the answer names no host, version or error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != HEALTH_PATH:
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError as error:
            logger.warning("health check: the database did not answer: %s", error)
            return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
        return HttpResponse("ok\n", content_type="text/plain")
