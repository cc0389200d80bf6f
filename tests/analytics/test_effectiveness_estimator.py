"""The landmark design and the per-asset estimate on small deals worked out by hand.

Stages are 1 (Discover), 2 (Evaluate), 3 (Decide); None or a CRM name outside the pipeline is
time outside it (closed, unmapped). Times are days.
"""

import math

import pytest

from analytics import effectiveness as eff
from analytics import stats
from analytics.effectiveness import DealRecord, Stay
from analytics.rollups.effects import rd_numbers

STAGES = (1, 2, 3)
ASSET = 7


def deal(deal_id, history, *, won=False, closed_at=None, segment="SMB", rep=1):
    closed = closed_at if closed_at is not None else max((t for t, _ in history), default=0)
    return DealRecord(deal_id, won, closed, segment, (rep,), tuple(history))


# --- Stays ---------------------------------------------------------------------------------


def test_first_stays_merge_crm_stages_of_one_journey_stage_and_ignore_revisits():
    history = [(40, 3), (0, 1), (5, 2), (7, 2), (9, 1), (12, 2), (50, None), (55, 2)]
    assert eff.first_stays(history, STAGES) == [
        Stay(1, 0, 5),
        Stay(2, 5, 9),  # "Needs Analysis" at 5 and "Value Proposition" at 7 are one stay
        Stay(3, 40, 50),
    ]


def test_a_stage_outside_the_pipeline_ends_a_stay_and_none_runs_past_the_close():
    assert eff.first_stays([(0, 1), (3, "Unmapped"), (8, 2)], STAGES) == [
        Stay(1, 0, 3),
        Stay(2, 8, math.inf),
    ]
    assert eff.first_stays([(0, 1), (3, "Unmapped"), (8, 2)], STAGES, closed_at=20) == [
        Stay(1, 0, 3),
        Stay(2, 8, 20),
    ]
    assert eff.first_stays([(0, None), (1, "Closed Lost")], STAGES) == []


# --- Treated and comparison deals: moving backwards, reopening, late events ---------------

BACKWARDS = [(0, 1), (10, 2), (20, 1), (30, 2), (40, 3), (50, None)]


def roles(history, touch, closed_at=None, days=(0, 5, 9, 12)):
    """Where the deal is treated, and the (stage, day) landmarks it is a comparison deal at."""
    record = deal(1, history, won=True, closed_at=closed_at)
    treated = eff.treated_at(record, touch, STAGES)
    compared = {
        (stage, day)
        for stage in STAGES
        for day in days
        if eff.is_comparison(record, touch, stage, day, STAGES)
    }
    return treated, compared


def test_deal_moving_backwards_is_judged_by_its_first_stay_in_each_stage():
    # First touch at 15, day 5 of its first Evaluate stay (10-20). It compares for deals
    # treated in Discover (first stay 0-10) at days up to its length, and for deals treated
    # in Evaluate before day 5; never at Decide, which it reached after the touch.
    treated, compared = roles(BACKWARDS, 15)
    assert treated == (2, 5)
    assert compared == {(1, 0), (1, 5), (1, 9), (2, 0)}


def test_first_touch_during_a_revisit_is_treated_at_no_stage():
    # Touched at 25, back in Discover: its first Discover and Evaluate stays had ended
    # untouched, so it compares there throughout; Decide (from 40) came after the touch.
    treated, compared = roles(BACKWARDS, 25)
    assert treated is None
    assert compared == {(1, 0), (1, 5), (1, 9), (2, 0), (2, 5), (2, 9)}


def test_never_touched_deal_compares_wherever_its_stay_lasted_beyond_the_day():
    treated, compared = roles(BACKWARDS, None)
    assert treated is None
    # Decide 40-50 lasts 10 days: it is at risk at days 0, 5 and 9, not 12.
    assert compared == {(1, 0), (1, 5), (1, 9), (2, 0), (2, 5), (2, 9), (3, 0), (3, 5), (3, 9)}


REOPENED = [(0, 1), (10, 2), (20, "Closed Lost"), (30, 2), (35, 3), (45, "Closed Won")]


