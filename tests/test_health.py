"""GET /healthz/, docker-compose's health check: it answers at the container's own address
whatever ALLOWED_HOSTS and SECURE_SSL_REDIRECT say, and says when the database does not."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@override_settings(
    ALLOWED_HOSTS=["library.example.com"], SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=None
)
def test_the_health_check_answers_at_127_0_0_1_over_plain_http_in_production():
    client = Client(raise_request_exception=False)
    health = client.get("/healthz/", HTTP_HOST="127.0.0.1:8000")
    assert health.status_code == 200 and health.content == b"ok\n"
    # Any other page at that Host is still refused, and over plain HTTP still redirected.
    assert client.get("/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    redirected = client.get("/login/", HTTP_HOST="library.example.com")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")


def test_the_health_check_fails_while_the_database_does_not_answer(caplog):
    down = OperationalError("connection to server at postgres failed: Connection refused")
    with mock.patch("enablement.health.connection.cursor", side_effect=down):
        answer = Client().get("/healthz/")
    assert answer.status_code == 503 and answer.content == b"database unavailable\n"
    assert "postgres" not in answer.content.decode()  # the log has it, not the answer
    assert "Connection refused" in caplog.text
