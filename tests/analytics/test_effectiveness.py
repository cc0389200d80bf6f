"""Per-asset effectiveness, attribution, the overview and the heat map on a fixture computed
by hand, through the whole pipeline: events and deals in, rollups, the dashboard's numbers out.

Closed deals (close date 2024-06-30):
  D1 won 1000, reached Onboard; touches A (Jun 1, Evaluate), B (Jun 20, Decide)
  D2 won  500; touch A (Jun 10, Evaluate)
  D3 lost, died in Evaluate; touch A (Jun 1, Evaluate); B on Jul 5 is after close
  D4 lost, died in Discover; no touch
  D5 won 2000; no touch
  D6 lost, died in Decide; touch B (Jun 20, Decide)
  D7 lost, died in Evaluate; only a *view* of B (views are not touches)
  D8 open; touch A
Stage dates (09:00 UTC): Discover May 1, Evaluate May 15, Decide Jun 15, closed Jun 30.
No segment and no owner: one stratum. Events at 12:00 UTC.
"""

import copy
import importlib
import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD
from analytics import selectors, stats
from analytics.models import DealAssetTouch, RollupSnapshot
from analytics.stats import Z95
from cms.models import BuyerStage
from tests.analytics.helpers import refresh, send_events, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db

FULL_WON = ["discover", "evaluate", "decide", "won"]


@pytest.fixture
def fixture(settings):
    settings.ANALYTICS_MIN_DEALS = 2
    a = make_asset("Asset A", stages=("evaluate",), pillars=("why-buy",))
    b = make_asset("Asset B", stages=("decide",), pillars=("why-buy-you",))
    walk_deal("D1", FULL_WON, amount=1000)
    walk_deal("D2", FULL_WON, amount=500)
    walk_deal("D3", ["discover", "evaluate", "lost"])
    walk_deal("D4", ["discover", "lost"])
    walk_deal("D5", FULL_WON, amount=2000)
    walk_deal("D6", ["discover", "evaluate", "decide", "lost"])
    walk_deal("D7", ["discover", "evaluate", "lost"])
    walk_deal("D8", ["discover", "evaluate"])
    send_events(
        ("k1", "used_in_deal", a, "D1", date(2024, 6, 1)),
        ("k2", "asset_presented", b, "D1", date(2024, 6, 20)),
        ("k3", "asset_shared", a, "D2", date(2024, 6, 10)),
        ("k4", "buyer_opened", a, "D3", date(2024, 6, 1)),
        ("k5", "used_in_deal", b, "D3", date(2024, 7, 5)),
        ("k6", "used_in_deal", b, "D6", date(2024, 6, 20)),
        ("k7", "asset_viewed", b, "D7", date(2024, 6, 20)),
        ("k8", "used_in_deal", a, "D8", date(2024, 6, 20)),
    )
    refresh()
    return a, b


def test_win_rate_and_stage_matched_baseline_for_an_evaluate_asset(fixture):
    a, _ = fixture
    numbers = selectors.asset_stats(a.pk, window="all")
    assert (numbers["deals_used"], numbers["won"], numbers["lost"]) == (3, 2, 1)
    assert numbers["win_rate"] == pytest.approx(2 / 3)
    # Raw: the 4 other closed deals (D4 D5 D6 D7) won 1.
    assert numbers["raw_baseline_win_rate"] == pytest.approx(1 / 4)
    assert numbers["raw_lift"] == pytest.approx(2 / 3 - 1 / 4)
    assert numbers["first_touch_stage"] == "Evaluate"
    # Non-users that reached Evaluate: D5 (won), D6, D7 (lost); D4 died in Discover.
    assert numbers["stage_matched_baseline_deals"] == 3
    assert numbers["stage_matched_baseline_win_rate"] == pytest.approx(1 / 3)
    assert numbers["stage_matched_lift"] == pytest.approx(1 / 3)
    expected = stats.newcombe_difference(2, 3, 1, 3)
    low, high = numbers["stage_matched_lift_ci_low"], numbers["stage_matched_lift_ci_high"]
    assert (low, high) == pytest.approx((expected.low, expected.high))
    assert numbers["influenced_revenue"] == 1500.0 and numbers["currency"] == "USD"


