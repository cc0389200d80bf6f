"""Versions of the sources derived rollups depend on (besides events and deals, which reach
them through the events rollups): a derived rollup is recomputed when one of these moved.
Each is a small value that changes whenever what it stands for changes."""

from __future__ import annotations

from django.db.models import Count, Max

from analytics.currency import reporting_currency
from analytics.models import CurrencyRate
from analytics.scope import strata_chosen
from cms.models import AssetPage
from cms.selectors import assets_live
from search import selectors as search_selectors


def assets_version() -> list:
    """Live assets with their publication times, and every asset's: publishing (tags
    included), unpublishing, archiving, expiring or deleting any asset changes it, and so does
    retagging an archived one (the heat map's estimates count every tagged asset, live or
    not; its asset counts the live ones)."""
    live = assets_live().filter(archived=False).order_by("pk")
    every = AssetPage.objects.order_by("pk")
    return [
        list(live.values_list("pk", "last_published_at")),
        list(every.values_list("pk", "last_published_at")),
    ]


def searches_version() -> list:
    return search_selectors.search_activity_version()


def rates_version() -> list:
    summary = CurrencyRate.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return [reporting_currency(), summary["n"], summary["last"]]


def settings_version() -> list:
    from django.conf import settings

    return [strata_chosen(), settings.ANALYTICS_MIN_DEALS]
