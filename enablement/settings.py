"""Settings for the enablement library.

One module for every environment. The embedded defaults (SQLite, files under DATA_DIR, the
embedded search engine, tasks run immediately) make ``make run`` work offline; each service at
scale switches on when its environment variable is present. See the README's table.
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from enablement.env import (
    csp_frame_ancestors,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_origins,
    env_str,
    env_url,
    s3_origins,
    s3_storage_from_env,
    wagtail_search_backends,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

PRODUCTION = env_bool("PRODUCTION", False)
DEBUG = env_bool("DEBUG", not PRODUCTION)


def _secret_key() -> str:
    """Use SECRET_KEY; outside production fall back to a key generated once under DATA_DIR."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when PRODUCTION is true")
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "accounts",
    "notifications",
    "cms",
    "search",
    "analytics",
    # The demo library and deals (``manage.py seed_demo``): never installed in production,
    # where its users' published passwords would be a way in.
    *([] if PRODUCTION else ["demo"]),
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "ninja",  # its templates and static files: /api/v1/docs loads nothing from a CDN
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # widget templates through TEMPLATES, so templates/wagtailadmin/ applies
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

MIDDLEWARE = [
    "enablement.health.HealthMiddleware",  # first: any Host, plain HTTP (enablement.health)
    "django.middleware.security.SecurityMiddleware",
    "cms.middleware.TreeReadOnceMiddleware",
    "cms.middleware.ContentSecurityPolicyMiddleware",
    "cms.middleware.RequestSizeLimitMiddleware",
    "cms.middleware.NulCharacterMiddleware",
    "cms.middleware.DatabaseBusyMiddleware",
    "cms.middleware.FileStoreDownMiddleware",
    "search.middleware.AdminSearchUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cms.middleware.SessionMiddleware",  # Django's, for a busy database (cms.middleware)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cms.middleware.RedirectMiddleware",  # Wagtail's, never to a page the user may not open
    "cms.middleware.SignInFirstMiddleware",
    "axes.middleware.AxesMiddleware",
    "enablement.api.MethodNotAllowedAsJson",
    "enablement.api.HeadAsGet",
]

ROOT_URLCONF = "enablement.urls"
WSGI_APPLICATION = "enablement.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "accounts.context_processors.password_reset",
                "notifications.context_processors.bell",
            ],
        },
    },
    {  # only the live search results, the hottest path (see enablement/jinja2.py)
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "enablement.jinja2.environment"},
    },
]

# --- Database: SQLite under DATA_DIR unless DATABASE_URL names PostgreSQL -----------------
SQLITE_WAL_AUTOCHECKPOINT = env_int("SQLITE_WAL_AUTOCHECKPOINT", 1000, minimum=0)
DATABASES = {
    "default": database_from_url("DATABASE_URL")
    or {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "db.sqlite3",
        # WAL: readers never wait for a writer and a writer never waits for readers; short
        # write transactions (see analytics.rollups) keep writers from waiting long on each
        # other. busy_timeout (``timeout``) is how long a writer waits before "busy" (503).
        # Checkpoints (copying the log back into the database) run inside the commit that
        # crosses SQLITE_WAL_AUTOCHECKPOINT pages, so the web server (enablement/wsgi.py sets
        # 0) leaves them to the worker and scheduler: the scheduler checkpoints every tick and
        # each refresh at its end (``analytics.refresh.database_checkpoint``). Every other
        # process keeps SQLite's default of 1000 pages: a long import or rebuild without
        # checkpoints grows the log without bound, and reads slow down with it (loading 1M
        # events left a 29 GB log, over which one grouped read of the events took 212 s).
        "OPTIONS": {
            "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=1),
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT};"
            ),
        },
    }
}
# Connections are kept between requests on either database: opening a SQLite one and running
# its pragmas cost 3.6 ms of every search (bench DB, p50). An idle connection holds no
# snapshot (autocommit), so it keeps no SQLite checkpoint from finishing.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Files: local disk under DATA_DIR unless S3_BUCKET is set --------------------------------
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static"))).resolve()
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "enablement" / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "enablement.staticfiles.LibraryAppDirectoriesFinder",  # less ninja's unused Redoc
]

