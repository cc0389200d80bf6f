"""The Content-Security-Policy is on every kind of response, and nothing in the rendered
pages names another host; the browsable API docs are local, and off in production."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from accounts.roles import ADMIN
from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url", ["/login/", "/admin/login/", "/api/v1/openapi.json", "/s/nope/", "/api/v1/docs"]
)
def test_every_response_has_a_policy_without_inline_or_foreign_script(url):
    response = Client().get(url)
    policy = response["Content-Security-Policy"]
    script = policy.split("script-src")[1].split(";")[0]
    assert script.strip() == "'self'"
    assert "default-src 'self'" in policy and "object-src 'none'" in policy


def test_api_docs_load_swagger_from_this_site():
    html = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "http" not in html.split("<body")[1]
    # Swagger UI fetches a validator badge from validator.swagger.io for a schema served from
    # any host but localhost, unless told not to.
    assert '"validatorUrl": null' in html


def test_admin_pages_name_no_other_host():
    client = Client()
    client.force_login(make_user(role=ADMIN, is_superuser=True))
    html = client.get("/admin/").content.decode()
    assert "gravatar" not in html and "releases.wagtail.org" not in html


def test_api_docs_are_off_in_production(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEARCH_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "enablement.settings",
            "DATA_DIR": str(tmp_path),
            "PRODUCTION": "true",
            "SECRET_KEY": "x" * 60,
            "ALLOWED_HOSTS": "library.example.com",
        }
    )
    code = "from enablement.api import api; print(api.docs_url)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip().splitlines()[-1] == "None", result.stderr