def test_reopened_deal_counts_its_final_outcome_and_its_first_stays():
    # Lost at 20, reopened at 30 back into Evaluate, won at 45.
    assert roles(REOPENED, 37, closed_at=45)[0] == (3, 2)
    # A touch while it was closed-lost, before the reopen: treated nowhere, a comparison in
    # its first Evaluate stay (10-20) throughout, and not at Decide (reached after the touch).
    treated, compared = roles(REOPENED, 22, closed_at=45)
    assert treated is None
    assert {k for k in compared if k[0] > 1} == {(2, 0), (2, 5), (2, 9)}
    # A touch in the reopened Evaluate stay is a revisit: treated nowhere.
    assert roles(REOPENED, 32, closed_at=45)[0] is None


def test_touch_after_the_final_close_is_ignored():
    assert roles(BACKWARDS, 60, closed_at=50) == roles(BACKWARDS, None, closed_at=50)


def test_touch_stamped_before_the_history_starts_counts_at_the_first_stage():
    treated, compared = roles([(5, 1), (10, 2), (20, None)], 1)
    assert treated == (1, 0)
    assert compared == set()  # touched on entering Discover, before it reached Evaluate


def test_touch_is_placed_by_its_own_time_whatever_order_the_rows_arrive_in():
    # An event sent late (after the deal reached Decide) that happened at Discover, and
    # history imported after the events: only times matter, so the first touch is at 3.
    firsts = eff.first_touches([(ASSET, 1, 42.0), (ASSET, 1, 3.0), (ASSET, 1, 15.0)])
    assert firsts == {ASSET: {1: 3.0}}
    record = deal(1, [(20, 3), (0, 1), (10, 2), (50, None)], won=True)
    population = eff.population_prepare([record], stages=STAGES)
    tables = eff.asset_tables(population, firsts[ASSET])
    assert tables.tables == {(1, "SMB"): [(0, 3.0, 1, 0, 0)]}  # treated at Discover, day 3


def test_deals_without_stage_history_are_left_out_and_counted():
    deals = [
        deal(1, [], won=True, closed_at=10),
        deal(2, [(0, "Closed Won")], won=True, closed_at=10),
        deal(3, [(0, 1), (5, None)], won=False),
    ]
    population = eff.population_prepare(deals, stages=STAGES)
    assert population.without_history == 2
    assert set(population.deals) == {3}
    tables = eff.asset_tables(population, {1: 1.0, 2: 1.0, 3: 2.0})
    assert tables.touched == 1 and tables.treated == 1
    report = eff.effects_estimate(deals, [(ASSET, 1, 1.0)], stages=STAGES, min_deals=1)
    assert (report.closed_deals, report.without_history) == (3, 2)


def test_bad_deal_rows_are_refused_naming_the_deal():
    with pytest.raises(ValueError, match="deal 4: listed twice"):
        eff.population_prepare([deal(4, [(0, 1)]), deal(4, [(0, 1)])], stages=STAGES)
    broken = DealRecord(5, True, None, "SMB", (1,), ((0, 1),))
    with pytest.raises(ValueError, match="deal 5: closed_at is missing"):
        eff.population_prepare([broken], stages=STAGES)


# --- Matched sets and the estimate ---------------------------------------------------------


def _decide(deal_id, days_in_decide, *, won, touch_day=None, segment="SMB", rep=1):
    """A deal through Discover (0-10) and Evaluate (10-20) into Decide at 20, closed after
    ``days_in_decide``; touched at ``touch_day`` of its Decide stay."""
    close = 20 + days_in_decide
    record = deal(
        deal_id, [(0, 1), (10, 2), (20, 3), (close, None)], won=won, segment=segment, rep=rep
    )
    touch = None if touch_day is None else (ASSET, deal_id, 20 + touch_day)
    return record, touch


def _book(rows):
    deals, touches = [], []
    for number, (days, kwargs) in enumerate(rows, start=1):
        record, touch = _decide(number, days, **kwargs)
        deals.append(record)
        if touch:
            touches.append(touch)
    return deals, touches


