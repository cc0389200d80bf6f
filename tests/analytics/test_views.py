"""Dashboard pages, role gating, rep actions and in-app usage capture."""

import csv
import io
import re

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.models import AssetFeedback, ContentRequest, EventKind, UsageEvent
from search.models import SearchEvent
from tests.analytics.helpers import refresh, walk_deal
from tests.factories import make_asset, make_document, make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

PAGES = [
    "/analytics/",
    "/analytics/assets/",
    "/analytics/assets.csv",
    "/analytics/health/",
    "/analytics/search-gaps/",
    "/analytics/import/",
    "/analytics/export/",
]


def _client(role):
    client = Client()
    client.force_login(make_user(role=role))
    return client


@pytest.mark.parametrize(
    "url,role",
    [(url, REP) for url in PAGES]
    + [(url, MARKETER) for url in PAGES if url != "/analytics/search-gaps/"],
)
def test_reps_and_marketers_get_403_on_the_dashboard(url, role):
    assert _client(role).get(url).status_code == 403


def test_marketers_reach_the_search_gaps_but_reps_do_not():
    refresh()
    assert _client(MARKETER).get("/analytics/search-gaps/").status_code == 200
    assert _client(REP).get("/analytics/search-gaps/").status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(url):
    response = Client().get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_enablement_lead_reaches_every_dashboard_page(url):
    refresh()
    assert _client(ENABLEMENT_LEAD).get(url).status_code == 200


def test_every_export_link_of_a_page_names_what_it_exports():
    """Pages with several tables had as many links read "Export CSV" (an outside
    accessibility audit): each now says which table, out of sight, after the words shown."""
    asset = make_asset("Case study")
    refresh()
    lead = _client(ENABLEMENT_LEAD)
    for url in ("/analytics/health/", "/analytics/search-gaps/", f"/analytics/assets/{asset.pk}/"):
        html = lead.get(url).content.decode()
        links = re.findall(r'<a class="button" id="[^"]+-csv"[^>]*>(.*?)</a>', html)
        spoken = [re.sub(r"<[^>]+>", "", link) for link in links]
        assert len(spoken) >= 2, url
        assert all(name.startswith("Export CSV of ") for name in spoken), spoken
        assert len(set(spoken)) == len(spoken), spoken


def test_asset_detail_is_lead_only_and_shows_the_interval_chart():
    asset = make_asset("Case study")
    refresh()
    assert _client(REP).get(f"/analytics/assets/{asset.pk}/").status_code == 403
    page = _client(ENABLEMENT_LEAD).get(f"/analytics/assets/{asset.pk}/?window=all")
    body = page.content.decode()
    assert "interval-chart" in body and "Not enough data" in body


def test_csv_export_uses_the_documented_field_names_and_neutralises_formulas():
    from analytics.selectors import ASSET_FIELDS

    make_asset("=HYPERLINK(evil)")
    refresh()
    response = _client(ENABLEMENT_LEAD).get("/analytics/assets.csv?window=all")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][: 2 + len(ASSET_FIELDS)] == ["asset_id", "title", *ASSET_FIELDS]
    assert rows[0][2 + len(ASSET_FIELDS) :] == [
        "revenue_without_rate",
        "segment_effects",
        "stage_effects",
        "parts_adjusted_for_multiplicity",
        "filters",
    ]
    assert rows[1][1] == "'=HYPERLINK(evil)"
    assert rows[1][rows[0].index("verdict")] == "not enough data"
    assert rows[1][rows[0].index("currency")] == "USD"


def test_asset_table_filters_by_title_and_sorts():
    make_asset("Alpha deck")
    make_asset("Beta deck")
    refresh()
    client = _client(ENABLEMENT_LEAD)
    only_beta = client.get("/analytics/assets/?window=all&q=beta")
    assert [r["title"] for r in only_beta.context["rows"]] == ["Beta deck"]
    by_title = client.get("/analytics/assets/?window=all&sort=title&order=desc")
    assert [r["title"] for r in by_title.context["rows"]] == ["Beta deck", "Alpha deck"]