def test_stratified_effect_of_an_evaluate_asset_matches_the_tables_worked_by_hand(fixture):
    """Treated at Evaluate (entered May 15 09:00): D1 and D3 on day 17.125, D2 on day 26.125.
    Comparison deals still in Evaluate and untouched by that day:
      D1 (won):  D2 D5 D6 D7 -> 2 of 4 won      table (a, n1, c, n0) = (1, 1, 2, 4)
      D3 (lost): D2 D5 D6 D7 -> 2 of 4 won      (0, 1, 2, 4)
      D2 (won):  D5 D6 D7 (D1, D3 touched) -> 1 of 3 won    (1, 1, 1, 3)
    RD_MH = (2/5 - 2/5 + 2/4) / (4/5 + 4/5 + 3/4) = 0.5 / 2.35
    Variance, the comparisons shared (stats.shared_comparison_variance): each deal's weight g
    is D1 4/5, D3 4/5, D2 3/4 - (1/5 + 1/5) = 7/20 (it compared for D1 and D3), and D5, D6,
    D7 -(1/5 + 1/5 + 1/4) = -13/20 each; treated 2 of 3 won, p = 3/5; comparisons
    (2/5 + 2/5 + 1/4) / 2.35 of 4 deals, p = (4 * 1.05 / 2.35 + 1) / 6;
    Var = (p_T (1 - p_T) (0.64 + 0.64 + 0.1225) + p_C (1 - p_C) 3 * 0.4225) / 2.35^2."""
    a, _ = fixture
    numbers = selectors.asset_stats(a.pk, window="all")
    rd = 0.5 / 2.35
    p_t, p_c = 3 / 5, (4 * 1.05 / 2.35 + 1) / 6
    variance = (p_t * (1 - p_t) * 1.4025 + p_c * (1 - p_c) * 1.2675) / 2.35**2
    assert variance == pytest.approx(0.118041, abs=1e-6)
    assert numbers["effect"] == pytest.approx(rd)
    assert numbers["effect_ci_low"] == pytest.approx(rd - Z95 * variance**0.5)
    assert numbers["effect_ci_high"] == pytest.approx(rd + Z95 * variance**0.5)
    assert (numbers["usable_deals"], numbers["comparison_deals"]) == (3, 4)
    assert (numbers["treated_deals"], numbers["touched_deals"]) == (3, 3)
    assert numbers["stages"] == [
        {
            "stage": "Evaluate",
            "effect": pytest.approx(rd),
            "low": pytest.approx(numbers["effect_ci_low"]),
            "high": pytest.approx(numbers["effect_ci_high"]),
            "treated": 3,
            "control": 4,
        }
    ]


def test_late_asset_is_compared_with_deals_still_in_its_stage(fixture):
    """B at Decide (entered Jun 15 09:00): D1 (won) and D6 (lost) on day 5.125, each against
    D2 and D5 (both won): tables (1,1,2,2) and (0,1,2,2); RD = (0 - 2/3) / (4/3) = -0.5.
    Variance, the two comparisons shared: g = 2/3 for D1 and D6, -(1/3 + 1/3) for D2 and D5,
    W = 4/3; treated 1 of 2 won, p = 2/4; comparisons 2 of 2 won, p = 3/4:
    Var = (1/4 * 8/9 + 3/16 * 8/9) / (4/3)^2 = 7/32. Benjamini-Hochberg over A (p 0.536) and
    B (p 0.285): q = 0.536 for both, neither <= 10%: no verdict for either."""
    a, b = fixture
    numbers = selectors.asset_stats(b.pk, window="all")
    assert (numbers["deals_used"], numbers["won"], numbers["lost"]) == (2, 1, 1)
    assert numbers["effect"] == pytest.approx(-0.5)
    assert numbers["p_value"] == pytest.approx(stats.normal_two_sided_p(0.5 / (7 / 32) ** 0.5))
    a_numbers = selectors.asset_stats(a.pk, window="all")
    assert (
        numbers["q_value"] == pytest.approx(a_numbers["p_value"]) == pytest.approx(0.536, abs=1e-3)
    )
    assert numbers["verdict"] == "no clear effect"
    assert selectors.asset_stats(a.pk, window="all")["verdict"] == "no clear effect"
    # Stage-matched (earlier versions): non-users that reached Decide, D2 and D5, both won.
    assert numbers["stage_matched_baseline_deals"] == 2
    assert numbers["stage_matched_lift"] == pytest.approx(-0.5)
    assert numbers["influenced_revenue"] == 1000.0


