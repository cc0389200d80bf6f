"""The environment parsers, and that a malformed variable stops start-up naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from enablement.env import database_from_url, env_bool, env_int, env_list, env_url

ROOT = Path(__file__).resolve().parent.parent


def test_bool_accepts_common_spellings_and_defaults_when_unset():
    assert env_bool("X", environ={"X": "Yes"}) is True
    assert env_bool("X", environ={"X": "0"}) is False
    assert env_bool("X", True, environ={}) is True


def test_bool_rejects_garbage_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG", environ={"DEBUG": "maybe"})


def test_int_enforces_minimum_and_names_variable():
    assert env_int("N", 5, environ={"N": " 12 "}) == 12
    assert env_int("N", 5, environ={"N": ""}) == 5
    with pytest.raises(ImproperlyConfigured, match="MAX_UPLOAD_MB must be an integer"):
        env_int("MAX_UPLOAD_MB", 50, environ={"MAX_UPLOAD_MB": "50MB"})
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("MAX_UPLOAD_MB", 50, minimum=1, environ={"MAX_UPLOAD_MB": "0"})


def test_list_splits_on_commas_and_drops_blanks():
    assert env_list("H", [], environ={"H": "a.com, b.com,,"}) == ["a.com", "b.com"]
    assert env_list("H", ["x"], environ={}) == ["x"]


def test_url_requires_scheme_and_host():
    assert env_url("SEARCH_URL", schemes=("http",), environ={}) is None
    assert env_url("U", schemes=("http",), environ={"U": "http://h:9200"}) == "http://h:9200"
    with pytest.raises(ImproperlyConfigured, match="SEARCH_URL must start with"):
        env_url("SEARCH_URL", schemes=("http", "https"), environ={"SEARCH_URL": "localhost:9200"})
    with pytest.raises(ImproperlyConfigured, match="invalid port"):
        env_url("SEARCH_URL", schemes=("http",), environ={"SEARCH_URL": "http://h:99999"})


def test_database_url_becomes_postgres_settings():
    db = database_from_url(
        "DATABASE_URL",
        environ={"DATABASE_URL": "postgres://app:p%40ss@db.internal:6543/lib?sslmode=require"},
    )
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("lib", "app", "p@ss")
    assert (db["HOST"], db["PORT"]) == ("db.internal", "6543")
    assert db["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5"}
    chosen = database_from_url(
        "DATABASE_URL", environ={"DATABASE_URL": "postgres://h/db?connect_timeout=30"}
    )
    assert chosen["OPTIONS"] == {"connect_timeout": "30"}


def test_database_url_rejects_other_engines_and_missing_name():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("DATABASE_URL", environ={"DATABASE_URL": "mysql://u@h/db"})
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        database_from_url("DATABASE_URL", environ={"DATABASE_URL": "postgres://u@h:5432/"})


def manage_check(extra_env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    """``manage.py check`` in a process of its own with ``extra_env`` (none of the caller's
    database or search server)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEARCH_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "enablement.settings", "DATA_DIR": str(tmp_path)})
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "postgres://nohost"),
        ("SEARCH_URL", "elastic:9200"),
        ("S3_ADDRESSING_STYLE", "sideways"),
        ("TASKS_BACKEND", "celery"),
        ("PRODUCTION", "perhaps"),
    ],
)
def test_malformed_variable_stops_startup_naming_it(variable, value, tmp_path):
    extra = {variable: value}
    if variable == "S3_ADDRESSING_STYLE":
        extra["S3_BUCKET"] = "bucket"
    result = manage_check(extra, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_local_secret_key_is_generated_once_and_reused(tmp_path):
    env = {"SECRET_KEY": ""}
    assert manage_check(env, tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert manage_check(env, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


def test_production_without_secret_key_refuses_tomanage_check(tmp_path):
    result = manage_check({"PRODUCTION": "true", "SECRET_KEY": ""}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_profile_passes_deploy_checks_without_warnings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEARCH_URL"}}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "enablement.settings",
            "DATA_DIR": str(tmp_path),
            "PRODUCTION": "true",
            "SECRET_KEY": "x" * 20 + "-a-long-and-random-enough-production-key-9f8e7d6c5b4a",
            "ALLOWED_HOSTS": "library.example.com",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embed_origins_are_parsed_and_anything_else_is_refused_by_name():
    from enablement.env import csp_frame_ancestors, env_origins

    environ = {"O": "https://crm.example.com, http://127.0.0.1:9000/"}
    assert env_origins("O", environ=environ, allow_http=True) == [
        "https://crm.example.com",
        "http://127.0.0.1:9000",
    ]
    assert env_origins("O", environ={}) == []
    for bad in (
        "http://127.0.0.1:9000",  # plain HTTP, outside DEBUG
        "https://*",  # any site at all
        "https://*.force.com",  # every Salesforce customer's org
        "crm.example.com",
        "https://crm.example.com/path",
        "javascript:alert(1)",
        "https://a.com 'unsafe-inline'",
        "https://a.com;script-src *",
        "https://a.com:x",
    ):
        with pytest.raises(ImproperlyConfigured, match="^O: "):
            env_origins("O", environ={"O": bad})
    with pytest.raises(ImproperlyConfigured, match="wildcard"):
        env_origins("O", environ={"O": "https://*"}, allow_http=True)
    policy = "default-src 'self'; frame-ancestors 'self'"
    assert csp_frame_ancestors(policy, ["https://crm.example.com"]) == (
        "default-src 'self'; frame-ancestors 'self' https://crm.example.com"
    )
