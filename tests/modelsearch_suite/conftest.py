"""This folder runs under its own settings (``--ds=tests.modelsearch_suite.settings``, see the
Makefile's ``test``); under the project's settings there is nothing here to collect."""

from django.conf import settings

collect_ignore_glob = [] if "modelsearch.test.testapp" in settings.INSTALLED_APPS else ["test_*"]