def test_rep_viewing_and_downloading_an_asset_is_recorded_as_usage_not_touches():
    rep = make_user(role=REP)
    asset = make_asset("Datasheet", document=make_document("data.txt", b"data"))
    client = Client()
    client.force_login(rep)
    assert client.get(asset.url).status_code == 200
    download = client.get(f"/assets/{asset.pk}/download/")
    assert download.status_code == 200
    kinds = sorted(UsageEvent.objects.filter(asset=asset, user=rep).values_list("kind", flat=True))
    assert kinds == [EventKind.DOWNLOADED, EventKind.VIEWED]


def test_a_download_counts_for_the_asset_downloaded_not_for_others_sharing_its_file():
    """Two assets (or an asset and its alias) may share one file; downloading one of them
    recorded a download of each that the rep could see."""
    rep = make_user(role=REP)
    shared = make_document("shared.pdf", b"%PDF-1.4 shared")
    asset = make_asset("Security whitepaper", document=shared)
    other = make_asset("Security whitepaper (EMEA)", document=shared)
    client = Client()
    client.force_login(rep)
    assert client.get(f"/assets/{asset.pk}/download/").status_code == 200
    downloads = UsageEvent.objects.filter(kind=EventKind.DOWNLOADED, user=rep)
    assert list(downloads.values_list("asset_id", flat=True)) == [asset.pk]
    assert client.get(f"/assets/{other.pk}/download/").status_code == 200
    assert sorted(downloads.values_list("asset_id", flat=True)) == sorted([asset.pk, other.pk])


def test_rep_records_use_in_an_own_open_deal_with_the_deals_stage():
    rep = make_user(role=REP)
    deal = walk_deal("006U", ["discover", "evaluate", "decide"], owner=rep.username)
    asset = make_asset("ROI calculator")
    client = Client()
    client.force_login(rep)
    page = client.get(asset.url)
    assert "006U" in page.content.decode() or deal.name in page.content.decode()
    client.post(f"/analytics/assets/{asset.pk}/used/", {"deal": deal.pk})
    event = UsageEvent.objects.get(kind=EventKind.USED_IN_DEAL)
    assert (event.deal, event.user, event.journey_stage.slug) == (deal, rep, "decide")


def test_rep_cannot_record_use_in_a_closed_deal():
    rep = make_user(role=REP)
    deal = walk_deal("006C", ["discover", "won"], owner=rep.username)
    asset = make_asset("ROI calculator")
    client = Client()
    client.force_login(rep)
    client.post(f"/analytics/assets/{asset.pk}/used/", {"deal": deal.pk})
    assert not UsageEvent.objects.filter(kind=EventKind.USED_IN_DEAL).exists()


def test_feedback_is_stored_and_shown_to_the_lead_and_a_request_needs_text():
    rep = make_user(role=REP)
    asset = make_asset("Battlecard")
    client = Client()
    client.force_login(rep)
    client.post(f"/analytics/assets/{asset.pk}/feedback/", {"kind": "outdated", "text": "old logo"})
    client.post(f"/analytics/assets/{asset.pk}/feedback/", {"kind": "request", "text": ""})
    assert list(AssetFeedback.objects.values_list("kind", "text")) == [("outdated", "old logo")]
    refresh()
    page = _client(ENABLEMENT_LEAD).get(f"/analytics/assets/{asset.pk}/")
    assert "old logo" in page.content.decode()


def test_refused_feedback_comes_back_as_the_rep_sent_it():
    """An "I needed …" without text came back as "Helpful", and typed text was lost. What is
    wrong is said in the form, where the page opens, not at the top of the page out of sight
    of it (an outside accessibility audit)."""
    rep = make_user(role=REP)
    asset = make_asset("Battlecard")
    client = Client()
    client.force_login(rep)
    url = f"/analytics/assets/{asset.pk}/feedback/"
    refused = client.post(url, {"kind": "request"})
    assert refused.status_code == 302 and refused["Location"] == f"{asset.url}#feedback-form"
    sent = client.post(url, {"kind": "request"}, follow=True)
    page = sent.content.decode()
    form = _between(page, 'id="feedback-form"', "</form>")
    assert '<p class="error" id="feedback-error" role="alert">Say what you needed.' in form
    assert 'aria-invalid="true" aria-describedby="feedback-error"' in form
    assert page.count("Say what you needed.") == 1  # not also among the page's messages
    assert 'value="request" checked' in form and 'value="helpful" checked' not in form
    note = "Old logo <b>here</b>"
    sent = client.post(
        f"/analytics/assets/{asset.pk}/feedback/", {"kind": "nope", "text": note}, follow=True
    )
    form = _between(sent.content.decode(), 'id="feedback-form"', "</form>")
    assert ">Old logo &lt;b&gt;here&lt;/b&gt;</textarea>" in form
    again = _between(client.get(asset.url).content.decode(), 'id="feedback-form"', "</form>")
    assert 'value="helpful" checked' in again and "Old logo" not in again  # shown once
    assert "feedback-error" not in again
    assert not AssetFeedback.objects.exists()


