"""Versions of the sources derived rollups depend on (besides events and deals, which reach
them through the events rollups): a derived rollup is recomputed when one of these moved.
Each is a small value that changes whenever what it stands for changes."""

from __future__ import annotations

from django.db.models import Count, Max


def assets_version() -> list:
    """Live assets with their publication times: publishing (tags included), unpublishing,
    archiving or expiring any asset changes it."""
    from cms.selectors import assets_live

    live = assets_live().filter(archived=False).order_by("pk")
    return list(live.values_list("pk", "last_published_at"))


def searches_version() -> list:
    from analytics.models import SearchClick, SearchEvent

    return [
        SearchEvent.objects.aggregate(top=Max("id"))["top"],
        SearchClick.objects.aggregate(top=Max("id"))["top"],
    ]


def rates_version() -> list:
    from analytics.currency import reporting_currency
    from analytics.models import CurrencyRate

    summary = CurrencyRate.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return [reporting_currency(), summary["n"], summary["last"]]


def settings_version() -> list:
    from django.conf import settings

    from analytics.selectors import strata_chosen

    return [strata_chosen(), settings.ANALYTICS_MIN_DEALS]
