"""The landmark design and the per-asset estimate on small deals worked out by hand.

Stages are 1 (Discover), 2 (Evaluate), 3 (Decide); None is time outside the pipeline (closed
or an unmapped CRM stage). Times are days.
"""

import math

import pytest

from analytics import effectiveness as eff
from analytics import stats
from analytics.effectiveness import CONTROL, NEITHER, TREATED, DealRecord, Stay

STAGES = (1, 2, 3)
ASSET = 7


def deal(deal_id, history, *, won=False, closed_at=None, segment="SMB", rep=1):
    closed = closed_at if closed_at is not None else max((t for t, _ in history), default=0)
    return DealRecord(deal_id, won, closed, segment, (rep,), tuple(history))


def statuses(history, touch, closed_at=None):
    return eff.deal_statuses(deal(1, history, won=True, closed_at=closed_at), touch, STAGES)


# --- Stays ---------------------------------------------------------------------------------


def test_first_stays_merge_crm_stages_of_one_journey_stage_and_ignore_revisits():
    history = [(40, 3), (0, 1), (5, 2), (7, 2), (9, 1), (12, 2), (50, None), (55, 2)]
    assert eff.first_stays(history, STAGES) == [
        Stay(1, 0, 5),
        Stay(2, 5, 9),  # "Needs Analysis" at 5 and "Value Proposition" at 7 are one stay
        Stay(3, 40, 50),
    ]


def test_a_stage_outside_the_pipeline_ends_a_stay_and_the_last_stay_is_open_ended():
    assert eff.first_stays([(0, 1), (3, "Unmapped"), (8, 2)], STAGES) == [
        Stay(1, 0, 3),
        Stay(2, 8, math.inf),
    ]
    assert eff.first_stays([(0, None), (1, "Closed Lost")], STAGES) == []


@pytest.mark.parametrize(
    ("touch", "status"),
    [(None, CONTROL), (9.9, NEITHER), (10, TREATED), (19.9, TREATED), (20, CONTROL), (99, CONTROL)],
)
def test_landmark_status_at_the_edges_of_a_stay(touch, status):
    assert eff.landmark_status(Stay(2, 10, 20), touch) == status


# --- Deals that move backwards, reopen, arrive late, lack history ---------------------------

BACKWARDS = [(0, 1), (10, 2), (20, 1), (30, 2), (40, 3), (50, None)]


def test_deal_moving_backwards_is_judged_by_its_first_stay_in_each_stage():
    # First touch in its first Evaluate stay: treated at Evaluate, a Discover control (it had
    # left Discover untouched), touched before it reached Decide.
    assert statuses(BACKWARDS, 15) == {1: CONTROL, 2: TREATED, 3: NEITHER}


def test_first_touch_during_a_revisit_is_treated_at_no_stage():
    # Touched at 25, back in Discover: its first Discover and Evaluate stays had ended
    # untouched (controls there, decided at those landmarks); Decide came after the touch.
    assert statuses(BACKWARDS, 25) == {1: CONTROL, 2: CONTROL, 3: NEITHER}


def test_never_touched_deal_is_a_control_at_every_stage_it_reached():
    assert statuses(BACKWARDS, None) == {1: CONTROL, 2: CONTROL, 3: CONTROL}


REOPENED = [(0, 1), (10, 2), (20, "Closed Lost"), (30, 2), (35, 3), (45, "Closed Won")]


def test_reopened_deal_counts_its_final_outcome_and_first_stays():
    # Lost at 20, reopened at 30 back into Evaluate, won at 45.
    assert statuses(REOPENED, 37, closed_at=45) == {1: CONTROL, 2: CONTROL, 3: TREATED}
    # A touch while it was closed-lost, before the reopen: treated nowhere.
    assert statuses(REOPENED, 22, closed_at=45) == {1: CONTROL, 2: CONTROL, 3: NEITHER}
    # A touch in the reopened Evaluate stay is a revisit: treated nowhere.
    assert statuses(REOPENED, 32, closed_at=45) == {1: CONTROL, 2: CONTROL, 3: NEITHER}


def test_touch_after_the_final_close_is_ignored():
    assert statuses(BACKWARDS, 60, closed_at=50) == {1: CONTROL, 2: CONTROL, 3: CONTROL}


def test_touch_stamped_before_the_history_starts_counts_at_the_first_stage():
    assert statuses([(5, 1), (10, 2), (20, None)], 1) == {1: TREATED, 2: NEITHER}


def test_touch_is_placed_by_its_own_time_whatever_order_the_rows_arrive_in():
    # An event sent late (after the deal reached Decide) that happened at Discover, and
    # history imported after the events: only times matter, so the first touch is at 3.
    firsts = eff.first_touches([(ASSET, 1, 42.0), (ASSET, 1, 3.0), (ASSET, 1, 15.0)])
    assert firsts == {ASSET: {1: 3.0}}
    record = deal(1, [(20, 3), (0, 1), (10, 2), (50, None)], won=True)
    population = eff.population_prepare([record], stages=STAGES)
    tables = eff.asset_tables(population, firsts[ASSET])
    assert list(tables.tables) == [(1, "SMB")]  # treated at Discover, not Decide


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


