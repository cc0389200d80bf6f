"""Per-asset effectiveness, attribution and the overview on a fixture computed by hand.

Closed deals (close date 2024-06-30):
  D1 won 1000, reached Onboard; touches A (Jun 1, Evaluate), B (Jun 20, Decide)
  D2 won  500; touch A (Jun 10, Evaluate)
  D3 lost, died in Evaluate; touch A (Jun 1, Evaluate); B on Jul 5 is after close
  D4 lost, died in Discover; no touch
  D5 won 2000; no touch
  D6 lost, died in Decide; touch B (Jun 20, Decide)
  D7 lost, died in Evaluate; only a *view* of B (views are not touches)
  D8 open; touch A
"""

from datetime import date

import pytest

from analytics import selectors, stats
from analytics.models import DealAssetTouch
from analytics.rollups import update_analytics
from tests.analytics.helpers import send_events, walk_deal
from tests.factories import make_asset

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
    update_analytics()
    return a, b


def test_win_rate_and_stage_matched_baseline_for_an_evaluate_asset(fixture):
    a, _ = fixture
    numbers = selectors.asset_effectiveness()[a.pk]
    assert (numbers["deals_used"], numbers["won"], numbers["lost"]) == (3, 2, 1)
    assert numbers["win_rate"] == pytest.approx(2 / 3)
    assert numbers["first_touch_stage"] == "Evaluate"
    # Non-users that reached Evaluate: D5 (won), D6, D7 (lost); D4 died in Discover.
    assert numbers["baseline_deals"] == 3
    assert numbers["baseline_win_rate"] == pytest.approx(1 / 3)
    assert numbers["lift"] == pytest.approx(1 / 3)
    expected = stats.newcombe_difference(2, 3, 1, 3)
    assert (numbers["lift_ci_low"], numbers["lift_ci_high"]) == pytest.approx(
        (expected.low, expected.high)
    )
    assert numbers["influenced_revenue"] == 1500.0


def test_late_asset_is_compared_with_deals_that_reached_its_stage(fixture):
    _, b = fixture
    numbers = selectors.asset_effectiveness()[b.pk]
    # Used by D1 (won) and D6 (lost); the touch on D3 came after it closed.
    assert (numbers["deals_used"], numbers["won"], numbers["lost"]) == (2, 1, 1)
    # Non-users that reached Decide: D2 and D5, both won.
    assert numbers["baseline_deals"] == 2
    assert numbers["baseline_win_rate"] == 1.0
    assert numbers["lift"] == pytest.approx(-0.5)
    assert numbers["influenced_revenue"] == 1000.0


def test_not_enough_data_below_the_minimum_number_of_closed_deals(fixture, settings):
    a, b = fixture
    numbers = selectors.asset_effectiveness(min_deals=3)
    assert numbers[a.pk]["enough_data"] is True
    assert numbers[b.pk]["enough_data"] is False


def test_attribution_models_credit_assets_as_computed_by_hand(fixture):
    a, b = fixture
    numbers = selectors.asset_effectiveness()
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


def test_every_attribution_model_sums_to_won_revenue_of_touched_deals(fixture):
    numbers = selectors.asset_effectiveness()
    for model in stats.MODELS:
        total = sum(row[f"attributed_{model}"] for row in numbers.values())
        assert total == pytest.approx(1500.0)  # D1 + D2; D5 had no touch


def test_overview_compares_win_rate_with_and_without_content(fixture):
    overview = selectors.snapshot("overview", "all")
    assert overview["closed_deals"] == 7
    assert overview["win_rate_with_content"] == pytest.approx(2 / 4)  # D1 D2 | D3 D6
    assert overview["win_rate_without_content"] == pytest.approx(1 / 3)  # D5 | D4 D7
    assert overview["influenced_revenue"] == 1500.0
    assert overview["won_revenue"] == 3500.0


def test_heat_map_cell_uses_its_stage_for_the_baseline(fixture):
    heat = selectors.snapshot("heatmap", "all")
    stages = {s["name"]: s["id"] for s in heat["stages"]}
    pillars = {p["name"]: p["id"] for p in heat["pillars"]}
    cell = next(
        c
        for c in heat["cells"]
        if c["stage"] == stages["Evaluate"] and c["pillar"] == pillars["Why Buy?"]
    )
    assert (cell["assets"], cell["deals_used"], cell["won"]) == (1, 3, 2)
    assert cell["baseline_win_rate"] == pytest.approx(1 / 3)
    empty = next(
        c
        for c in heat["cells"]
        if c["stage"] == stages["Discover"] and c["pillar"] == pillars["Why Buy?"]
    )
    assert empty["assets"] == 0 and empty["win_rate"] is None


def test_update_analytics_twice_gives_the_same_tables(fixture):
    first = sorted(DealAssetTouch.objects.values_list("deal_id", "asset_id", "touches"))
    stats_before = {(r["asset_id"], r["window"]): r["data"] for r in _stats()}
    update_analytics()
    assert sorted(DealAssetTouch.objects.values_list("deal_id", "asset_id", "touches")) == first
    assert {(r["asset_id"], r["window"]): r["data"] for r in _stats()} == stats_before


def _stats():
    from analytics.models import AssetStats

    return AssetStats.objects.values("asset_id", "window", "data")


def test_ranking_signal_is_neutral_when_the_interval_covers_zero(fixture):
    a, b = fixture
    signals = selectors.asset_ranking_signals([a.pk, b.pk])
    # The fixture's close dates are more than a year old, so the 365-day window is empty.
    assert signals[a.pk]["effectiveness"] == 0.0
    assert signals[a.pk]["won_deals"] is True
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
    update_analytics()
    weeks = selectors.asset_usage_weeks(asset.pk)
    assert weeks == [
        {"week": date(2024, 6, 24), "asset_viewed": 1},
        {"week": date(2024, 7, 1), "asset_viewed": 1, "asset_presented": 1},
    ]


def test_update_analytics_refuses_to_overlap_another_run():
    from django.core.management import CommandError, call_command
    from django.utils import timezone

    from analytics.models import JobLock

    JobLock.objects.create(name="update_analytics", acquired_at=timezone.now())
    with pytest.raises(CommandError, match="already running"):
        call_command("update_analytics")
    from analytics.tasks import update_analytics_task

    result = update_analytics_task.enqueue()
    assert "skipped" in result.return_value


def test_an_abandoned_lock_is_taken_over_and_the_task_runs():
    from datetime import timedelta

    from django.utils import timezone

    from analytics.models import JobLock
    from analytics.tasks import update_analytics_task

    JobLock.objects.create(name="update_analytics", acquired_at=timezone.now() - timedelta(hours=3))
    result = update_analytics_task.enqueue()
    assert "asset_stats" in result.return_value
    assert not JobLock.objects.exists()
