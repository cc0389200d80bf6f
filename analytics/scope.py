"""What the dashboard's numbers cover: the time windows and the deal attributes the
estimates compare within. Selectors, rollups and services all read these; this module reads
only models."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from analytics.models import AnalyticsSettings, Deal

WINDOWS = {"90d": 90, "365d": 365, "all": None}
WINDOW_LABELS = {"90d": "Last 90 days", "365d": "Last 12 months", "all": "All time"}
DEFAULT_WINDOW = "365d"


def window_spelled(given: str) -> str | None:
    """A window as ``WINDOWS`` names it, given in any case ("ALL" is "all"); None for another.
    The dashboard and the API read ``window`` through this, so both take what the README
    says they take."""
    given = given.strip().casefold()
    return given if given in WINDOWS else None


def window_start(window: str, today: date | None = None) -> date | None:
    """First close date (and event day) inside ``window``; None for "all". "Last 90 days" is
    90 days: today and the 89 before it (before 2026-12-06 it began a day earlier, 91 days)."""
    days = WINDOWS.get(window, WINDOWS[DEFAULT_WINDOW])
    if days is None:
        return None
    return (today or timezone.now().date()) - timedelta(days=days - 1)


def window_starts(today: date) -> dict[str, date | None]:
    return {window: window_start(window, today) for window in WINDOWS}


def strata_chosen() -> list[str]:
    """Attributes the estimates compare within besides segment and owner (always)."""
    row = AnalyticsSettings.objects.order_by("pk").first()
    return list(row.strata) if row else []


def strata_choices() -> list[tuple[str, str]]:
    """What the lead may pick: industry, deal-size band, and every attribute kept from
    imports (by name)."""
    choices = [("industry", "Industry"), ("size_band", "Deal size band (reporting currency)")]
    names: set[str] = set()
    for attributes in Deal.objects.exclude(attributes={}).values_list("attributes", flat=True)[
        :20000
    ]:
        names.update(attributes or {})
    choices += [(f"attribute:{name}", name) for name in sorted(names)]
    return choices