def test_not_enough_data_below_the_minimum_number_of_deals(fixture, settings):
    a, b = fixture
    settings.ANALYTICS_MIN_DEALS = 4
    refresh()  # the minimum is one of the rollup's inputs: changing it recomputes
    for asset in (a, b):
        numbers = selectors.asset_stats(asset.pk, window="all")
        assert numbers["verdict"] == "not enough data" and numbers["enough_data"] is False
        assert numbers["q_value"] is None and numbers["mde"] is None
        # No estimate or interval from a handful of deals (Sato's variance is far too small
        # there): the counts say why, on the page, in the CSV and the API alike.
        assert (numbers["effect"], numbers["effect_ci_low"], numbers["effect_ci_high"]) == (
            None,
            None,
            None,
        )
        for part in numbers["stages"]:
            assert (part["effect"], part["low"], part["high"]) == (None, None, None)
            assert part["treated"] >= 2
    a_numbers = selectors.asset_stats(a.pk, window="all")
    assert (a_numbers["usable_deals"], a_numbers["comparison_deals"]) == (3, 4)


def test_attribution_models_credit_assets_as_computed_by_hand(fixture):
    a, b = fixture
    numbers = {asset.pk: selectors.asset_stats(asset.pk, window="all") for asset in (a, b)}
    expected = {
        a.pk: {"first_touch": 1500, "last_touch": 500, "linear": 1000, "u_shaped": 1000},
        b.pk: {"first_touch": 0, "last_touch": 1000, "linear": 500, "u_shaped": 500},
    }
    for asset_id, models in expected.items():
        for model, value in models.items():
            assert numbers[asset_id][f"attributed_{model}"] == pytest.approx(value)
    # D1: A 29 days and B 10 days before close: weights 2^(-29/7) and 2^(-10/7).
    assert numbers[a.pk]["attributed_time_decay"] == pytest.approx(500 + 132.23, abs=0.01)
    assert numbers[b.pk]["attributed_time_decay"] == pytest.approx(867.77, abs=0.01)
    for model in stats.MODELS:  # every model sums to the won revenue of touched deals
        total = sum(row[f"attributed_{model}"] for row in numbers.values())
        assert total == pytest.approx(1500.0)  # D1 + D2; D5 had no touch


def test_overview_headline_is_the_stratified_figure_and_raw_is_kept_for_comparison(fixture):
    """ "Any content" is first used by D1, D3 (A, Evaluate day 17.125), D2 (A, day 26.125) and
    D6 (B at Decide): at Evaluate the same three tables as A; at Decide D6 alone against D2
    and D5 (both won; D1 touched before): (0, 1, 2, 2)."""
    overview = selectors.snapshot("overview", "all")
    assert overview["closed_deals"] == 7
    assert overview["raw_win_rate_with_content"] == pytest.approx(2 / 4)  # D1 D2 | D3 D6
    assert overview["raw_win_rate_without_content"] == pytest.approx(1 / 3)  # D5 | D4 D7
    content = overview["content"]
    assert (content["usable_deals"], content["treated_deals"]) == (4, 4)
    evaluate = 0.5 / 2.35
    decide = (0 - 2 / 3) / (2 / 3)
    assert content["effect"] == pytest.approx(3 / 4 * evaluate + 1 / 4 * decide)
    assert overview["influenced_revenue"] == {
        "currency": "USD",
        "amount": 1500.0,
        "unconverted": {},
    }
    assert overview["won_revenue"]["amount"] == 3500.0
    assert overview["without_history"] == 0


def test_heat_map_cell_is_its_assets_effect_at_its_stage(fixture):
    a, _ = fixture
    heat = selectors.snapshot("heatmap", "all")
    stages = {s["name"]: s["id"] for s in heat["stages"]}
    pillars = {p["name"]: p["id"] for p in heat["pillars"]}

    def cell(stage, pillar):
        return next(
            c
            for c in heat["cells"]
            if c["stage"] == stages[stage] and c["pillar"] == pillars[pillar]
        )

    evaluate = cell("Evaluate", "Why Buy?")
    assert (evaluate["assets"], evaluate["deals_used"], evaluate["usable_deals"]) == (1, 3, 3)
    assert evaluate["effect"] == pytest.approx(0.5 / 2.35)
    assert evaluate["verdict"] == "no clear effect"
    empty = cell("Discover", "Why Buy?")
    assert empty["assets"] == 0 and empty["effect"] is None
    assert empty["verdict"] == "not enough data"
    assert cell("Onboard", "Why Buy?")["pipeline"] is False