def _between(text: str, start: str, end: str) -> str:
    head = text.index(start)
    return text[head : text.index(end, head)]


def test_feedback_text_is_escaped_on_the_dashboard():
    asset = make_asset("Battlecard")
    AssetFeedback.objects.create(asset=asset, kind="request", text="<script>alert(1)</script>")
    refresh()
    body = _client(ENABLEMENT_LEAD).get(f"/analytics/assets/{asset.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_search_gap_becomes_a_content_request():
    lead = make_user(role=ENABLEMENT_LEAD)
    SearchEvent.objects.create(
        query="SOC 2", normalized_query="soc 2", result_count=0, latency_ms=1
    )
    refresh()
    client = Client()
    client.force_login(lead)
    page = client.get("/analytics/search-gaps/")
    assert "<td>SOC 2</td>" in page.content.decode()
    client.post("/analytics/search-gaps/", {"query": "SOC 2"})
    assert ContentRequest.objects.get().text == "SOC 2"


@pytest.mark.usefixtures("active_engine")
def test_search_gaps_show_and_request_what_reps_typed_not_the_form_they_are_grouped_by():
    """A rep searched =1+1, =zzqxv+1 and =HYPERLINK("http://x","y"); the page listed
    "1 1", "zzqxv 1" and "hyperlink http x y" (how searches are grouped), and "Request
    content" filed that text."""
    import html
    import re
    from urllib.parse import quote

    rep = Client()
    rep.force_login(make_user(role=REP))
    typed = ["=1+1", "=zzqxv+1", '=HYPERLINK("http://x","y")', "<b>SOC 2</b>"]
    for text in [*typed, "=zzqxv+1", "zzqxv 1"]:  # grouped with =zzqxv+1, typed less often
        assert rep.get(f"/search/?q={quote(text)}").status_code == 200
    refresh()
    marketer = _client(MARKETER)
    body = marketer.get("/analytics/search-gaps/").content.decode()
    zero = body[body.index('id="zero-results"') : body.index('id="no-click"')]
    shown = [html.unescape(cell) for cell in re.findall(r"<tr><td>(.*?)</td>", zero)]
    assert sorted(shown) == sorted(typed)
    assert "<td>=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)</td>" in zero  # escaped
    assert "<b>SOC 2</b>" not in body and "&lt;b&gt;SOC 2&lt;/b&gt;" in zero
    for normalized in ("1 1", "zzqxv 1", "hyperlink http x y", "b soc 2 b"):
        assert f">{normalized}<" not in body and f'value="{normalized}"' not in body
    value = re.search(r'name="query" value="(=HYPERLINK[^"]*)"', zero).group(1)
    marketer.post("/analytics/search-gaps/", {"query": html.unescape(value)})
    assert ContentRequest.objects.get().text == '=HYPERLINK("http://x","y")'


def test_content_health_lists_unused_stale_and_expired_in_open_deals():
    import datetime

    from django.utils import timezone

    from analytics.usage import usage_record
    from cms.models import AssetPage

    rep = make_user(role=REP)
    long_ago = timezone.now() - datetime.timedelta(days=91)
    never = make_asset("Never used")
    AssetPage.objects.filter(pk=never.pk).update(first_published_at=long_ago)
    make_asset("Just published")
    make_asset("Old", review_by=datetime.date(2020, 1, 1))
    expired = make_asset("Withdrawn")
    deal = walk_deal("006H", ["discover"], owner=rep.username)
    usage_record(kind=EventKind.USED_IN_DEAL, asset=expired, user=rep, deal=deal)
    expired.unpublish()
    refresh()
    response = _client(ENABLEMENT_LEAD).get("/analytics/health/")
    health = response.context["health"]
    assert [a["title"] for a in health["unused"]] == ["Never used"]
    # Published minutes ago, it has had no time to be used: not "unused" content.
    assert sorted(a["title"] for a in health["not_used_yet"]) == ["Just published", "Old"]
    assert "Not used yet: first published in the last 90 days (2)" in response.content.decode()
    assert [a["title"] for a in health["stale"]] == ["Old"]
    assert [a["title"] for a in health["expired_in_open_deals"]] == ["Withdrawn"]


def test_asset_owner_sees_feedback_on_own_assets_in_the_admin():
    marketer = make_user(role=MARKETER, is_staff=True)
    mine = make_asset("Mine", owner=marketer)
    theirs = make_asset("Theirs")
    AssetFeedback.objects.create(asset=mine, kind="outdated", text="pricing changed")
    AssetFeedback.objects.create(asset=theirs, kind="helpful", text="someone else's")
    client = Client()
    client.force_login(marketer)
    body = client.get("/admin/analytics/feedback/").content.decode()
    assert "pricing changed" in body and "someone else" not in body
    assert _client(REP).get("/admin/analytics/feedback/").status_code in (302, 403)


@pytest.mark.usefixtures("active_engine")
def test_rep_records_use_from_a_search_result_and_returns_to_the_results():
    from search.services import index_rebuild

    rep = make_user(role=REP)
    deal = walk_deal("006S", ["discover", "evaluate"], owner=rep.username)
    asset = make_asset("Payback calculator")
    index_rebuild()
    client = Client()
    client.force_login(rep)
    page = client.get("/search/?q=payback").content.decode()
    assert f'action="/analytics/assets/{asset.pk}/used/"' in page
    assert 'name="next" value="/search/?q=payback"' in page

    response = client.post(
        f"/analytics/assets/{asset.pk}/used/", {"deal": deal.pk, "next": "/search/?q=payback"}
    )
    assert response.status_code == 302 and response["Location"] == "/search/?q=payback"
    event = UsageEvent.objects.get(kind=EventKind.USED_IN_DEAL)
    assert (event.asset_id, event.deal, event.journey_stage.slug) == (asset.pk, deal, "evaluate")


def test_recording_use_never_redirects_off_site():
    rep = make_user(role=REP)
    deal = walk_deal("006X", ["discover"], owner=rep.username)
    asset = make_asset("Payback calculator")
    client = Client()
    client.force_login(rep)
    response = client.post(
        f"/analytics/assets/{asset.pk}/used/", {"deal": deal.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == asset.url


def test_interval_chart_labels_every_comparison_and_keeps_edge_labels_inside():
    from analytics.charts import interval_chart

    numbers = {
        "effect": 1.0,
        "effect_ci_low": 0.9,
        "effect_ci_high": 1.0,
        "segments": [{"segment": "SMB", "effect": 0.2, "low": -0.1, "high": 0.5}],
        "raw_lift": -1.0,
    }
    svg = str(interval_chart(numbers))
    assert 'text-anchor="end">+100 pts (+90 pts to +100 pts)</text>' in svg
    assert 'text-anchor="start">-100 pts</text>' in svg
    assert "Segment SMB" in svg and "+20 pts (-10 pts to +50 pts)" in svg
    assert "Stage-matched (earlier)" in svg and "not enough data" in svg


@pytest.mark.parametrize(
    "url",
    [
        "/analytics/",
        "/analytics/?window=90d",
        "/analytics/assets/",
        "/analytics/assets.csv",
        "/analytics/health/",
        "/analytics/search-gaps/",
    ],
)
def test_dashboard_before_the_first_rollup_shows_an_empty_state_not_an_error(client, url):
    from accounts.roles import ENABLEMENT_LEAD
    from analytics.models import RollupSnapshot
    from tests.factories import make_asset, make_user

    make_asset("Deck")
    assert not RollupSnapshot.objects.exists()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    response = client.get(url)
    assert response.status_code == 200
    if url.startswith("/analytics/?") or url == "/analytics/":
        assert "No numbers yet" in response.content.decode()


@pytest.mark.parametrize("url", ["/analytics/refresh/", "/analytics/strata/"])
@pytest.mark.parametrize("role", [REP, MARKETER])
def test_only_leads_may_refresh_or_change_what_deals_are_compared_within(url, role):
    from analytics.models import AnalyticsSettings, RefreshState

    assert _client(role).post(url, {"strata": ["industry"]}).status_code == 403
    assert not AnalyticsSettings.objects.exists() and not RefreshState.objects.exists()


def _stored_row(asset, **numbers):
    """An AssetStats row as the rollup writes it (to check what the pages show)."""
    from django.utils import timezone

    from analytics.models import AssetStats, RollupSnapshot
    from analytics.selectors import empty_asset_numbers

    data = {k: v for k, v in empty_asset_numbers().items() if k not in ("views", "downloads")}
    data.update(numbers)
    AssetStats.objects.create(asset_id=asset.pk, window="365d", data=data, verdict=data["verdict"])
    summary = {"fdr": 0.1, "tested": 12, "min_deals": 20, "closed_deals": 900,
               "without_history": 0, "currency": "USD", "strata": ["segment", "owner"]}  # fmt: skip
    RollupSnapshot.objects.update_or_create(
        key="asset_view", window="365d", defaults={"data": summary, "computed_at": timezone.now()}
    )


def test_no_clear_effect_shows_its_interval_and_the_smallest_detectable_effect():
    asset = make_asset("Guide")
    _stored_row(
        asset, verdict="no clear effect", enough_data=True, effect=0.04, effect_ci_low=-0.05,
        effect_ci_high=0.13, mde=0.16, q_value=0.4, usable_deals=80, comparison_deals=300,
    )  # fmt: skip
    client = _client(ENABLEMENT_LEAD)
    table = client.get("/analytics/assets/").content.decode()
    assert "○ no clear effect" in table and "+4 pts <small>(-5 pts to +13 pts)" in table
    assert "+16 pts" in table  # the smallest detectable effect
    assert "Benjamini-Hochberg false discovery rate of 10% across the 12 assets" in table
    assert "whose 95% interval leaves out zero" in table
    page = client.get(f"/analytics/assets/{asset.pk}/").content.decode()
    assert "a 95% interval that leaves out zero (here -5 pts to +13 pts)" in page
    assert "could have detected an effect of about +16 pts" in page


def test_an_effect_that_differs_by_segment_shows_the_segment_effects():
    asset = make_asset("Battlecard")
    segments = [
        {"segment": "Enterprise", "effect": 0.2, "low": 0.08, "high": 0.32, "treated": 60,
         "control": 200},
        {"segment": "SMB", "effect": -0.02, "low": -0.1, "high": 0.06, "treated": 140,
         "control": 500},
    ]  # fmt: skip
    _stored_row(
        asset, verdict="helps", enough_data=True, effect=0.05, effect_ci_low=0.01,
        effect_ci_high=0.09, q_value=0.04, usable_deals=200, comparison_deals=700,
        varies_by_segment=True, heterogeneity_p=0.003, segments=segments,
    )  # fmt: skip
    client = _client(ENABLEMENT_LEAD)
    table = client.get("/analytics/assets/").content.decode()
    assert "▲ helps" in table and "varies by segment: Enterprise +20 pts, SMB -2 pts" in table
    page = client.get(f"/analytics/assets/{asset.pk}/").content.decode()
    assert "The effect differs between segments" in page
    assert "Enterprise +20 pts (+8 pts to +32 pts, 60 deals)" in page
    assert "Segment Enterprise" in page  # a row of the chart


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.12, "+12 pts"), (-0.0451, "-5 pts"), (-0.003, "-0.3 pts"), (0.004, "+0.4 pts"),
     (0.0004, "0 pts"), (0.0, "0 pts"), (None, "n/a"), (0.01, "+1 pt"), (-0.0096, "-1 pt"),
     (0.015, "+2 pts")],
)  # fmt: skip
def test_points_keep_a_decimal_near_zero_so_no_bound_reads_minus_zero(value, text):
    """And one point is "1 pt", not "1 pts"."""
    from django.template import Context, Template

    template = Template("{% load analytics_tags %}{{ value|pts }}")
    assert template.render(Context({"value": value})) == text