S3_BUCKET = env_str("S3_BUCKET")
S3_PRESIGN_SECONDS = env_int("S3_PRESIGN_SECONDS", 60, minimum=1)
STORAGES = {
    "default": {"BACKEND": "cms.storage.DiskStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
_s3 = s3_storage_from_env()
STORAGE_ORIGINS: list[str] = []
if _s3:
    STORAGES["default"] = _s3
    STORAGE_ORIGINS = s3_origins(_s3["OPTIONS"])

# --- Search: the embedded engine under DATA_DIR unless SEARCH_URL names a server --------------
SEARCH_URL = env_url("SEARCH_URL", schemes=("http", "https"))
SEARCH_ENGINE = env_str("SEARCH_ENGINE", "auto")
if SEARCH_ENGINE not in {"auto", "embedded", "elasticsearch", "opensearch"}:
    raise ImproperlyConfigured(
        f"SEARCH_ENGINE must be auto, embedded, elasticsearch or opensearch, got {SEARCH_ENGINE!r}"
    )
SEARCH_INDEX = env_str("SEARCH_INDEX", "enablement-assets")
SEARCH_INDEX_DIR = Path(env_str("SEARCH_INDEX_DIR", str(DATA_DIR / "search-index")))
# After a request the server did not answer (refused, timed out), this process stops asking
# it for this long and search answers "unavailable" at once (search.engines.breaker).
SEARCH_COOLDOWN_SECONDS = env_int("SEARCH_COOLDOWN_SECONDS", 30, minimum=1)

# Wagtail's own search (the admin's page, document and chooser search) follows the same
# variables: its database backend when embedded, its Elasticsearch/OpenSearch backend on the
# same server otherwise (search.admin_backend). Reps use search/.
WAGTAILSEARCH_BACKENDS = wagtail_search_backends(
    url=SEARCH_URL, engine=SEARCH_ENGINE, index=SEARCH_INDEX
)

# --- Background tasks: immediate by default, a database queue and worker at scale ------------
TASKS_BACKEND = env_str("TASKS_BACKEND", "immediate")
if TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
elif TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
else:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be immediate or database, got {TASKS_BACKEND!r}"
    )

# --- Wagtail ----------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env_str("SITE_NAME", "Enablement Library")
WAGTAILADMIN_BASE_URL = env_str("BASE_URL", "http://127.0.0.1:8000")
WAGTAILDOCS_DOCUMENT_MODEL = "cms.LibraryDocument"
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_EXTENSIONS = [
    *("pdf", "pptx", "ppsx", "potx", "docx", "dotx", "xlsx", "xltx", "txt", "md", "csv"),
    *("png", "jpg", "jpeg", "vtt", "srt"),  # pictures; video transcripts and captions
    *("doc", "ppt", "xls", "odt", "odp", "ods", "rtf", "msg"),  # read through TIKA_URL
]
WAGTAILDOCS_DOCUMENT_FORM_BASE = "cms.forms.LibraryDocumentForm"
WAGTAILIMAGES_IMAGE_FORM_BASE = "cms.forms.LibraryImageForm"
# Images (an asset's thumbnail image) are drawn in the web process, at up to ~8 bytes a pixel:
# larger ones are refused at upload and not drawn if stored before (cms.images). The same
# 50 million pixels as a document's picture; Wagtail's default, 128 million, cost ~1 GB each.
WAGTAILIMAGES_MAX_IMAGE_PIXELS = env_int("IMAGE_MAX_PIXELS", 50_000_000, minimum=1_000_000)
WAGTAIL_I18N_ENABLED = False
WAGTAIL_WORKFLOW_ENABLED = True
WAGTAIL_MODERATION_ENABLED = True
# Nothing loads from a third-party host: no Gravatar avatars in the admin.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False  # the admin would ask releases.wagtail.org
# Nothing loads from a third-party host (the Content-Security-Policy would block it anyway):
# rich text offers no media embeds, and Wagtail never asks a provider's oEmbed endpoint; an
# embed saved before renders as a plain link (cms.rich_text).
WAGTAILEMBEDS_FINDERS = []
WAGTAILADMIN_RICH_TEXT_EDITORS = {
    "default": {
        "WIDGET": "wagtail.admin.rich_text.DraftailRichTextArea",
        # Wagtail's default features but "embed".
        "OPTIONS": {"features": "h2 h3 h4 bold italic ol ul hr link document-link image".split()},
    }
}

# Upload and extraction bounds.
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 50, minimum=1)
EXTRACTION_MAX_PAGES = env_int("EXTRACTION_MAX_PAGES", 500, minimum=1)
EXTRACTION_MAX_CHARS = env_int("EXTRACTION_MAX_CHARS", 2_000_000, minimum=1000)
EXTRACTION_TIMEOUT_SECONDS = env_int("EXTRACTION_TIMEOUT_SECONDS", 60, minimum=1)
EXTRACTION_MAX_MEMORY_MB = env_int("EXTRACTION_MAX_MEMORY_MB", 1024, minimum=64)
EXTRACTION_WORKERS = env_int("EXTRACTION_WORKERS", 2, minimum=1)  # sandboxed processes kept warm
EXTRACTION_WORKER_MAX_FILES = env_int("EXTRACTION_WORKER_MAX_FILES", 50, minimum=1)
EXTRACTION_OCR_PAGES = env_int("EXTRACTION_OCR_PAGES", 20, minimum=0)  # 0: no OCR
EXTRACTION_OCR_LANGUAGES = env_str("EXTRACTION_OCR_LANGUAGES", "eng")  # Tesseract's, e.g. eng+deu
TIKA_URL = env_url("TIKA_URL", schemes=("http", "https")) or ""  # Apache Tika server
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A request body larger than this is refused (413) before any of it is read or stored: the
# largest upload plus room for the form around it (cms.middleware).
MAX_REQUEST_BYTES = MAX_UPLOAD_MB * 1024 * 1024 + 1024 * 1024
# Wagtail's document uploaders check a file's size in the browser before sending it.
WAGTAILDOCS_MAX_UPLOAD_SIZE = MAX_UPLOAD_MB * 1024 * 1024
# XLSX deal imports: refused when their unpacked size or compression ratio says zip bomb.
XLSX_MAX_UNPACKED_MB = env_int("XLSX_MAX_UNPACKED_MB", 200, minimum=1)
XLSX_MAX_RATIO = env_int("XLSX_MAX_RATIO", 100, minimum=2)