# --- Tables and the estimate -----------------------------------------------------------------


def _walk(deal_id, last_stage, *, won, segment, rep, touch_stage=None):
    """A deal that walks 1..last_stage (10 days each) and closes; touched mid-stay."""
    history = [(10 * (s - 1), s) for s in range(1, last_stage + 1)]
    history.append((10 * last_stage, None))
    record = deal(deal_id, history, won=won, segment=segment, rep=rep)
    touch = None if touch_stage is None else (ASSET, deal_id, 10 * (touch_stage - 1) + 5)
    return record, touch


def _book(rows):
    deals, touches = [], []
    for number, row in enumerate(rows, start=1):
        record, touch = _walk(number, **row)
        deals.append(record)
        if touch:
            touches.append(touch)
    return deals, touches


def test_tables_count_treated_and_controls_per_stage_and_stratum_by_hand():
    # Rep 1 (SMB): two deals reach Decide; one used the asset at Decide and won, one did not
    # and lost; one deal used it at Discover and lost there; one died at Evaluate untouched.
    deals, touches = _book(
        [
            dict(last_stage=3, won=True, segment="SMB", rep=1, touch_stage=3),
            dict(last_stage=3, won=False, segment="SMB", rep=1),
            dict(last_stage=1, won=False, segment="SMB", rep=1, touch_stage=1),
            dict(last_stage=2, won=False, segment="SMB", rep=1),
        ]
    )
    population = eff.population_prepare(deals, stages=STAGES)
    tables = eff.asset_tables(population, eff.first_touches(touches)[ASSET])
    # Discover: treated deal 3 (lost); controls deals 1, 2, 4 (deal 1 won).
    # Decide: treated deal 1 (won); control deal 2 (lost). Deal 1 is no Evaluate control?
    # It is: it left Evaluate untouched (touched later, at Decide).
    assert tables.tables == {
        (1, "SMB"): [(0, 0, 1, 1, 3)],
        (3, "SMB"): [(0, 1, 1, 0, 1)],
    }
    assert (tables.touched, tables.treated) == (2, 2)


def test_confounded_by_segment_pooled_difference_vanishes_within_strata():
    # Enterprise wins 80% with or without the asset, SMB 20%, and Enterprise deals use it far
    # more: pooled, users win (32 + 2)/50 = 68% and the others (8 + 8)/50 = 32%.
    rows = []
    for segment, used, used_won, unused, unused_won in (
        ("Enterprise", 40, 32, 10, 8),
        ("SMB", 10, 2, 40, 8),
    ):
        for index in range(used):
            rows.append(
                dict(last_stage=3, won=index < used_won, segment=segment, rep=1, touch_stage=3)
            )
        for index in range(unused):
            rows.append(dict(last_stage=3, won=index < unused_won, segment=segment, rep=1))
    deals, touches = _book(rows)
    crude = stats.newcombe_difference(34, 50, 16, 50)
    assert crude.low > 0.15  # today's kind of comparison says "helps"
    effect = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=5).assets[ASSET]
    assert effect.effect.estimate == pytest.approx(0.0, abs=1e-12)
    assert effect.verdict == eff.NO_CLEAR_EFFECT
    assert {g: rd.estimate for g, rd in effect.segments.items()} == pytest.approx(
        {"Enterprise": 0.0, "SMB": 0.0}
    )


def test_headline_weights_stage_segment_cells_by_usable_treated_deals():
    # Stage 3, SMB rep 1: 2 treated (2 won) vs 2 controls (1 won): RD 0.5.
    # Stage 3, Enterprise rep 2: 1 treated (lost) vs 3 controls (1 won): RD -1/3.
    # Stage 1, SMB rep 3: 1 treated (lost, died at Discover) vs 1 control (lost): RD 0.
    rows = [
        dict(last_stage=3, won=True, segment="SMB", rep=1, touch_stage=3),
        dict(last_stage=3, won=True, segment="SMB", rep=1, touch_stage=3),
        dict(last_stage=3, won=True, segment="SMB", rep=1),
        dict(last_stage=3, won=False, segment="SMB", rep=1),
        dict(last_stage=3, won=False, segment="Enterprise", rep=2, touch_stage=3),
        dict(last_stage=3, won=True, segment="Enterprise", rep=2),
        dict(last_stage=3, won=False, segment="Enterprise", rep=2),
        dict(last_stage=3, won=False, segment="Enterprise", rep=2),
        dict(last_stage=1, won=False, segment="SMB", rep=3, touch_stage=1),
        dict(last_stage=1, won=False, segment="SMB", rep=3),
    ]
    deals, touches = _book(rows)
    population = eff.population_prepare(deals, stages=STAGES)
    effect = eff.asset_effect(population, ASSET, eff.first_touches(touches)[ASSET], min_deals=1)
    smb3 = stats.mantel_haenszel_rd([(2, 2, 1, 2)])
    ent3 = stats.mantel_haenszel_rd([(0, 1, 1, 3)])
    smb1 = stats.mantel_haenszel_rd([(0, 1, 0, 1)])
    assert effect.effect.estimate == pytest.approx((2 * 0.5 + 1 * (-1 / 3) + 1 * 0.0) / 4)
    assert effect.effect.variance == pytest.approx(
        (2 / 4) ** 2 * smb3.variance + (1 / 4) ** 2 * ent3.variance + (1 / 4) ** 2 * smb1.variance
    )
    assert (effect.effect.treated, effect.effect.control) == (4, 6)
    assert effect.segments["Enterprise"].estimate == pytest.approx(-1 / 3)
    assert effect.segments["SMB"].estimate == pytest.approx((2 * 0.5 + 0.0) / 3)
    decide = next(s for s in effect.stages if s.stage == 3)
    assert (decide.treated, decide.treated_won) == (3, 2)
    assert decide.mh == stats.mantel_haenszel_rd([(2, 2, 1, 2), (0, 1, 1, 3)])
    # Cochran's Q over the two segment lifts (both have a variance here).
    assert effect.heterogeneity == stats.cochran_q(
        [(rd.estimate, rd.variance) for rd in effect.segments.values()]
    )
    assert effect.heterogeneity.df == 1