def test_each_treated_deal_is_compared_with_its_stratum_still_in_the_stage_untouched_that_day():
    deals, touches = _book(
        [
            (30, dict(won=True, touch_day=5)),  # 1
            (10, dict(won=False)),  # 2
            (40, dict(won=True, touch_day=15)),  # 3
            (20, dict(won=False)),  # 4
            (50, dict(won=True)),  # 5
        ]
    )
    deals.append(deal(6, [(0, 1), (10, 2), (15, None)]))  # lost in Evaluate, untouched
    population = eff.population_prepare(deals, stages=STAGES)
    tables = eff.asset_tables(population, eff.first_touches(touches)[ASSET])
    # Deal 1 at day 5: deals 2-5 are still in Decide and untouched (deal 3 is touched only at
    # day 15): 4 comparisons, 2 won (3 and 5). Deal 3 at day 15: deal 2 has left (10 days),
    # deal 1 was touched at day 5; deals 4 and 5 remain, 1 won.
    assert tables.tables == {(3, "SMB"): [(0, 5.0, 1, 2, 4), (0, 15.0, 1, 1, 2)]}
    assert tables.comparisons == {(3, "SMB"): 4}
    effect = eff.asset_effect(population, ASSET, eff.first_touches(touches)[ASSET], min_deals=1)
    # MH over the two matched sets: ((1*4 - 2)/5 + (1*2 - 1)/3) / (4/5 + 2/3) = 0.5
    assert effect.effect.estimate == pytest.approx(0.5)
    assert (effect.effect.treated, effect.effect.control) == (2, 4)
    # Its variance, the comparisons shared (stats.shared_comparison_variance). Each deal's
    # weight g: deal 1 is treated, 4/5; deal 3 treated (2/3) and a comparison of deal 1 (1/5):
    # 7/15; deal 2 compares with deal 1 only: -1/5; deals 4 and 5 with both: -(1/5 + 1/3).
    # Treated 2 of 2 won: p = 3/4; comparisons (2/5 + 1/3) / (22/15) = 1/2 over 4 deals: 1/2.
    treated_part = (4 / 5) ** 2 + (7 / 15) ** 2
    other_part = (1 / 5) ** 2 + 2 * (8 / 15) ** 2
    by_hand = (3 / 16 * treated_part + 1 / 4 * other_part) / (22 / 15) ** 2
    assert effect.effect.variance == pytest.approx(by_hand)
    assert by_hand == pytest.approx(0.14553, abs=1e-5)


def test_confounded_by_segment_pooled_difference_vanishes_within_strata():
    # Enterprise wins 80% with or without the asset, SMB 20%, and Enterprise deals use it far
    # more: pooled, users win (32 + 2)/50 = 68% and the others (8 + 8)/50 = 32%.
    rows = []
    for segment, used, used_won, unused, unused_won in (
        ("Enterprise", 40, 32, 10, 8),
        ("SMB", 10, 2, 40, 8),
    ):
        for index in range(used):
            rows.append((10, dict(won=index < used_won, touch_day=5, segment=segment)))
        for index in range(unused):
            rows.append((10, dict(won=index < unused_won, segment=segment)))
    deals, touches = _book(rows)
    crude = stats.newcombe_difference(34, 50, 16, 50)
    assert crude.low > 0.15  # a pooled comparison says "helps"
    effect = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=5).assets[ASSET]
    assert effect.effect.estimate == pytest.approx(0.0, abs=1e-12)
    assert effect.verdict == eff.NO_CLEAR_EFFECT
    assert {g: rd.estimate for g, rd in effect.segments.items()} == pytest.approx(
        {"Enterprise": 0.0, "SMB": 0.0}
    )