# Governance and analytics.
REVIEW_PERIOD_DAYS = env_int("REVIEW_PERIOD_DAYS", 90, minimum=1)
ANALYTICS_MIN_DEALS = env_int("ANALYTICS_MIN_DEALS", 20, minimum=1)
# Revenue is converted into this currency with the admin's dated rates (analytics.currency).
ANALYTICS_CURRENCY = env_str("ANALYTICS_CURRENCY", "USD").strip().upper()
if len(ANALYTICS_CURRENCY) != 3 or not ANALYTICS_CURRENCY.isalpha():
    raise ImproperlyConfigured(
        f"ANALYTICS_CURRENCY must be a three-letter currency code, got {ANALYTICS_CURRENCY!r}"
    )
# How often the scheduler (manage.py analytics_scheduler) refreshes the rollups.
ANALYTICS_REFRESH_SECONDS = env_int("ANALYTICS_REFRESH_SECONDS", 30, minimum=5)
SHARE_LINK_DAYS = env_int("SHARE_LINK_DAYS", 30, minimum=1)
# A rep may open this many new content requests in any 24 hours (each one mails every
# marketer); backing an open request is never capped, nor is marketing (analytics.content_requests).
CONTENT_REQUESTS_PER_DAY = env_int("CONTENT_REQUESTS_PER_DAY", 10, minimum=1)

