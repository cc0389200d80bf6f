"""docker-compose.yml cannot run here (no Docker engine), so check it statically: every
variable it gives the app is one the settings read, every service the app needs is there and
healthy before the app starts, and the settings accept the environment it sets."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
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
    value = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{([A-Z0-9_]+):\?[^}]*\}", lambda m: f"example-{m.group(1).lower()}", value)


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
    # Both indexes are built from the database before the app serves: the reps' and the
    # admin's (Wagtail's own, for marketers' page and document search).
    for build in ("manage.py search_reindex", "manage.py update_index"):
        assert build in services["web"]["command"]
    # The analytics scheduler queues refreshes for the worker; it starts once the web app
    # (which migrates the database) is healthy.
    assert "manage.py analytics_scheduler" in services["scheduler"]["command"]
    assert services["scheduler"]["depends_on"]["web"]["condition"] == "service_healthy"
    # ... as does the worker, which would otherwise start on tables not made yet.
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    # The web check asks /healthz/ (any Host, plain HTTP: tests/test_health.py) and gives a
    # first start time to migrate and build both indexes.
    check = services["web"]["healthcheck"]
    assert "http://127.0.0.1:8000/healthz/" in " ".join(check["test"])
    assert int(check["start_period"].rstrip("s")) >= 300
    assert services["scheduler"]["environment"] == services["worker"]["environment"]
    assert "mb --ignore-existing local/enablement" in services["minio-bucket"]["entrypoint"]


def test_app_environment_points_at_the_compose_services(compose):
    environment = compose["services"]["web"]["environment"]
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["SEARCH_URL"] == "http://elasticsearch:9200"
    assert environment["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert environment["TASKS_BACKEND"] == "database"
    assert int(_substitute(environment["ANALYTICS_REFRESH_SECONDS"])) <= 60
    for volume in ("postgres-data", "elasticsearch-data", "minio-data", "app-data"):
        assert volume in compose["volumes"]
    for app in ("web", "worker", "scheduler"):  # mail, spools: one data directory for all
        assert "app-data:/data" in " ".join(compose["services"][app]["volumes"])
    # Presigned download URLs name an address a browser can reach, not the network's "minio".
    assert environment["S3_PUBLIC_ENDPOINT_URL"].endswith("localhost:9000}")
    assert "9000:9000" in compose["services"]["minio"]["ports"]


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
        "cms.storage.BucketStorage",
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
    # Links in mails name the address it serves: BASE_URL follows HOST and PORT.
    assert "BASE_URL ?= http://$(HOST):$(PORT)" in makefile
    assert "run: export BASE_URL := $(BASE_URL)" in makefile


def test_the_worker_reads_legacy_office_files_through_the_stacks_tika_server(compose):
    worker = compose["services"]["worker"]
    url = worker["environment"]["TIKA_URL"]
    assert re.fullmatch(r"http://tika:\d+", url)
    assert "tika" in compose["services"] and "tika" in worker["depends_on"]


# --- the image, built without Docker: its files, its build step, a page served ---------------
def _docker_ignored(relative: str, patterns: list[str]) -> bool:
    """Whether ``.dockerignore``'s ``patterns`` leave ``relative`` out (the last matching
    pattern decides; ``!`` keeps; a pattern matches a path or any folder above it)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        glob = pattern.lstrip("!")
        if any(fnmatch.fnmatchcase(prefix, glob) for prefix in prefixes):
            ignored = not keep
    return ignored


def _build_context(target: Path) -> None:
    """Copy what ``COPY . .`` puts in the image (the tracked files .dockerignore keeps)."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    tracked = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for relative in tracked:
        if not _docker_ignored(relative, patterns) and (ROOT / relative).is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target / relative)


def _dockerfile() -> tuple[dict, list[str]]:
    """The Dockerfile's ENV (one line of NAME=value pairs) and the shell commands it RUNs."""
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    env, commands = {}, []
    for line in lines:
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in shlex.split(line[4:]))
        elif line.startswith("RUN "):
            commands += [part.strip() for part in line[4:].split("&&")]
    return env, commands


def test_the_image_holds_every_app_builds_its_static_files_and_serves_a_page(compose, tmp_path):
    """The image once lacked two of its apps (ModuleNotFoundError: accounts) and built its
    static files without their manifest (every page a 500 with DEBUG off)."""
    app, data = tmp_path / "app", tmp_path / "data"
    _build_context(app)
    assert not (app / "tests").exists() and not (app / ".env").exists()
    image_env, commands = _dockerfile()
    assert "COPY . ." in (ROOT / "Dockerfile").read_text()
    (build,) = [command for command in commands if "collectstatic" in command]
    words = shlex.split(build)
    assignments = dict(word.split("=", 1) for word in words if re.fullmatch(r"[A-Z_]+=.*", word))
    command = [word for word in words if not re.fullmatch(r"[A-Z_]+=.*", word)]
    assert command[0] == "python"
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SEARCH_", "S3_"))
    }
    base.pop("DJANGO_SETTINGS_MODULE", None)
    inside = {
        k: v.replace("/app", str(app)).replace("/data", str(data)) for k, v in image_env.items()
    }
    built = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=app,
        env={**base, **inside, **assignments},
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert (Path(inside["STATIC_ROOT"]) / "staticfiles.json").exists()

    web = {k: _substitute(str(v)) for k, v in compose["services"]["web"]["environment"].items()}
    web = {k: v for k, v in web.items() if not k.startswith(("DATABASE_", "SEARCH_", "S3_"))}
    web.pop("TIKA_URL")
    serve = (
        "import django, importlib, sys; django.setup()\n"
        "from django.test import Client\n"
        "for name in ('enablement', 'accounts', 'notifications', 'cms', 'search', 'analytics'):\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.argv[1]), (name, module.__file__)\n"
        "page = Client().get('/login/', HTTP_HOST='localhost')\n"
        "print(page.status_code, b'/static/' in page.content)\n"
    )
    served = subprocess.run(
        [sys.executable, "-c", serve, str(app)],
        cwd=app,
        env={**base, **inside, **web, "DJANGO_SETTINGS_MODULE": "enablement.settings"},
        capture_output=True,
        text=True,
    )
    assert served.returncode == 0, served.stderr[-2000:]
    assert served.stdout.split() == ["200", "True"]


def test_the_image_serves_as_compose_does(compose):
    """The image's own command ran gunicorn's defaults (one worker, a 30 s timeout) where
    compose runs three workers and 60 s: the same app, two behaviours."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    (command,) = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    image = json.loads(command.removeprefix("CMD "))
    script = shlex.split(compose["services"]["web"]["command"])[-1]  # sh -c "...&& gunicorn"
    served = script.split("gunicorn", 1)[1].split()
    assert image[0] == "gunicorn" and image[1:] == served
