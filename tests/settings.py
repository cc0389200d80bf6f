"""Cheap test settings: temporary data directory, fast hashing, immediate tasks."""

import os
import tempfile

os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="enablement-test-")
os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.pop("SEARCH_URL", None)
os.environ.pop("S3_BUCKET", None)
os.environ["TASKS_BACKEND"] = "immediate"

from enablement.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Concurrency tests (threads, transaction=True) need a file database: SQLite's shared-cache
# in-memory database answers "table is locked" to a second writer instead of waiting.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - keeps WhiteNoise quiet