def test_a_marketer_fetching_a_file_in_the_admin_is_not_a_download_of_the_assets_using_it():
    """Wagtail's /documents/ URL names no asset: it recorded a download of every asset
    using the file (two here), for someone handling the file, not using it in a deal.
    (A marketer's download from the asset is no usage either: ``test_own_use``.)"""
    from accounts.roles import MARKETER

    shared = make_document("shared.pdf", b"%PDF-1.4 shared")
    asset = make_asset("Security whitepaper", document=shared)
    make_asset("Security whitepaper (EMEA)", document=shared)
    client = Client()
    client.force_login(make_user(role=MARKETER))
    assert client.get(shared.url).status_code == 200
    assert not UsageEvent.objects.filter(kind=EventKind.DOWNLOADED).exists()
    client.force_login(make_user(role=REP))
    assert client.get(f"/assets/{asset.pk}/download/").status_code == 200
    downloads = UsageEvent.objects.filter(kind=EventKind.DOWNLOADED)
    assert list(downloads.values_list("asset_id", flat=True)) == [asset.pk]


def test_the_page_shown_again_after_feedback_is_not_another_view():
    """Feedback, a share link or "used in a deal" sends the rep back to the asset's page: that
    was counted as a second view (an outside audit: one visit and one post, two views)."""
    rep = make_user(role=REP)
    asset = make_asset("Battlecard")
    client = Client()
    client.force_login(rep)
    client.get(asset.url)
    posted = client.post(
        f"/analytics/assets/{asset.pk}/feedback/", {"kind": "helpful"}, follow=True
    )
    assert posted.redirect_chain[-1][0] == asset.url and posted.status_code == 200
    views = UsageEvent.objects.filter(kind=EventKind.VIEWED, asset=asset)
    assert views.count() == 1
    client.get(asset.url)  # opening it again later is a view
    assert views.count() == 2