# --- Auth ------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "accounts.throttle.ThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes; accounts.throttle): failures count per username and
# client address, on /login/, /admin/login/ and API keys alike; and per address alone, with
# a higher limit, against password spraying (a few passwords tried on every username).
AXES_HANDLER = "accounts.throttle.ThrottleHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 50, minimum=AXES_FAILURE_LIMIT)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the per-address count is the handler's
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, or X-Forwarded-For as the outermost of PROXY_COUNT reverse
# proxies saw it (axes' own reading needs django-ipware, which is not installed).
PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_address"
# Password reset (/admin/password_reset/, accounts.password_reset): one mail per account per
# window, and a cap on requests per client address per hour, whatever the addresses typed.
PASSWORD_RESET_ACCOUNT_MINUTES = env_int("PASSWORD_RESET_ACCOUNT_MINUTES", 15, minimum=1)
PASSWORD_RESET_ADDRESS_LIMIT = env_int("PASSWORD_RESET_ADDRESS_LIMIT", 10, minimum=1)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Mail: files under DATA_DIR/mail by default, SMTP when EMAIL_HOST is set ---------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "enablement@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(DATA_DIR / "mail")))
if EMAIL_HOST:
    EMAIL_BACKEND = "cms.mail.LoggingSMTPBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
elif env_str("EMAIL_BACKEND", "file") == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif env_str("EMAIL_BACKEND", "file") == "file":
    EMAIL_BACKEND = "cms.mail.LoggingFileBackend"
else:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND must be file or console (or set EMAIL_HOST for SMTP), "
        f"got {env_str('EMAIL_BACKEND')!r}"
    )

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Production hardening (passes `manage.py check --deploy` when PRODUCTION=true) -----------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Wagtail's live preview frames the site's own pages, so SAMEORIGIN rather than DENY.
    X_FRAME_OPTIONS = "SAMEORIGIN"
    SILENCED_SYSTEM_CHECKS = ["security.W019"]

# Content-Security-Policy on every response (cms.middleware): scripts only from this
# site and never inline; nothing from another host. Wagtail's admin sets style attributes,
# hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        # Files on S3 reach the browser by a redirect to a presigned URL of the bucket.
        "img-src 'self' data: blob:" + "".join(f" {origin}" for origin in STORAGE_ORIGINS),
        "font-src 'self' data:",
        "connect-src 'self'",
        "media-src 'self'" + "".join(f" {origin}" for origin in STORAGE_ORIGINS),
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
# "Outdated" from this many distinct reps puts an asset in its owner's needs-review queue.
OUTDATED_FEEDBACK_THRESHOLD = env_int("OUTDATED_FEEDBACK_THRESHOLD", 2, minimum=1)

# Where reps' own materials wait for moderation: a library section's slug (default: the
# library's home).
FIELD_MATERIALS_SECTION = env_str("FIELD_MATERIALS_SECTION", "")

# The deal panel (/deals/<external_id>/) may be framed by a CRM: by this site and by the
# origins listed in DEAL_EMBED_ORIGINS (e.g. "https://acme.lightning.force.com"), and by no
# one else. Every other page keeps frame-ancestors 'self'.
DEAL_EMBED_ORIGINS = env_origins("DEAL_EMBED_ORIGINS", allow_http=DEBUG)
DEAL_EMBED_CSP = csp_frame_ancestors(CONTENT_SECURITY_POLICY, DEAL_EMBED_ORIGINS)
# The interactive API docs (/api/v1/docs) load Swagger UI from this site's static files;
# production turns them off unless API_DOCS=true (the schema stays at /api/v1/openapi.json).
API_DOCS = env_bool("API_DOCS", not PRODUCTION)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "one_line": {"()": "enablement.log_filters.OneLine"},
        "refusal_one_line": {"()": "enablement.log_filters.RefusalOneLine"},
        "share_tokens": {"()": "enablement.log_filters.ShareTokens"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["share_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["share_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "werkzeug": {"level": "WARNING"},
        # The search servers' clients: no line per request, one line per failure.
        # (A logger's filters see only its own records, so each logger is named.)
        "elastic_transport": {"level": "WARNING"},
        "elastic_transport.transport": {"filters": ["one_line"]},
        "elastic_transport.node_pool": {"filters": ["one_line"]},
        "opensearch": {"level": "WARNING", "filters": ["one_line"]},
        "modelsearch.index": {"filters": ["one_line"]},
        # Django's own records go to the root's console like everyone's: Django's default
        # console handler (DEBUG only) wrote each a second time, and its mail_admins has no
        # ADMINS to write to. Naming "django" resets the loggers under it, so runserver's
        # request lines are declared again as Django declares them.
        "django": {"handlers": []},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["refusal_one_line"]},
    },
}