def test_headline_weights_stage_segment_cells_by_usable_treated_deals():
    # Decide, SMB rep 1: 2 treated (won) on day 5, 2 untouched (1 won): each set (1, 1, 1, 2).
    # Decide, Enterprise rep 2: 1 treated (lost) on day 5, 3 untouched (1 won): (0, 1, 1, 3).
    # Discover, SMB rep 3: 1 treated (lost) on day 5, 1 untouched (lost): (0, 1, 0, 1).
    deals, touches = _book(
        [
            (10, dict(won=True, touch_day=5)),
            (10, dict(won=True, touch_day=5)),
            (10, dict(won=True)),
            (10, dict(won=False)),
            (10, dict(won=False, touch_day=5, segment="Enterprise", rep=2)),
            (10, dict(won=True, segment="Enterprise", rep=2)),
            (10, dict(won=False, segment="Enterprise", rep=2)),
            (10, dict(won=False, segment="Enterprise", rep=2)),
        ]
    )
    deals += [deal(9, [(0, 1), (10, None)], rep=3), deal(10, [(0, 1), (10, None)], rep=3)]
    touches.append((ASSET, 9, 5.0))
    population = eff.population_prepare(deals, stages=STAGES)
    effect = eff.asset_effect(population, ASSET, eff.first_touches(touches)[ASSET], min_deals=1)
    smb3 = stats.mantel_haenszel_rd([(1, 1, 1, 2), (1, 1, 1, 2)])
    ent3 = stats.mantel_haenszel_rd([(0, 1, 1, 3)])
    smb1 = stats.mantel_haenszel_rd([(0, 1, 0, 1)])
    assert (smb3.estimate, ent3.estimate, smb1.estimate) == pytest.approx((0.5, -1 / 3, 0))
    assert effect.effect.estimate == pytest.approx((2 * 0.5 + 1 * (-1 / 3) + 1 * 0.0) / 4)
    # Each cell's variance by hand (stats.shared_comparison_variance, p with one win and one
    # loss added). SMB rep 1: g = 2/3 for each treated deal, -2/3 for each untouched one
    # (both tables), W = 4/3; treated p = 3/4, comparisons 1/2 of 2: p = 1/2.
    smb3_variance = (3 / 16 * 8 / 9 + 1 / 4 * 8 / 9) / (4 / 3) ** 2  # 7/32
    # Enterprise: g = 3/4 and -1/4 (x3), W = 3/4; treated p = 1/3, comparisons 1/3 of 3: 2/5.
    ent3_variance = (2 / 9 * 9 / 16 + 6 / 25 * 3 / 16) / (3 / 4) ** 2
    # Discover SMB rep 3: g = 1/2 and -1/2, W = 1/2; treated p = 1/3, comparisons 0 of 1: 1/3.
    smb1_variance = (2 / 9 * 1 / 4 + 2 / 9 * 1 / 4) / (1 / 2) ** 2  # 4/9
    assert effect.segments["Enterprise"].variance == pytest.approx(ent3_variance)
    assert effect.effect.variance == pytest.approx(
        (2 / 4) ** 2 * smb3_variance + (1 / 4) ** 2 * ent3_variance + (1 / 4) ** 2 * smb1_variance
    )
    assert (effect.effect.treated, effect.effect.control) == (4, 2 + 3 + 1)
    assert effect.segments["Enterprise"].estimate == pytest.approx(-1 / 3)
    assert effect.segments["SMB"].estimate == pytest.approx((2 * 0.5 + 0.0) / 3)
    decide = next(s for s in effect.stages if s.stage == 3)
    assert (decide.treated, decide.treated_won) == (3, 2)
    assert decide.mh.estimate == pytest.approx(
        stats.mantel_haenszel_rd([(1, 1, 1, 2), (1, 1, 1, 2), (0, 1, 1, 3)]).estimate
    )
    assert effect.heterogeneity == stats.cochran_q(
        [(rd.estimate, rd.variance) for rd in effect.segments.values()]
    )
    assert effect.heterogeneity.df == 1


def test_treated_deals_without_a_comparison_deal_are_not_usable():
    deals, touches = _book(
        [
            (10, dict(won=True, touch_day=5, rep=1)),  # rep 1 has no other deal
            (10, dict(won=True, touch_day=5, rep=2)),
            (10, dict(won=False, rep=2)),
        ]
    )
    effect = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=1).assets[ASSET]
    assert effect.treated == 2
    assert (effect.effect.treated, effect.effect.control) == (1, 1)


def test_minimum_sample_rule_counts_usable_deals():
    rows = [(10, dict(won=i % 2 == 0, touch_day=5)) for i in range(5)]
    rows += [(10, dict(won=i % 3 == 0)) for i in range(30)]
    deals, touches = _book(rows)
    effect = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=6).assets[ASSET]
    assert not effect.enough_data and effect.verdict == eff.NOT_ENOUGH_DATA
    effect = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=5).assets[ASSET]
    assert effect.enough_data and (effect.effect.treated, effect.effect.control) == (5, 30)