def _table_order(body: str) -> list[int]:
    import re

    return [int(pk) for pk in re.findall(r'<tr data-asset="(\d+)"', body)]


def test_assets_without_enough_data_sort_after_every_verdict_and_show_no_effect():
    """Sorted by effect (the default), an asset compared on 7 deals came first: "not enough
    data · +39 pts (+1 pts to +77 pts) · 7 vs 35" above every asset with a verdict."""
    few = make_asset("North America public sector addendum")
    helps = make_asset("Datasheet")
    flat = make_asset("Guide")
    _stored_row(
        few, verdict="not enough data", enough_data=False, effect=0.39, effect_ci_low=0.01,
        effect_ci_high=0.77, usable_deals=7, comparison_deals=35,
    )  # fmt: skip
    _stored_row(
        helps, verdict="helps", enough_data=True, effect=0.12, effect_ci_low=0.05,
        effect_ci_high=0.19, q_value=0.01, usable_deals=200, comparison_deals=700,
    )  # fmt: skip
    _stored_row(
        flat, verdict="no clear effect", enough_data=True, effect=-0.02, effect_ci_low=-0.1,
        effect_ci_high=0.06, q_value=0.6, mde=0.11, usable_deals=80, comparison_deals=300,
    )  # fmt: skip
    client = _client(ENABLEMENT_LEAD)
    for query, judged in [
        ("", [helps, flat]),
        ("?sort=effect&order=desc", [helps, flat]),
        ("?sort=effect&order=asc", [flat, helps]),
    ]:
        body = client.get(f"/analytics/assets/{query}").content.decode()
        assert _table_order(body) == [a.pk for a in [*judged, few]], query
        assert "+39 pts" not in body and "+77 pts" not in body
        assert "7 <small>vs 35</small>" in body  # why there is no verdict
        assert "comes after every asset with a verdict when sorted by effect" in body
    # The CSV keeps the figure, beside the verdict that says it is none.
    response = client.get("/analytics/assets.csv?sort=effect&order=asc")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[0]
    assert [int(r[0]) for r in rows[1:]] == [flat.pk, helps.pk, few.pk]
    last = dict(zip(header, rows[-1], strict=True))
    assert (last["verdict"], last["effect"], last["enough_data"]) == (
        "not enough data",
        "0.39",
        "False",
    )


