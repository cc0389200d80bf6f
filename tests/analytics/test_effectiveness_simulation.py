"""Known-truth simulation: the new estimator on many synthetic views, and the alternatives.

120 seeded datasets of 3,000 deals each (tests/analytics/effectiveness_sim.py describes the
generator): three confounded assets with no effect (used mostly in the high-win segment, used
mostly by the best reps, used at two stages), effective and harmful assets, one that helps only
in the segment that rarely uses it, and ten neutral assets, all in one view so Benjamini-Hochberg
sees seventeen assets. Deals about to be lost leave early stages sooner, and touches arrive at a
steady rate while a deal is in a stage. ``python -m tests.analytics.effectiveness_sim 600``
prints the full table. Recorded for comparison on the same data: today's stage-matched
estimator, and the whole-stay rule of the issue's first draft (on the first 40 datasets).
"""

import pytest

from analytics.effectiveness import HELPS, HURTS
from tests.analytics import effectiveness_sim as sim

pytestmark = pytest.mark.slow

RUNS = 120
WHOLE_STAY_RUNS = 40
SEGMENT_NULL, REP_NULL, TWO_STAGE_NULL = 1, 2, 3
EFFECTIVE_DECIDE, EFFECTIVE_EVALUATE, HARMFUL, SEGMENT_ONLY = 4, 5, 6, 7
NEUTRAL = range(100, 110)
EARLY_NEUTRAL = [a for a in NEUTRAL if (a - 100) % 3 != 2]  # used at Discover or Evaluate


@pytest.fixture(scope="module")
def tally():
    return sim.simulate(RUNS, whole_stay_runs=WHOLE_STAY_RUNS)


@pytest.mark.parametrize("asset_id", [SEGMENT_NULL, REP_NULL, TWO_STAGE_NULL])
def test_confounded_assets_without_effect_rarely_get_a_verdict(tally, asset_id):
    assert tally.rate(asset_id, HELPS, HURTS) < 0.10


def test_neutral_assets_rarely_get_a_verdict(tally):
    rate = sum(tally.rate(a, HELPS, HURTS) for a in NEUTRAL) / len(NEUTRAL)
    assert rate < 0.10


def test_asset_helping_only_where_it_is_rarely_used_is_not_called_harmful(tally):
    assert tally.rate(SEGMENT_ONLY, HURTS) < 0.10


def test_ninety_five_percent_intervals_cover_the_truth_about_95_percent_of_the_time(tally):
    everything = [a for a in tally.covered]
    assert 0.93 <= tally.coverage(everything) <= 0.97
    for asset_id in (SEGMENT_NULL, REP_NULL, TWO_STAGE_NULL, EFFECTIVE_EVALUATE, SEGMENT_ONLY):
        assert tally.coverage([asset_id]) >= 0.88, asset_id


def test_per_segment_lift_covers_the_segment_where_the_asset_helps(tally):
    hit, seen = tally.segment_covered
    assert seen >= RUNS * 0.9
    assert hit / seen >= 0.88


def test_effective_and_harmful_assets_are_found(tally):
    assert tally.rate(EFFECTIVE_DECIDE, HELPS) >= 0.9
    assert tally.rate(EFFECTIVE_EVALUATE, HELPS) >= 0.8
    assert tally.rate(HARMFUL, HURTS) >= 0.75
    assert tally.rate(EFFECTIVE_DECIDE, HURTS) == tally.rate(HARMFUL, HELPS) == 0


def test_todays_stage_matched_estimator_gets_the_confounded_cases_wrong(tally):
    # The current definition (selectors.asset_effectiveness, mirrored in effectiveness_sim and
    # checked against it in test_effectiveness_vs_today.py).
    assert tally.rate(SEGMENT_NULL, HELPS, today=True) >= 0.9
    assert tally.rate(REP_NULL, HELPS, today=True) >= 0.8
    assert tally.rate(TWO_STAGE_NULL, HURTS, today=True) >= 0.5
    early = sum(tally.rate(a, HELPS, today=True) for a in EARLY_NEUTRAL) / len(EARLY_NEUTRAL)
    assert early >= 0.4


def test_whole_stay_rule_flatters_assets_used_early(tally):
    # Treated = first used during the stay, control = unused when the stay ended: a deal must
    # stay to be touched, so where deals about to be lost leave early the treated look better.
    assert tally.whole_stay_runs == WHOLE_STAY_RUNS
    assert tally.whole_stay_rate(SEGMENT_NULL, HELPS) >= 0.7
    early = [tally.whole_stay_rate(a, HELPS) for a in EARLY_NEUTRAL]
    assert sum(early) / len(early) >= 0.3