@pytest.mark.parametrize("small", [0, 12, 10_000], ids=["sorted", "default", "direct"])
def test_bulk_tables_agree_with_the_one_deal_rule_on_messy_synthetic_deals(monkeypatch, small):
    # Brute force with treated_at and is_comparison over every pair of deals of a stratum,
    # through both ways of counting the touched deals (sorted arrays, direct loop).
    from tests.analytics.effectiveness_sim import generate

    monkeypatch.setattr(eff, "_SMALL", small)
    data = generate(seed=7, n_deals=500)
    population = eff.population_prepare(data.deals, stages=STAGES)
    records = [r for r in data.deals if r.deal_id in population.deals]
    for asset_id, touched in eff.first_touches(data.touches).items():
        sets = _matched_sets(records, touched)
        expected: dict = {}
        for stage, day, record, peers in sets:
            cell = population.deals[record.deal_id][1]
            row = (cell, day, int(record.won), sum(p.won for p in peers), len(peers))
            expected.setdefault((stage, record.segment), []).append(row)
        got = eff.asset_tables(population, touched)
        assert {k: sorted(v) for k, v in got.tables.items()} == {
            k: sorted(v) for k, v in expected.items()
        }, asset_id
        by_hand = _spread_by_hand(sets)
        assert set(got.spread) >= set(by_hand), asset_id
        for key, parts in got.spread.items():
            assert parts == pytest.approx(by_hand.get(key, (0.0, 0.0))), (asset_id, key)


def _matched_sets(records, touched) -> list:
    """(stage, day, treated deal, its comparison deals) for every treated deal, by the
    one-deal rules over every pair of deals of a stratum."""
    sets = []
    for record in records:
        place = eff.treated_at(record, touched.get(record.deal_id), STAGES)
        if place is None:
            continue
        stage, day = place
        peers = [
            other
            for other in records
            if (other.segment, other.stratum) == (record.segment, record.stratum)
            and eff.is_comparison(other, touched.get(other.deal_id), stage, day, STAGES)
        ]
        sets.append((stage, day, record, peers))
    return sets


def _spread_by_hand(sets) -> dict:
    """Each deal's weight g in the MH estimate, from the matched sets: its own table's n0 / N
    if treated, less 1 / N of each table it compares in; squared and summed over treated deals
    and over the others, per stage and segment."""
    tables = [
        (stage, t.segment, t.deal_id, [p.deal_id for p in peers]) for stage, _, t, peers in sets
    ]
    weights: dict = {}
    for stage, segment, treated, peers in tables:
        if not peers:
            continue
        size = len(peers) + 1
        key = (stage, segment)
        weights.setdefault(key, {}).setdefault(treated, [0.0, True])[0] += len(peers) / size
        for peer in peers:
            weights[key].setdefault(peer, [0.0, False])[0] -= 1 / size
    treated_at_key = {(stage, segment, t) for stage, segment, t, _ in tables}
    spread = {}
    for key, by_deal in weights.items():
        parts = [0.0, 0.0]
        for deal_id, (g, _) in by_deal.items():
            parts[0 if (*key, deal_id) in treated_at_key else 1] += g * g
        spread[key] = tuple(parts)
    return spread


# --- Verdicts -------------------------------------------------------------------------------


def _effect(asset_id, estimate, se, treated=100, control=400):
    rd = stats.RiskDifference(estimate, se * se, treated, control)
    return eff.AssetEffect(
        asset_id=asset_id,
        touched=treated,
        treated=treated,
        effect=rd,
        stages=(),
        segments={},
        heterogeneity=None,
        enough_data=True,
        p_value=rd.p_value,
    )


