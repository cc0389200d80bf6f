import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import reverse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enablement.settings")
# Web requests never checkpoint SQLite's log inside their commits; the scheduler does (see
# DATABASES in enablement/settings.py).
os.environ.setdefault("SQLITE_WAL_AUTOCHECKPOINT", "0")
application = get_wsgi_application()

# The loaded app (Django, Wagtail, models, URLs: about 180k objects) lives as long as the
# process, yet Python's collector walked all of it on every full collection: 100-130 ms,
# every 2-5 s per worker under event ingestion, stalling whichever request was running. Frozen
# after one last collection, those objects are never walked again; requests' own garbage is
# collected as before. The URLconf and its reverse index are loaded first (by a reverse()) so
# that the first request does not add them after the freeze.
reverse("login")
gc.collect()
gc.freeze()
