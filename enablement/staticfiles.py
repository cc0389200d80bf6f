"""Static files: what ``collectstatic`` gathers from the installed apps.

django-ninja ships Redoc beside Swagger UI; the API docs use Swagger UI (``enablement.api``),
so Redoc's bundle (and its source map, which names third-party hosts) is left out of what is
collected: a page can load only what this site collected, and nothing it does not use."""

from django.contrib.staticfiles.finders import AppDirectoriesFinder

UNUSED = ["redoc.standalone.js*"]


class LibraryAppDirectoriesFinder(AppDirectoriesFinder):
    """Django's finder of the apps' ``static/`` folders, less ``UNUSED``."""

    def list(self, ignore_patterns):
        return super().list([*(ignore_patterns or []), *UNUSED])
