"""Static files: what ``collectstatic`` gathers from the installed apps.

django-ninja ships Redoc beside Swagger UI; the API docs use Swagger UI (``enablement.api``),
so Redoc's bundle (and its source map, which names third-party hosts) is never served from
here: a page can load only what this site collected, and nothing it does not use."""

from django.contrib.staticfiles.apps import StaticFilesConfig


class LibraryStaticFilesConfig(StaticFilesConfig):
    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "redoc.standalone.js*"]
