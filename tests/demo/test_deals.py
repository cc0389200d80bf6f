"""The demo data's known truth is recovered by the dashboard's numbers."""

import io

import pytest

from accounts.roles import REP
from analytics import selectors
from analytics.models import Deal
from demo.deals import seed_analytics
from tests.factories import make_asset, make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

LIBRARY = [
    ("Discovery deck", ("discover",)),
    ("Pain calculator", ("discover",)),
    ("Evaluation guide", ("evaluate",)),
    ("Security FAQ", ("evaluate",)),
    ("Customer story", ("evaluate",)),
    ("Pricing sheet", ("decide",)),
    ("Mutual plan", ("decide",)),
    ("Onboarding checklist", ("onboard",)),
]


@pytest.fixture
def seeded():
    make_user("demo-rep", role=REP)
    for title, stages in LIBRARY:
        make_asset(title, stages=stages)
    out = io.StringIO()
    truth = seed_analytics(stdout=out)
    return truth, out.getvalue()


def test_effective_assets_show_a_positive_lift_whose_interval_excludes_zero(seeded):
    truth, _ = seeded
    numbers = selectors.asset_effectiveness(since=None)
    assert len(truth.effective) == 3
    for asset_id in truth.effective:
        row = numbers[asset_id]
        assert row["enough_data"], row
        assert row["lift"] > 0.05 and row["lift_ci_low"] > 0, row


def test_placebo_looks_great_raw_but_its_stage_matched_interval_covers_zero(seeded):
    truth, _ = seeded
    numbers = selectors.asset_effectiveness(since=None)
    placebo = numbers[truth.placebo]
    overview = selectors.snapshot("overview", "all")
    overall = (overview["win_rate_with_content"] * overview["deals_with_content"]
               + overview["win_rate_without_content"] * overview["deals_without_content"]
               ) / overview["closed_deals"]  # fmt: skip
    assert placebo["win_rate"] > overall + 0.2
    assert placebo["enough_data"]
    assert placebo["lift_ci_low"] < 0 < placebo["lift_ci_high"]
    assert selectors.asset_ranking_signals([truth.placebo])[truth.placebo]["effectiveness"] == 0


def test_neutral_assets_get_no_ranking_boost_and_effective_ones_do(seeded):
    truth, _ = seeded
    signals = selectors.asset_ranking_signals()
    boosted = {asset_id for asset_id, s in signals.items() if s["effectiveness"] > 0}
    assert set(truth.effective) <= boosted
    assert truth.placebo not in boosted
    for value in signals.values():
        assert 0 <= value["popularity"] <= 1


def test_seeding_is_idempotent_and_reports_the_truth(seeded):
    _, output = seeded
    assert "Known truth" in output and "placebo" in output
    count = Deal.objects.count()
    again = io.StringIO()
    seed_analytics(stdout=again)
    assert Deal.objects.count() == count == 2000
    assert "nothing changed" in again.getvalue()


def test_no_live_assets_means_no_demo_data():
    out = io.StringIO()
    assert seed_analytics(stdout=out) is None
    assert "No live assets" in out.getvalue()
    assert not Deal.objects.exists()


@pytest.mark.usefixtures("active_engine")
def test_update_analytics_puts_proven_assets_first_in_most_effective_search(seeded):
    """The effectiveness signal reaches search when update_analytics runs, and only assets
    whose lift interval excludes zero get it."""
    from django.core.management import call_command

    from search.services import index_rebuild
    from tests.search.conftest import run_search

    truth, _ = seeded
    index_rebuild()
    call_command("update_analytics", stdout=io.StringIO())
    rep = make_user(role=REP)
    results = run_search(rep, sort="effective", per_page=len(LIBRARY))
    ranked = [hit.asset_id for hit in results.hits]
    proven = {
        asset_id
        for asset_id, signals in selectors.asset_ranking_signals().items()
        if signals["effectiveness"] > 0
    }
    assert proven and proven <= set(truth.effective)
    assert set(ranked[: len(proven)]) == proven
    assert truth.placebo not in ranked[: len(proven)]