def _asset_page_line(client, asset) -> str:
    import re

    body = client.get(f"/analytics/assets/{asset.pk}/").content.decode()
    return re.search(r"<p>(.*?)Verdict:", body, re.S).group(1)


def test_lead_page_of_an_expired_asset_says_so_and_offers_the_editor_not_a_dead_link():
    """The lead's page linked "Open the asset page" to the asset's address, a 404 once it
    expired, and never said it had."""
    import datetime

    from django.core.management import call_command
    from django.utils import timezone

    expired = make_asset("Spring promotion")
    when = timezone.make_aware(datetime.datetime(2025, 3, 1, 12))
    type(expired).objects.filter(pk=expired.pk).update(expire_at=when)
    call_command("publish_scheduled", verbosity=0)  # what the scheduler runs every minute
    expired.refresh_from_db()
    assert (expired.live, expired.expired) == (False, True)
    client = _client(ENABLEMENT_LEAD)
    assert client.get(expired.url).status_code == 404  # the page's old link
    line = _asset_page_line(client, expired)
    assert "Expired on 1 Mar 2025" in line and "reps do not see it" in line
    assert "Open the asset page" not in line and f'href="{expired.url}"' not in line
    assert f'href="/admin/pages/{expired.pk}/edit/">Edit it in the admin</a>' in line


