"""The per-segment effects shown under "varies by segment" carry no correction for multiple
comparisons, and the pages, the CSV and the API say so (audit 46, F6: 7 of 69 assets with no
effect showed them, e.g. "AudSMB -26 pts")."""

import csv
import io

import pytest
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD
from analytics.models import AssetStats, RollupSnapshot
from analytics.selectors import empty_asset_numbers
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db

NOTE = "not adjusted for multiple comparisons"


@pytest.fixture
def asset():
    """An asset whose effect varies by segment, stored as the rollup writes it."""
    asset = make_asset("Battlecard")
    data = empty_asset_numbers()
    data.update(
        verdict="hurts", enough_data=True, effect=-0.15, effect_ci_low=-0.25,
        effect_ci_high=-0.05, q_value=0.046, usable_deals=200, comparison_deals=700,
        varies_by_segment=True, heterogeneity_p=0.04,
        segments=[
            {"segment": "Ent", "effect": -0.09, "low": -0.2, "high": 0.02, "treated": 90,
             "control": 300},
            {"segment": "SMB", "effect": -0.26, "low": -0.4, "high": -0.12, "treated": 110,
             "control": 400},
        ],
    )  # fmt: skip
    AssetStats.objects.create(asset_id=asset.pk, window="365d", data=data, verdict="hurts")
    summary = {"fdr": 0.1, "tested": 69, "min_deals": 20, "closed_deals": 900,
               "without_history": 0, "currency": "USD", "strata": ["segment", "owner"]}  # fmt: skip
    RollupSnapshot.objects.create(
        key="asset_view", window="365d", data=summary, computed_at=timezone.now()
    )
    return asset


@pytest.fixture
def lead():
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


def test_the_table_says_the_segment_effects_are_not_adjusted(asset, lead):
    html = lead.get("/analytics/assets/").content.decode()
    assert "varies by segment: Ent -9 pts, SMB -26 pts" in html
    assert 'id="segment-parts-note"' in html
    assert f"“varies by segment” are {NOTE} (only the verdict is)" in html
    assert "about 10% of the assets with no effect at all show them by chance" in html


def test_the_asset_page_says_it_beside_the_segment_effects(asset, lead):
    html = lead.get(f"/analytics/assets/{asset.pk}/").content.decode()
    note_at = html.index('id="segment-parts-note"')
    assert html.index("SMB -26 pts") < note_at
    assert f"These per-segment figures are {NOTE}" in html
    assert f"the per-segment and per-stage rows are {NOTE}" in html  # under the chart


def test_the_csv_and_the_api_carry_it(asset, lead):
    response = lead.get("/analytics/assets.csv")
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    row = dict(zip(header, rows[0], strict=True))
    assert row["segment_effects"].startswith("Ent: -0.090")
    assert row["parts_adjusted_for_multiplicity"] == "False"
    body = lead.get("/api/v1/analytics/assets").json()
    assert body["view"]["parts_adjusted_for_multiplicity"] is False
