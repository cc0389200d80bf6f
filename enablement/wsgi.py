import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enablement.settings")
# Web requests never checkpoint SQLite's log inside their commits; the scheduler does (see
# DATABASES in enablement/settings.py).
os.environ.setdefault("SQLITE_WAL_AUTOCHECKPOINT", "0")
application = get_wsgi_application()