def test_lead_page_of_an_unpublished_archived_or_section_expired_asset_says_why():
    import datetime

    from django.utils import timezone

    from cms.models import LibraryPage
    from tests.factories import make_section

    draft = make_asset("Draft one-pager", publish=False)
    archived = make_asset("Old deck", archived=True)
    section = make_section("2024 campaign")
    section.save_revision().publish()
    in_expired_section = make_asset("Campaign sheet", parent=section)
    when = timezone.make_aware(datetime.datetime(2025, 1, 31, 12))
    LibraryPage.objects.filter(pk=section.pk).update(expire_at=when)
    live = make_asset("Datasheet")
    client = _client(ENABLEMENT_LEAD)
    assert '<strong id="asset-state">Not live</strong>' in _asset_page_line(client, draft)
    assert '<strong id="asset-state">Archived</strong>' in _asset_page_line(client, archived)
    line = _asset_page_line(client, in_expired_section)
    assert "Expired on 31 Jan 2025" in line and "Open the asset page" not in line
    line = _asset_page_line(client, live)
    assert f'<a href="{live.url}">Open the asset page</a>' in line
    assert "asset-state" not in line and "Edit it in the admin" not in line
    assert client.get(live.url).status_code == 200


def test_lead_who_may_not_edit_the_asset_gets_no_editor_link():
    from wagtail.models import GroupPagePermission

    draft = make_asset("Draft one-pager", publish=False)
    GroupPagePermission.objects.filter(group__name=ENABLEMENT_LEAD).delete()
    line = _asset_page_line(_client(ENABLEMENT_LEAD), draft)
    assert "Not live" in line and "/edit/" not in line and "Open the asset page" not in line


