"""docker-compose.yml cannot run here (no Docker engine), so check it statically: every
variable it gives the app is one the settings read, every service the app needs is there and
healthy before the app starts, and the settings accept the environment it sets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = "\n".join(
    (ROOT / "enablement" / name).read_text() for name in ("settings.py", "env.py")
)
READ_BY_SETTINGS = set(re.findall(r"env_\w+\(\s*\"([A-Z0-9_]+)\"", SETTINGS_SOURCE)) | set(
    re.findall(r"database_from_url\(\"([A-Z0-9_]+)\"", SETTINGS_SOURCE)
)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _substitute(value: str) -> str:
    """Resolve ${VAR:?msg} and ${VAR:-default} the way compose would with a filled .env."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", lambda m: f"example-{m.group(1).lower()}", value)


def test_app_services_only_set_variables_the_settings_read(compose):
    for name in ("web", "worker", "scheduler"):
        environment = compose["services"][name]["environment"]
        unknown = set(environment) - READ_BY_SETTINGS
        assert not unknown, f"{name} sets variables the settings never read: {sorted(unknown)}"


def test_every_backing_service_is_present_healthchecked_and_awaited(compose):
    services = compose["services"]
    for needed in ("web", "worker", "postgres", "elasticsearch", "minio", "minio-bucket"):
        assert needed in services, f"docker-compose.yml lacks the {needed} service"
    for backing in ("postgres", "elasticsearch", "minio", "web"):
        assert "healthcheck" in services[backing], f"{backing} has no healthcheck"
    for app in ("web", "worker"):
        depends = services[app]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["elasticsearch"]["condition"] == "service_healthy"
        assert depends["minio-bucket"]["condition"] == "service_completed_successfully"
    assert "db_worker" in services["worker"]["command"]
    assert "gunicorn" in services["web"]["command"]
    # The analytics scheduler queues refreshes for the worker; it starts once the web app
    # (which migrates the database) is healthy.
    assert "manage.py analytics_scheduler" in services["scheduler"]["command"]
    assert services["scheduler"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["scheduler"]["environment"] == services["worker"]["environment"]
    assert "mb --ignore-existing local/enablement" in services["minio-bucket"]["entrypoint"]


def test_app_environment_points_at_the_compose_services(compose):
    environment = compose["services"]["web"]["environment"]
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["SEARCH_URL"] == "http://elasticsearch:9200"
    assert environment["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert environment["TASKS_BACKEND"] == "database"
    assert int(_substitute(environment["ANALYTICS_REFRESH_SECONDS"])) <= 60
    for volume in ("postgres-data", "elasticsearch-data", "minio-data"):
        assert volume in compose["volumes"]


def test_no_secret_is_written_into_the_compose_file(compose):
    environment = compose["services"]["web"]["environment"]
    for key in ("SECRET_KEY", "S3_SECRET_ACCESS_KEY"):
        assert environment[key].startswith("${"), f"{key} must come from .env"


def test_settings_accept_the_compose_environment(compose, tmp_path):
    environment = {
        key: _substitute(str(value))
        for key, value in compose["services"]["web"]["environment"].items()
    }
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(environment)
    env.update({"DJANGO_SETTINGS_MODULE": "enablement.settings", "DATA_DIR": str(tmp_path)})
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.STORAGES['default']['BACKEND'], "
        "s.SEARCH_URL, s.TASKS['default']['BACKEND'], s.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "storages.backends.s3.S3Storage",
        "http://elasticsearch:9200",
        "django_tasks_db.DatabaseBackend",
        "False",
    ]


def test_make_run_starts_the_web_server_a_worker_and_the_scheduler():
    """`make run` (embedded defaults) runs the same three processes as the compose stack."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun: install\n", 1)[1].split("\n\n", 1)[0]
    assert "TASKS_BACKEND=database" in recipe
    for command in ("manage.py db_worker", "manage.py analytics_scheduler", "manage.py runserver"):
        assert command in recipe, command
    assert "trap 'kill $$worker $$scheduler" in recipe  # Ctrl-C stops all three


def test_the_worker_reads_legacy_office_files_through_the_stacks_tika_server(compose):
    worker = compose["services"]["worker"]
    url = worker["environment"]["TIKA_URL"]
    assert re.fullmatch(r"http://tika:\d+", url)
    assert "tika" in compose["services"] and "tika" in worker["depends_on"]
