"""Small typed parsers for environment variables.

Every parser takes the variable's name so that a malformed value stops start-up with an
``ImproperlyConfigured`` error naming the variable, instead of failing later somewhere deep.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool = False, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(
    name: str,
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Return the URL in ``name`` or None when unset; refuse other schemes or a missing host."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return None
    parsed = urlparse(value.strip())
    if parsed.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(s + '://' for s in schemes)}, got {value!r}"
        )
    if not parsed.hostname:
        raise ImproperlyConfigured(f"{name} has no host: {value!r}")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {value!r}") from None
    return value.strip()


def env_origins(
    name: str, *, environ: Mapping[str, str] | None = None, allow_http: bool = False
) -> list[str]:
    """A comma-separated list of web origins (``https://crm.example.com[:port]``, no path),
    e.g. for CSP ``frame-ancestors``; anything else raises ImproperlyConfigured naming it.

    Refused too, as an outside audit found they let far more than the company's CRM in: a
    wildcard (``https://*`` let any site frame the deal page; ``https://*.force.com`` every
    Salesforce customer's org), and ``http:`` unless ``allow_http`` (the settings allow it
    with DEBUG only: a page framed over plain HTTP can be framed by whoever is on the path)."""
    origins = []
    for item in env_list(name, [], environ=environ):
        parsed = urlparse(item)
        try:
            parsed.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            parsed = None
        if (
            parsed is None
            or parsed.scheme not in ("http", "https")
            or not parsed.hostname
            or parsed.path not in ("", "/")
            or parsed.query
            or any(c in item for c in " ;'\"")
        ):
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an origin like https://crm.example.com"
            )
        if "*" in item:
            raise ImproperlyConfigured(
                f"{name}: {item!r} has a wildcard; list each origin, like "
                "https://acme.lightning.force.com"
            )
        if parsed.scheme == "http" and not allow_http:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is plain HTTP; outside DEBUG only https:// origins may "
                "frame pages"
            )
        origins.append(f"{parsed.scheme}://{parsed.netloc}")
    return origins


def csp_frame_ancestors(policy: str, origins: list[str]) -> str:
    """``policy`` with its ``frame-ancestors 'self'`` widened to ``origins`` as well."""
    return policy.replace("frame-ancestors 'self'", " ".join(["frame-ancestors 'self'", *origins]))


#: Seconds to wait for PostgreSQL to take a connection (libpq's ``connect_timeout``).
DATABASE_CONNECT_TIMEOUT = 5


def database_from_url(name: str, *, environ: Mapping[str, str] | None = None) -> dict | None:
    """Translate ``postgres://user:pass@host:port/db?sslmode=...`` into a Django DATABASES entry."""
    url = env_url(name, schemes=("postgres", "postgresql"), environ=environ)
    if url is None:
        return None
    parsed = urlparse(url)
    database = parsed.path.lstrip("/")
    if not database:
        raise ImproperlyConfigured(f"{name} names no database: {url!r}")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    # A server that takes the connection and never answers (hung, or a dead host behind a
    # firewall) fails the request in this many seconds rather than holding its worker until
    # gunicorn kills it; ``?connect_timeout=`` in the URL chooses another.
    options.setdefault("connect_timeout", str(DATABASE_CONNECT_TIMEOUT))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(database),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
    }


def s3_storage_from_env(*, environ: Mapping[str, str] | None = None) -> dict | None:
    """The STORAGES entry for a private S3 bucket when S3_BUCKET is set, else None.

    Objects are private (no ACL); reads go through presigned URLs that live
    S3_PRESIGN_SECONDS. A store that does not answer fails a request after S3_TIMEOUT_SECONDS
    per attempt, two attempts (``cms.storage.BucketStorage``). S3_ENDPOINT_URL points at MinIO
    or another S3-compatible server;
    S3_PUBLIC_ENDPOINT_URL, when browsers reach it at another address, names that one
    (``cms.storage.BucketStorage``).
    """
    bucket = env_str("S3_BUCKET", environ=environ)
    if not bucket:
        return None
    addressing = env_str("S3_ADDRESSING_STYLE", "auto", environ=environ)
    if addressing not in {"auto", "path", "virtual"}:
        raise ImproperlyConfigured(
            f"S3_ADDRESSING_STYLE must be auto, path or virtual, got {addressing!r}"
        )
    endpoint = env_url("S3_ENDPOINT_URL", schemes=("http", "https"), environ=environ)
    return {
        "BACKEND": "cms.storage.BucketStorage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "public_endpoint_url": env_url(
                "S3_PUBLIC_ENDPOINT_URL", schemes=("http", "https"), environ=environ
            ),
            "region_name": env_str("S3_REGION", "us-east-1", environ=environ),
            "access_key": env_str("S3_ACCESS_KEY_ID", environ=environ) or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", environ=environ) or None,
            "addressing_style": addressing,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env_int("S3_PRESIGN_SECONDS", 60, minimum=1, environ=environ),
            "file_overwrite": False,
            "timeout": env_int("S3_TIMEOUT_SECONDS", 10, minimum=1, environ=environ),
        },
    }


def s3_origins(options: dict) -> list[str]:
    """The origins a browser fetches S3 objects from (for the Content-Security-Policy)."""
    endpoint = options.get("public_endpoint_url") or options.get("endpoint_url")
    if endpoint:
        parsed = urlparse(endpoint)
        return [f"{parsed.scheme}://{parsed.netloc}"]
    bucket, region = options["bucket_name"], options["region_name"]
    return [f"https://{bucket}.s3.{region}.amazonaws.com", f"https://s3.{region}.amazonaws.com"]


def wagtail_search_backends(*, url: str | None, engine: str, index: str) -> dict:
    """WAGTAILSEARCH_BACKENDS for the admin's own search (pages, documents, choosers).

    Without a search server (or with SEARCH_ENGINE=embedded) Wagtail's database backend
    searches the database itself (PostgreSQL full text; on SQLite, FTS5 through
    ``search.admin_sqlite``, which asks it in one pass). With one, Wagtail's own
    Elasticsearch or OpenSearch backend uses the same server (``search.admin_backend`` picks
    which; ``auto`` asks the server), in indexes named ``<index>-wagtail-<model>`` beside the
    rep search's alias.
    """
    if not url or engine == "embedded":
        return {"default": {"BACKEND": "search.admin_backend", "ENGINE": "database"}}
    return {
        "default": {
            "BACKEND": "search.admin_backend",
            "ENGINE": engine,
            "URLS": [url],
            "INDEX_PREFIX": f"{index}-wagtail-",
            "TIMEOUT": 10,
        }
    }
