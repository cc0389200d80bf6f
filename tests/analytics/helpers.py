"""Small builders for analytics tests: deals walked through stages, events at given times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils import timezone

from analytics.services import DealInput, deal_upsert
from analytics.usage import EventInput, usage_record_batch

CRM = {
    "discover": "Prospecting",
    "evaluate": "Needs Analysis",
    "decide": "Proposal/Price Quote",
    "won": "Closed Won",
    "lost": "Closed Lost",
}
STAGE_DATES = {
    "discover": date(2024, 5, 1),
    "evaluate": date(2024, 5, 15),
    "decide": date(2024, 6, 15),
    "won": date(2024, 6, 30),
    "lost": date(2024, 6, 30),
}


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour), UTC)


def walk_deal(external_id: str, path: list[str], *, amount: int = 0, **fields):
    """Create a deal and move it through ``path`` (journey slugs, then won/lost)."""
    deal = None
    close = STAGE_DATES[path[-1]] if path[-1] in ("won", "lost") else None
    for step in path:
        deal, _ = deal_upsert(
            data=DealInput(
                external_id=external_id,
                stage=CRM[step],
                amount=Decimal(amount),
                close_date=close,
                stage_changed_at=at(STAGE_DATES[step], 9),
                **fields,
            )
        )
    return deal


def send_events(*rows, user=None):
    """rows: (key, kind, asset, deal external id or "", day or moment); a day means noon
    UTC of it. Sent as an enablement lead unless ``user`` is given."""
    if user is None:
        from accounts.roles import ENABLEMENT_LEAD
        from tests.factories import make_user

        user = make_user(role=ENABLEMENT_LEAD)
    events = [
        EventInput(
            idempotency_key=key,
            kind=kind,
            asset_id=asset.pk,
            deal_external_id=deal,
            occurred_at=day if isinstance(day, datetime) else at(day),
        )
        for key, kind, asset, deal, day in rows
    ]
    return usage_record_batch(events=events, user=user)


def refresh(*, full: bool = False) -> dict:
    """The refresh service every entry point calls: rollups, then search's signals."""
    from analytics.refresh import analytics_refresh

    return analytics_refresh(full=full)


def spooled_view(key: str, asset_id: int, user) -> dict:
    """A rep's view as an earlier version of the app spooled it (before senders were
    recorded) when the database was busy: what ``usage_spool_replay`` must still store."""
    from analytics.models import EventKind

    return {
        "idempotency_key": key,
        "kind": EventKind.VIEWED,
        "asset_id": asset_id,
        "deal_id": None,
        "journey_stage_id": None,
        "crm_stage": "",
        "user_id": user.pk,
        "share_link_id": None,
        "source": "web",
        "occurred_at": "2026-01-05T10:00:00+00:00",
    }
