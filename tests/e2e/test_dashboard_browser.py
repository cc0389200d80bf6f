"""Issue 4 in a real browser: an enablement lead imports a deal file, opens the dashboard,
reads the heat map and an asset's interval chart, and exports the asset table as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.roles import ENABLEMENT_LEAD, REP
from tests.e2e.conftest import DASHBOARD_LIBRARY, login
from tests.factories import PASSWORD, make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)


DEALS_CSV = (
    "Opportunity ID;Opportunity Name;Account Name;Amount;Stage;Close Date\n"
    "006E2E1;Harbor expansion;Harbor Co;12.500,00 €;Prospecting;31.12.2030\n"
    "006E2E2;Quarry renewal;Quarry Ltd;$8,000.00;Closed Won;2024-05-31\n"
    "006E2E3;Broken amount;Nowhere;lots;Prospecting;2024-05-31\n"
)


def test_lead_imports_deals_and_reads_the_dashboard(page, dashboard_data, tmp_path):
    truth = dashboard_data
    deals_file = tmp_path / "opportunities.csv"
    deals_file.write_text("\ufeff" + DEALS_CSV, encoding="utf-8")
    login(page, "lena", PASSWORD)

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("link", name="Import deals").click()
    page.set_input_files("#id_file", str(deals_file))
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-summary")).to_contain_text("2 created")
    expect(page.locator("#import-errors")).to_contain_text("amount 'lots' is not a number")

    page.get_by_role("link", name="Open the dashboard").click()
    page.select_option("#window", "all")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#kpi-content")).to_contain_text(
        "comparison deals (a deal counts once per stage it was compared at)"
    )
    expect(page.locator("#kpi-influenced")).to_contain_text("USD")
    heatmap = page.locator("#heatmap")
    expect(heatmap).to_be_visible()
    expect(heatmap.locator("tbody th")).to_have_count(4)  # Discover, Evaluate, Decide, Onboard
    expect(heatmap.locator("caption")).to_contain_text("Benjamini-Hochberg false discovery rate")
    expect(heatmap).to_contain_text("not a pipeline stage")

    page.get_by_role("link", name="Assets").click()
    effective_title = next(t for t, _ in DASHBOARD_LIBRARY if _asset_id(t) in truth.effective)
    page.get_by_role("link", name=effective_title, exact=True).click()
    chart = page.locator("svg.interval-chart")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("Stratified effect")
    expect(chart).to_contain_text("Stage-matched (earlier)")
    expect(page.locator("#asset-verdict")).to_have_text("▲ helps")
    page.screenshot(path=str(tmp_path / "asset.png"), full_page=True)

    page.get_by_role("link", name="Assets").click()
    with page.expect_download() as download:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    by_title = {row["title"]: row for row in rows}
    assert set(by_title) == {title for title, _ in DASHBOARD_LIBRARY}
    assert by_title[effective_title]["verdict"] == "helps"
    assert float(by_title[effective_title]["effect_ci_low"]) > 0


def _asset_id(title: str) -> int:
    from cms.models import AssetPage

    return AssetPage.objects.get(title=title).pk


def test_a_page_that_says_refreshing_offers_the_new_numbers_once_they_are_in(page):
    """The page said "refreshing…" until the lead reloaded it, however long ago the new
    numbers came in. Now it asks, and offers them without reloading under the reader."""
    from django.utils import timezone

    from analytics.models import RefreshState
    from analytics.refresh import analytics_refresh

    make_user("lena", role=ENABLEMENT_LEAD)
    make_asset("Discovery deck")
    analytics_refresh()
    first = RefreshState.objects.get().data_as_of
    RefreshState.objects.update(requested_at=timezone.now())  # "Update now", not yet run
    login(page, "lena", PASSWORD)
    page.goto("/analytics/health/")
    expect(page.locator("#refreshing")).to_have_text("refreshing…")
    analytics_refresh()
    offered = page.locator("#new-numbers")
    expect(offered).to_have_text("new numbers are in: show them", timeout=10_000)
    assert page.url.endswith("/analytics/health/")  # nothing reloaded under the reader
    offered.click()
    page.wait_for_load_state()
    expect(page.locator("#refreshing")).to_have_count(0)
    assert RefreshState.objects.get().data_as_of > first


def _box_beside_its_label(page, selector: str) -> None:
    """Each checkbox or radio is a small box on its label's line, left of the words (they
    were 44 px high bars the width of the form, above the wrong label)."""
    boxes = page.locator(selector)
    assert boxes.count() >= 2
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        label = boxes.nth(index).locator("xpath=..").bounding_box()
        assert box["width"] <= 24 and box["height"] <= 24, box
        assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 8
        assert box["x"] - label["x"] < 4  # first on its line, the words after it


def test_checkboxes_and_radios_sit_beside_their_labels(page):
    lead, rep = make_user("lena", role=ENABLEMENT_LEAD), make_user("rico", role=REP)
    asset = make_asset("Discovery deck")
    login(page, lead.username, PASSWORD)
    page.goto("/analytics/")
    _box_beside_its_label(page, "input[type=checkbox][name=strata]")
    page.context.clear_cookies()
    login(page, rep.username, PASSWORD)
    page.goto(asset.url)
    _box_beside_its_label(page, "input[type=radio][name=kind]")