def test_treated_deals_without_a_comparable_control_are_not_usable():
    rows = [
        dict(last_stage=3, won=True, segment="SMB", rep=1, touch_stage=3),  # rep 1: no control
        dict(last_stage=3, won=True, segment="SMB", rep=2, touch_stage=3),
        dict(last_stage=3, won=False, segment="SMB", rep=2),
    ]
    deals, touches = _book(rows)
    effect = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=1).assets[ASSET]
    assert effect.treated == 2
    assert (effect.effect.treated, effect.effect.control) == (1, 1)


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


def test_minimum_detectable_effect_uses_the_threshold_for_one_more_discovery():
    effects = [_effect(1, 0.12, 0.03)] + [_effect(10 + i, 0.0, 0.05) for i in range(3)]
    judged = eff.verdicts_assign(effects)
    # One passed of four: alpha = min(0.10, 2 * 0.10 / 4) = 0.05 -> MDE = 2.8016 se.
    assert judged[1].mde == pytest.approx(stats.minimum_detectable_effect(0.05, alpha=0.05))
    assert judged[1].mde == pytest.approx(0.1401, abs=1e-4)


def test_untouched_assets_of_the_view_are_listed_as_not_enough_data():
    deals, touches = _book([dict(last_stage=1, won=False, segment="SMB", rep=1)])
    report = eff.effects_estimate(deals, touches, stages=STAGES, min_deals=1, asset_ids=[3])
    assert report.assets[3].verdict == eff.NOT_ENOUGH_DATA
    assert report.assets[3].effect is None


def test_minimum_sample_rule_counts_usable_deals():
    rows = [
        dict(last_stage=3, won=i % 2 == 0, segment="SMB", rep=1, touch_stage=3) for i in range(5)
    ]
    rows += [dict(last_stage=3, won=i % 3 == 0, segment="SMB", rep=1) for i in range(30)]
    deals, touches = _book(rows)
    assert (
        not eff.effects_estimate(deals, touches, stages=STAGES, min_deals=6)
        .assets[ASSET]
        .enough_data
    )
    assert (
        eff.effects_estimate(deals, touches, stages=STAGES, min_deals=5).assets[ASSET].enough_data
    )


def test_bulk_tables_agree_with_the_one_deal_rule_on_messy_synthetic_deals():
    # Brute force: every deal's status from deal_statuses, tallied per (stage, stratum).
    from tests.analytics.effectiveness_sim import generate

    data = generate(seed=7, n_deals=600)
    population = eff.population_prepare(data.deals, stages=STAGES)
    firsts = eff.first_touches(data.touches)
    for asset_id, touched in firsts.items():
        expected: dict = {}
        for record in data.deals:
            if record.deal_id not in population.deals:
                continue
            cell = population.deals[record.deal_id][1]
            for stage, status in eff.deal_statuses(
                record, touched.get(record.deal_id), STAGES
            ).items():
                row = expected.setdefault((stage, record.segment, cell), [0, 0, 0, 0])
                if status == TREATED:
                    row[0] += record.won
                    row[1] += 1
                elif status == CONTROL:
                    row[2] += record.won
                    row[3] += 1
        expected_rows = {
            (stage, segment): sorted(
                (cell, *row)
                for (s, g, cell), row in expected.items()
                if (s, g) == (stage, segment) and row[1]
            )
            for stage, segment, _ in expected
        }
        expected_rows = {k: v for k, v in expected_rows.items() if v}
        got = {k: sorted(v) for k, v in eff.asset_tables(population, touched).tables.items()}
        assert got == expected_rows, asset_id