def _heat_cell(stage: str, pillar: str) -> dict:
    heat = selectors.snapshot("heatmap", "all")
    stage_id = next(s["id"] for s in heat["stages"] if s["name"] == stage)
    pillar_id = next(p["id"] for p in heat["pillars"] if p["name"] == pillar)
    return next(c for c in heat["cells"] if (c["stage"], c["pillar"]) == (stage_id, pillar_id))


def _without_asset_counts() -> list[dict]:
    cells = selectors.snapshot("heatmap", "all")["cells"]
    return [{k: v for k, v in cell.items() if k != "assets"} for cell in cells]


def _coverage(stage: str, pillar: str) -> int:
    """The coverage matrix's count (the gaps report reps' content is judged by)."""
    from cms.selectors import coverage_matrix

    return next(
        cell["count"]
        for row in coverage_matrix()
        for cell in row["cells"]
        if (cell["stage"].name, cell["pillar"].name) == (stage, pillar)
    )


def _archive(asset) -> None:
    asset.archived = True
    asset.save_revision().publish()


def _expire(asset) -> None:
    from cms.models import AssetPage

    past = timezone.now() - timedelta(minutes=1)
    AssetPage.objects.filter(pk=asset.pk).update(expire_at=past)


RETIRE = {"archive": _archive, "unpublish": lambda asset: asset.unpublish(), "expire": _expire}


@pytest.mark.parametrize("retire", RETIRE)
def test_retiring_an_asset_leaves_every_cells_estimate_and_drops_it_from_the_asset_count(
    fixture, retire
):
    """An outside audit archived one asset and saw a cell turn from "no clear effect" to
    "helps": the deals that used it had left the cell's estimate."""
    a, _ = fixture
    make_asset("Asset C", stages=("evaluate",), pillars=("why-buy",))  # live, used by no deal
    refresh()
    before = _without_asset_counts()
    assert _heat_cell("Evaluate", "Why Buy?")["assets"] == 2
    RETIRE[retire](a)
    refresh()
    assert _without_asset_counts() == before
    evaluate = _heat_cell("Evaluate", "Why Buy?")
    assert (evaluate["deals_used"], evaluate["usable_deals"]) == (3, 3)
    assert evaluate["effect"] == pytest.approx(0.5 / 2.35)
    assert evaluate["assets"] == 1 == _coverage("Evaluate", "Why Buy?")


def test_retagging_an_archived_asset_moves_its_deals_at_the_next_refresh(fixture):
    a, _ = fixture
    _archive(a)
    refresh()
    assert _heat_cell("Evaluate", "Why Buy?")["deals_used"] == 3
    a.stages.set(BuyerStage.objects.filter(slug="discover"))
    a.save_revision().publish()
    refresh()
    assert _heat_cell("Evaluate", "Why Buy?")["deals_used"] == 0
    discover = _heat_cell("Discover", "Why Buy?")
    assert (discover["deals_used"], discover["assets"]) == (3, 0)


def test_a_heat_map_from_before_the_upgrade_is_recomputed_at_the_next_refresh(fixture):
    """Migration 0024: a snapshot computed under the old rule is not left until tomorrow."""
    from django.apps import apps

    upgrade = importlib.import_module("analytics.migrations.0024_heatmap_counts_every_tagged_asset")
    right = selectors.snapshot("heatmap", "all")
    old = copy.deepcopy(right)
    for cell in old["cells"]:
        cell["deals_used"] = 0  # as the old rule left a cell whose assets were archived
    RollupSnapshot.objects.filter(key="heatmap", window="all").update(data=old)
    refresh()
    assert selectors.snapshot("heatmap", "all") == old  # nothing it depends on moved
    upgrade.recompute_at_the_next_refresh(apps, None)
    refresh()
    assert selectors.snapshot("heatmap", "all") == right


def _caption(client) -> str:
    page = client.get("/analytics/").content.decode()
    return re.search(r"<caption>(.*?)</caption>", page, re.S).group(1)


