"""Settings for running django-modelsearch's own SQLite backend tests against
``search.admin_sqlite`` (see test_one_pass_sqlite.py): modelsearch's test app and nothing of
the project's, on a throwaway SQLite file."""

import tempfile
from pathlib import Path

SECRET_KEY = "modelsearch-suite-only-not-secret"  # noqa: S105 - tests only
INSTALLED_APPS = [
    "modelsearch.test.testapp",
    "modelsearch",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(Path(tempfile.mkdtemp(prefix="modelsearch-suite-")) / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MODELSEARCH_BACKENDS = {"default": {"BACKEND": "search.admin_sqlite"}}
# modelsearch's own fixture (its wheel leaves it out): see fixtures/SOURCE.md.
FIXTURE_DIRS = [str(Path(__file__).resolve().parent / "fixtures")]
