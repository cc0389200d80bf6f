"""The dashboard's asset page says how many deals each comparison counts, and why they differ
(an outside audit: "313 closed deals touched it before closing" beside "won 59% of 318 closed
deals that used it"; the 5 missing deals had no stage history)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD
from tests.analytics.helpers import refresh, send_events, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


def _numbers_text(asset) -> str:
    """The asset page's numbers as a lead reads them: tags dropped, spaces collapsed."""
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    body = client.get(f"/analytics/assets/{asset.pk}/?window=all").content.decode()
    numbers = re.search(r'<dl class="numbers">(.*?)</dl>', body, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", numbers).split())


def _used(asset, *external_ids):
    send_events(
        *((f"use-{deal}", "used_in_deal", asset, deal, date(2024, 5, 20)) for deal in external_ids)
    )


def test_the_asset_page_says_which_deals_used_it_without_stage_history():
    asset = make_asset("Battlecard")
    walk_deal("H1", ["discover", "evaluate", "won"])
    walk_deal("H2", ["discover", "evaluate", "lost"])
    walk_deal("H3", ["discover", "won"])
    walk_deal("N1", ["won"])  # closed deals imported without their stage history
    walk_deal("N2", ["lost"])
    _used(asset, "H1", "H2", "H3", "N1", "N2")
    refresh()
    text = _numbers_text(asset)
    assert "3 closed deals with stage history touched it before closing" in text
    assert (
        "2 other closed deals that used it have no stage history, so the stage they were at "
        "when using it is unknown: left out of this comparison (the raw and stage-matched "
        "rows count them)"
    ) in text
    assert "of 5 closed deals that used it (3 won, 2 lost)" in text


def test_the_asset_page_says_nothing_left_out_when_every_deal_has_stage_history():
    asset = make_asset("Battlecard")
    walk_deal("H1", ["discover", "evaluate", "won"])
    walk_deal("N1", ["won"])  # without history, but it never used the asset
    _used(asset, "H1")
    refresh()
    text = _numbers_text(asset)
    assert "1 closed deal with stage history touched it before closing" in text
    assert "no stage history" not in text
    assert "of 1 closed deal that used it" in text
