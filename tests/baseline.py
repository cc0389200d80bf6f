"""Recreate what migrations put in a fresh database, for tests that run after a flush."""

from __future__ import annotations

import importlib

from django.apps import apps as global_apps
from django.contrib.contenttypes.models import ContentType
from wagtail.models import Collection, Locale, Page

from analytics.content_requests import content_request_roles_ensure
from cms.services import roles_ensure
from search.services import search_roles_ensure


def baseline_ensure() -> None:
    if not Locale.objects.exists():
        Locale.objects.create(language_code="en")
    if not Page.objects.filter(depth=1).exists():
        Page.add_root(
            instance=Page(
                title="Root",
                slug="root",
                content_type=ContentType.objects.get_for_model(Page),
                locale=Locale.objects.first(),
            )
        )
    if not Collection.objects.filter(depth=1).exists():
        Collection.add_root(name="Root")
    taxonomy = importlib.import_module("cms.migrations.0002_default_taxonomy")
    taxonomy.seed(global_apps, None)
    sharing = importlib.import_module("cms.migrations.0003_buyer_sharing")
    sharing.internal_types_not_shareable(global_apps, None)
    roles_ensure()
    search_roles_ensure()
    content_request_roles_ensure()