@pytest.mark.parametrize("url", ["/analytics/", "/analytics/assets/"])
def test_a_period_the_dashboard_does_not_have_is_named_not_silently_replaced(url):
    client = _client(ENABLEMENT_LEAD)
    page = client.get(url, {"window": "<b>bogus</b>"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "There is no period “&lt;b&gt;bogus&lt;/b&gt;”: showing last 12 months." in text
    assert 'id="window-unknown"' not in client.get(url, {"window": "90d"}).content.decode()


def test_a_segment_no_deal_has_is_named_and_dropped_not_shown_as_a_view_of_no_deals():
    """A stale link's segment filtered the table down to no deals while the filter said
    "All"; another case of a real one now selects it."""
    walk_deal("006SEG", ["discover", "won"], segment="Enterprise")
    client = _client(ENABLEMENT_LEAD)
    text = client.get("/analytics/assets/", {"segment": "<b>Entreprise</b>"}).content.decode()
    assert "No deal has the segment “&lt;b&gt;Entreprise&lt;/b&gt;”: showing every segment." in text
    assert "<option selected>Enterprise</option>" not in text
    text = client.get("/analytics/assets/", {"segment": "enterprise"}).content.decode()
    assert "<option selected>Enterprise</option>" in text and 'id="segment-unknown"' not in text


def test_a_stage_or_pillar_no_term_has_is_named_and_dropped_not_shown_as_no_assets():
    """``?stage=nope`` showed an empty table without a word, where the home page and search
    name such a filter."""
    asset = make_asset("Pricing deck")
    refresh()
    client = _client(ENABLEMENT_LEAD)
    text = client.get(
        "/analytics/assets/", {"stage": "<b>nope</b>", "pillar": "x"}
    ).content.decode()
    assert "No stage “&lt;b&gt;nope&lt;/b&gt;”: showing every stage." in text
    assert "No pillar “x”: showing every pillar." in text
    assert f"/analytics/assets/{asset.pk}/" in text
    text = client.get("/analytics/assets/", {"stage": "decide"}).content.decode()
    assert 'id="stage-unknown"' not in text and f"/analytics/assets/{asset.pk}/" not in text


def test_head_answers_as_get_would_on_the_dashboards_json_and_import_pages():
    """HEAD was a 405 (``require_GET``) on the refresh status, an import's page and its
    status; it is answered as GET is (status and headers, no body) and changes nothing."""
    from analytics.models import ImportJob

    lead = make_user(role=ENABLEMENT_LEAD)
    job = ImportJob.objects.create(created_by=lead, file_name="deals.csv", status="done")
    client = Client()
    client.force_login(lead)
    before = ImportJob.objects.values().get()
    for url in (
        "/analytics/refresh/status/",
        f"/analytics/import/{job.pk}/",
        f"/analytics/import/{job.pk}/status/",
        "/analytics/share-links/",
    ):
        head, got = client.head(url), client.get(url)
        assert head.status_code == got.status_code == 200, url
        assert head["Content-Type"] == got["Content-Type"], url
        assert head.get("Cache-Control") == got.get("Cache-Control"), url
        assert head.content == b"", url
    assert ImportJob.objects.values().get() == before
    assert client.post("/analytics/refresh/status/").status_code == 405


def test_the_asset_table_takes_a_stage_or_pillar_by_name_or_slug_and_a_window_in_any_case():
    """``?stage=Decide`` (the stage as the page names it) was "No stage “Decide”" and showed
    every stage; only the slug worked. ``?window=ALL`` was "There is no period"."""
    from cms.models import BuyerStage, Pillar

    decide = make_asset("Pricing deck", stages=("decide",), pillars=("why-buy-now",))
    other = make_asset("Intro deck", stages=("discover",), pillars=("why-buy",))
    refresh()
    client = _client(ENABLEMENT_LEAD)
    stage = BuyerStage.objects.get(slug="decide")
    pillar = Pillar.objects.get(slug="why-buy-now")
    for params in (
        {"stage": stage.name},
        {"stage": stage.name.upper()},
        {"stage": "DECIDE"},
        {"pillar": pillar.name.swapcase()},
        {"stage": stage.name.lower(), "pillar": pillar.slug.upper()},
    ):
        text = client.get("/analytics/assets/", params).content.decode()
        assert 'id="stage-unknown"' not in text and 'id="pillar-unknown"' not in text, params
        assert f"/analytics/assets/{decide.pk}/" in text, params
        assert f"/analytics/assets/{other.pk}/" not in text, params
        rows = list(
            csv.reader(
                io.StringIO(client.get("/analytics/assets.csv", params).content.decode("utf-8-sig"))
            )
        )
        assert [row[1] for row in rows[1:]] == ["Pricing deck"], params
    page = client.get("/analytics/assets/", {"window": "ALL"})
    assert 'id="window-unknown"' not in page.content.decode()
    assert page.context["window"] == "all"
    csv_file = client.get("/analytics/assets.csv", {"window": "All"})
    assert 'filename="asset-effectiveness-all.csv"' in csv_file["Content-Disposition"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0001, "< 0.001"), (0.0, "< 0.001"), (0.0005, "0.001"), (0.0421, "0.042"), (1, "1.000"),
     (None, "not tested")],
)  # fmt: skip
def test_an_adjusted_p_value_never_reads_zero(value, text):
    import html

    from django.template import Context, Template

    template = Template("{% load analytics_tags %}{{ value|q_text }}")
    assert html.unescape(template.render(Context({"value": value}))) == text  # as a reader sees
