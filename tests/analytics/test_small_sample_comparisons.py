"""Below ``ANALYTICS_MIN_DEALS`` deals on a side, the raw and stage-matched lifts are no more
shown than the headline is (audit 46, F3: an asset used in 3 deals, all won, showed "Raw lift
+79 pts" and "Stage-matched +44 pts (-13 to +46)" beside "not enough data" and topped the table
sorted by either). Page, chart, CSV and API alike; the counts stay.

Fixture (minimum 3 deals a side), ten closed deals: D1-D5 won (Discover, Evaluate, Decide),
D6-D8 lost in Decide, D9-D10 lost in Evaluate.
  Wide: used at Evaluate by D1 D2 (won) and D6 D9 (lost): 4 deals against 6, raw lift 0.
  Tiny: used at Decide by D3 D4, both won: 2 deals, below the minimum.
"""

import csv
import io
import re
from datetime import date

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD
from analytics import selectors
from tests.analytics.helpers import refresh, send_events, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db

WON = ["discover", "evaluate", "decide", "won"]
LOST_IN_DECIDE = ["discover", "evaluate", "decide", "lost"]
LOST_IN_EVALUATE = ["discover", "evaluate", "lost"]
LIFTS = (
    "raw_lift",
    "stage_matched_lift",
    "stage_matched_lift_ci_low",
    "stage_matched_lift_ci_high",
)


@pytest.fixture
def assets(settings):
    settings.ANALYTICS_MIN_DEALS = 3
    wide = make_asset("Wide deck", stages=("evaluate",))
    tiny = make_asset("Tiny deck", stages=("decide",))
    for number in range(1, 6):
        walk_deal(f"D{number}", WON, amount=1000)
    for number in range(6, 9):
        walk_deal(f"D{number}", LOST_IN_DECIDE)
    for number in range(9, 11):
        walk_deal(f"D{number}", LOST_IN_EVALUATE)
    send_events(
        *(
            (f"w{deal}", "used_in_deal", wide, deal, date(2024, 6, 1))
            for deal in ("D1", "D2", "D6", "D9")
        ),
        ("t3", "used_in_deal", tiny, "D3", date(2024, 6, 20)),
        ("t4", "used_in_deal", tiny, "D4", date(2024, 6, 20)),
    )
    refresh()
    return wide, tiny


def _lead() -> Client:
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    return client


def test_an_asset_below_the_minimum_has_no_raw_or_stage_matched_lift_only_counts(assets):
    wide, tiny = assets
    numbers = selectors.asset_stats(tiny.pk, window="all")
    assert {name: numbers[name] for name in LIFTS} == dict.fromkeys(LIFTS)
    assert (numbers["deals_used"], numbers["won"], numbers["lost"]) == (2, 2, 0)
    assert numbers["stage_matched_baseline_deals"] == 6  # D1 D2 D5 won, D6-D8 lost in Decide
    assert numbers["verdict"] == "not enough data"
    shown = selectors.asset_stats(wide.pk, window="all")
    assert shown["raw_lift"] == pytest.approx(0.0)
    assert shown["stage_matched_lift"] == pytest.approx(0.0)
    assert shown["stage_matched_lift_ci_low"] < 0 < shown["stage_matched_lift_ci_high"]


def test_the_api_gives_null_lifts_for_the_small_asset_and_counts(assets):
    _, tiny = assets
    body = _lead().get("/api/v1/analytics/assets?window=all").json()
    row = next(r for r in body["assets"] if r["asset_id"] == tiny.pk)
    assert all(row[name] is None for name in LIFTS), row
    assert (row["deals_used"], row["won"]) == (2, 2)


def test_the_csv_leaves_the_small_assets_lifts_blank(assets):
    wide, tiny = assets
    response = _lead().get("/analytics/assets.csv?window=all")
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert [by_id[str(tiny.pk)][name] for name in LIFTS] == ["", "", "", ""]
    assert by_id[str(tiny.pk)]["deals_used"] == "2"
    assert by_id[str(wide.pk)]["raw_lift"] != ""


def test_the_table_says_not_enough_data_and_sorting_by_a_lift_puts_the_small_asset_last(
    assets,
):
    wide, tiny = assets
    client = _lead()
    for column in ("raw_lift", "stage_matched_lift"):
        page = client.get(f"/analytics/assets/?window=all&sort={column}&order=desc")
        order = [row["asset_id"] for row in page.context["rows"]]
        assert order.index(wide.pk) < order.index(tiny.pk), column
        html = page.content.decode()
        row = re.search(rf'<tr data-asset="{tiny.pk}">(.*?)</tr>', html, re.S).group(1)
        raw = re.search(r'<td class="num raw-lift">(.*?)</td>', row, re.S).group(1)
        matched = re.search(r'<td class="num stage-matched-lift">(.*?)</td>', row, re.S).group(1)
        assert raw.startswith("not enough data") and "2 won of 2" in raw, raw
        assert matched == "not enough data"
        assert "pts" not in raw + matched
        assert "+100%" not in row and "100% of 2" not in row


def test_the_asset_page_and_its_chart_show_no_lift_for_the_small_asset(assets):
    _, tiny = assets
    html = _lead().get(f"/analytics/assets/{tiny.pk}/?window=all").content.decode()
    chart = re.search(r"<svg class=\"chart interval-chart\".*?</svg>", html, re.S).group(0)
    title = re.search(r"<title[^>]*>(.*?)</title>", chart, re.S).group(1)
    assert "Stage-matched (earlier) not enough data" in title, title
    assert "Raw: used vs not not enough data" in title, title
    assert 'id="raw-not-enough"' in html and 'id="stage-matched-not-enough"' in html
    numbers = re.search(r"<details class=\"chart-data\">.*?</details>", html, re.S).group(0)
    for label in ("Stage-matched (earlier)", "Raw: used vs not"):
        cells = re.search(rf"{re.escape(label)}</th>(.*?)</tr>", numbers, re.S).group(1)
        assert "not enough data" in cells and "pts" not in cells, cells