def test_the_any_content_headline_is_not_fooled_when_no_content_matters():
    """The dashboard's headline (the overview) takes a deal's first touch of any asset as the
    moment of use. On views where no asset changes anything - the confounded nulls, ten
    neutral assets and fifty more, so most deals use something early in Discover - it should
    centre on zero, its 95% interval should hold zero about 95% of the time, and it should
    reach a verdict rarely (7 in 100: the view's only comparison, so only the interval rule
    stops a p-value under 10% from being a verdict; 15 in 100 before that rule).
    Comparing with every deal of the stage instead of those still in it on the same day (the
    immortal-time mistake) moves the mean to about +6 points."""
    import dataclasses
    import statistics

    from analytics.effectiveness import first_touches, population_effects, population_prepare
    from analytics.rollups.effects import merged_first_touches

    library = [dataclasses.replace(asset, boost={}) for asset in sim.library()]
    library += [
        sim.AssetSpec(
            f"more {n}", 200 + n, "neutral", use=sim._uniform_use(sim.STAGES[n % 3], 0.08)
        )
        for n in range(50)
    ]
    runs = 100
    estimates, covered, verdicts = [], 0, 0
    for seed in range(runs):
        dataset = sim.generate(seed, assets=library)
        population = population_prepare(dataset.deals, stages=sim.STAGES)
        per_asset = first_touches(dataset.touches)
        touched = merged_first_touches(per_asset, per_asset)
        judged = population_effects(population, {0: touched}, min_deals=20).assets[0]
        effect = judged.effect
        estimates.append(effect.estimate)
        covered += abs(effect.estimate) <= 1.96 * effect.se
        verdicts += judged.verdict in (HELPS, HURTS)
    assert abs(statistics.mean(estimates)) < 0.01
    assert covered / runs >= 0.90
    assert verdicts / runs <= 0.20


def _automated_view(seed: int, n_deals: int = 1500):
    """Deals whose assets are sent by an automation at one moment of the Decide stage (two
    hours after entering it, on an integer clock as the database gives it), to many deals at
    once: so every treated deal is compared with the same deals still in Decide. Segment and
    rep decide both who gets the asset and who wins; losers leave early stages sooner. Asset 1
    changes nothing, asset 2 adds 20 points to the chance of winning."""
    import random

    from analytics.effectiveness import DealRecord

    rng = random.Random(seed)
    hour = 3_600_000
    day = 24 * hour
    deals, touches = [], []
    for deal_id in range(1, n_deals + 1):
        enterprise = rng.random() < 0.4
        best = rng.random() < 0.25
        base = 0.25 + 0.2 * enterprise + 0.15 * best
        t = rng.randrange(400) * day + rng.randrange(day)
        history = []
        reached = True
        for stage in (1, 2):
            history.append((t, stage))
            if rng.random() < 0.3 - 0.1 * enterprise:  # lost early, and quickly
                t += rng.randrange(2, 12) * day
                reached = False
                break
            t += rng.randrange(8, 35) * day
        won = False
        if reached:
            history.append((t, 3))
            boost = 0.0
            for asset_id, share, effect in (
                (1, 0.2 + 0.4 * enterprise + 0.2 * best, 0.0),
                (2, 0.3 + 0.2 * best, 0.20),
            ):
                if rng.random() < share:
                    touches.append((asset_id, deal_id, t + 2 * hour))
                    boost += effect
            won = rng.random() < base + boost
            t += rng.randrange(5, 40) * day
        history.append((t, None))
        rep = (rng.randrange(3) if best else 3 + rng.randrange(9),)
        segment = "Enterprise" if enterprise else "SMB"
        deals.append(DealRecord(deal_id, won, t, segment, rep, tuple(history)))
    return deals, touches


def test_intervals_hold_when_every_treated_deal_shares_its_comparison_deals():
    """An outside audit: with assets sent at one moment of a stage, Sato's variance counted the
    comparison deals every treated deal shares as independent draws, and the 95% interval of
    an asset with no effect left zero out 19 times in 100 (the standard errors about 1.5 times
    too small); the intervals of a real +20 points held it 77-83 times in 100. The variance
    for shared comparisons (stats.shared_comparison_variance) must hold both about 95 times."""
    from analytics.effectiveness import first_touches, population_effects, population_prepare

    runs = 80
    covered = {1: 0, 2: 0}
    estimates = {1: [], 2: []}
    for seed in range(runs):
        deals, touches = _automated_view(seed)
        population = population_prepare(deals, stages=(1, 2, 3))
        judged = population_effects(population, first_touches(touches), min_deals=20).assets
        for asset_id, truth in ((1, 0.0), (2, 0.20)):
            effect = judged[asset_id].effect
            estimates[asset_id].append(effect.estimate)
            covered[asset_id] += effect.low <= truth <= effect.high
    assert abs(sum(estimates[1]) / runs) < 0.02  # the design itself is unbiased
    assert abs(sum(estimates[2]) / runs - 0.20) < 0.02
    assert covered[1] / runs >= 0.90, covered
    assert covered[2] / runs >= 0.90, covered