def test_verdicts_need_benjamini_hochberg_at_ten_percent_across_the_view():
    effects = [
        _effect(1, 0.12, 0.03),  # z 4.0, p 0.00006
        _effect(2, -0.10, 0.04),  # z -2.5, p 0.0124
        _effect(3, 0.045, 0.02),  # z 2.25, p 0.0244: below 5% alone
        *[_effect(10 + i, 0.01, 0.05) for i in range(7)],  # p 0.84
        eff.AssetEffect(99, 3, 3, None, (), {}, None),  # too few deals: not tested
    ]
    judged = {e.asset_id: e for e in eff.verdicts_assign(effects)}
    # m = 10 tested. Adjusted: 1 -> 0.0006, 2 -> 0.062, 3 -> 0.081; all <= 0.10.
    assert judged[1].verdict == eff.HELPS
    assert judged[2].verdict == eff.HURTS
    assert judged[3].q_value == pytest.approx(10 * effects[2].p_value / 3, rel=1e-9)
    assert judged[3].verdict == eff.HELPS
    assert judged[10].verdict == eff.NO_CLEAR_EFFECT
    assert judged[99].verdict == eff.NOT_ENOUGH_DATA and judged[99].mde is None


def test_an_asset_significant_alone_gets_no_verdict_among_many_neutral_ones():
    effects = [_effect(1, 0.045, 0.02)] + [_effect(10 + i, 0.0, 0.05) for i in range(30)]
    judged = eff.verdicts_assign(effects)
    assert effects[0].p_value < 0.05
    assert judged[0].verdict == eff.NO_CLEAR_EFFECT
    assert judged[0].q_value == pytest.approx(min(1.0, 31 * effects[0].p_value))


def test_a_lone_comparison_gets_no_verdict_while_its_95_percent_interval_holds_zero():
    """The overview's headline is the only comparison of its family: Benjamini-Hochberg alone
    would pass p = 0.080 at 10%, a "hurts" printed beside an interval from -3.7 to +0.2 pts."""
    (lone,) = eff.verdicts_assign([_effect(1, -0.0175, 0.01)])  # z -1.75, p 0.0801
    assert lone.q_value == pytest.approx(0.0801, abs=1e-4)
    low, high = lone.effect.interval()
    assert low < 0 < high
    assert lone.verdict == eff.NO_CLEAR_EFFECT
    # alpha = min(0.10, 0.05, (0 + 1) * 0.10 / 1) = 0.05: MDE = (1.9600 + 0.8416) * 0.01
    assert lone.mde == pytest.approx(0.0280, abs=1e-4)
    (clear,) = eff.verdicts_assign([_effect(1, -0.0215, 0.01)])  # z -2.15, p 0.0316
    assert clear.effect.interval()[1] < 0
    assert clear.verdict == eff.HURTS


def test_minimum_detectable_effect_uses_the_threshold_for_one_more_discovery():
    effects = [_effect(1, 0.12, 0.03)] + [_effect(10 + i, 0.0, 0.05) for i in range(3)]
    judged = eff.verdicts_assign(effects)
    # One passed of four: alpha = min(0.10, 2 * 0.10 / 4) = 0.05 -> MDE = 2.8016 se.
    assert judged[1].mde == pytest.approx(stats.minimum_detectable_effect(0.05, alpha=0.05))
    assert judged[1].mde == pytest.approx(0.1401, abs=1e-4)


def test_untouched_assets_of_the_view_are_listed_as_not_enough_data():
    deals, touches = _book([(10, dict(won=False))])
    report = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=1, asset_ids=[3])
    assert report.assets[3].verdict == eff.NOT_ENOUGH_DATA
    assert report.assets[3].effect is None


def test_a_segment_or_stage_part_without_variation_shows_no_interval():
    """Six deals that all won, compared with six that all won: Sato's variance is 0 and the
    interval would read "+0 pts (+0 to +0)", a certainty no data gives. The same rule as the
    headline's hides it; enough deals with some variation show theirs."""
    flat = stats.RiskDifference(estimate=0.0, variance=0.0, treated=6, control=6)
    assert not eff.enough_data(flat, min_deals=5)
    numbers = rd_numbers(flat, min_deals=5)
    assert (numbers["effect"], numbers["low"], numbers["high"]) == (None, None, None)
    assert (numbers["treated"], numbers["control"]) == (6, 6)

    varied = stats.RiskDifference(estimate=0.2, variance=0.01, treated=6, control=6)
    assert rd_numbers(varied, min_deals=5)["low"] == pytest.approx(0.2 - stats.Z95 * 0.1)
    assert rd_numbers(varied, min_deals=7)["effect"] is None  # too few deals