def test_the_heat_maps_caption_says_what_a_cell_counts_and_what_deals_are_compared_within(
    fixture,
):
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    caption = _caption(client)
    assert "same segment and owner, same day in the stage" in caption
    assert "since archived, expired or unpublished" in caption
    assert "“assets” counts only those reps can use there now" in caption
    assert client.post("/analytics/strata/", {"strata": ["industry"]}).status_code == 302
    refresh()
    assert "same segment and owner, industry, same day in the stage" in _caption(client)


def test_refreshing_twice_gives_the_same_tables(fixture):
    first = sorted(DealAssetTouch.objects.values_list("deal_id", "asset_id", "touches"))
    stats_before = {(r["asset_id"], r["window"]): r["data"] for r in _stats()}
    refresh()
    refresh(full=True)
    assert sorted(DealAssetTouch.objects.values_list("deal_id", "asset_id", "touches")) == first
    assert {(r["asset_id"], r["window"]): r["data"] for r in _stats()} == stats_before


def _stats():
    from analytics.models import AssetStats

    return AssetStats.objects.values("asset_id", "window", "data")


def test_ranking_signal_is_neutral_without_a_helps_verdict(fixture):
    a, b = fixture
    signals = selectors.ranking_signals()
    assert signals[a.pk]["effective"] == 0.0 and signals[b.pk]["effective"] == 0.0
    assert set(signals[a.pk]) == {"effective", "popularity"}  # never "used in a won deal"
    assert 0.0 <= signals[a.pk]["popularity"] <= 1.0


def test_usage_counts_views_separately_from_touches(fixture):
    _, b = fixture
    data = selectors.asset_stats(b.pk, window="all")
    assert data["views"] == 1
    assert data["presented"] == 1 and data["used_in_deal"] == 2
    # Usage counts every event tied to a deal, after close too: D1, D3, D6 and D7.
    assert data["distinct_deals"] == 4


def test_weekly_usage_groups_events_by_their_monday():
    asset = make_asset("Weekly")
    send_events(
        ("w1", "asset_viewed", asset, "", date(2024, 6, 30)),  # a Sunday
        ("w2", "asset_viewed", asset, "", date(2024, 7, 1)),  # the next Monday
        ("w3", "asset_presented", asset, "", date(2024, 7, 7)),  # that week's Sunday
    )
    refresh()
    weeks = selectors.asset_usage_weeks(asset.pk)
    assert weeks == [
        {"week": date(2024, 6, 24), "asset_viewed": 1},
        {"week": date(2024, 7, 1), "asset_viewed": 1, "asset_presented": 1},
    ]


def test_update_analytics_refuses_to_overlap_another_run():
    from django.core.management import CommandError, call_command
    from django.utils import timezone

    from analytics.models import JobLock
    from analytics.tasks import refresh_analytics_task

    JobLock.objects.create(name="update_analytics", acquired_at=timezone.now())
    with pytest.raises(CommandError, match="already running"):
        call_command("update_analytics")
    result = refresh_analytics_task.enqueue()
    assert "skipped" in result.return_value


def test_an_abandoned_lock_is_taken_over_and_the_task_runs():
    from datetime import timedelta

    from django.utils import timezone

    from analytics.models import JobLock
    from analytics.tasks import refresh_analytics_task

    JobLock.objects.create(name="update_analytics", acquired_at=timezone.now() - timedelta(hours=3))
    result = refresh_analytics_task.enqueue()
    assert "asset_effects" in result.return_value
    assert not JobLock.objects.exists()


def test_assets_no_deal_used_compare_against_every_closed_deal_of_the_view():
    """Hand-counted: three closed deals (two won). An asset used only in one won deal is
    compared with the other two (1 won of 2); the assets nobody used, with all three (2 of 3)."""
    used = make_asset("Used", stages=("decide",))
    unused = [make_asset(f"Unused {n}", stages=("decide",)) for n in range(3)]
    for external_id, outcome in (("U1", "won"), ("U2", "won"), ("U3", "lost")):
        walk_deal(external_id, ["discover", "evaluate", outcome], amount=1000)
    send_events(("u1", "used_in_deal", used, "U1", date(2024, 6, 20)))
    refresh()
    rows = {row["asset_id"]: row for row in selectors.asset_table(window="all")[0]}
    assert (rows[used.pk]["deals_used"], rows[used.pk]["raw_baseline_win_rate"]) == (1, 0.5)
    for asset in unused:
        assert rows[asset.pk]["deals_used"] == 0
        assert rows[asset.pk]["raw_baseline_win_rate"] == pytest.approx(2 / 3)
