"""The statistics against published worked examples and hand-computed numbers."""

import math
from datetime import date

import pytest

from analytics import stats
from analytics.stats import Touch


def test_win_rate_is_won_over_closed_and_none_without_closed_deals():
    assert stats.win_rate(3, 1) == 0.75
    assert stats.win_rate(0, 4) == 0.0
    assert stats.win_rate(0, 0) is None


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    # Newcombe (1998) "Two-sided confidence intervals for the single proportion", Table I,
    # method 3 (Wilson score, no continuity correction).
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998_table(x, n, low, high):
    result = stats.wilson_interval(x, n)
    assert result == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    # Newcombe (1998) "Interval estimation for the difference between independent
    # proportions", Table II, method 10 (hybrid score), examples (a) to (h).
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0),
        (10, 10, 0, 10, 0.6075, 1.0),
    ],
)
def test_newcombe_hybrid_interval_matches_published_examples(x1, n1, x2, n2, low, high):
    result = stats.newcombe_difference(x1, n1, x2, n2)
    assert result.lift == pytest.approx(x1 / n1 - x2 / n2)
    assert (result.low, result.high) == pytest.approx((low, high), abs=5e-5)


def test_lift_interval_excludes_zero_only_when_both_ends_share_a_sign():
    assert stats.newcombe_difference(56, 70, 48, 80).excludes_zero
    assert not stats.newcombe_difference(5, 56, 0, 29).excludes_zero
    assert stats.newcombe_difference(3, 10, 9, 10).excludes_zero  # clearly worse


def test_newcombe_is_undefined_when_a_side_has_no_deals():
    assert stats.newcombe_difference(3, 5, 0, 0) is None


def test_lower_median_takes_the_smaller_middle_value():
    assert stats.lower_median([2, 0, 1]) == 1
    assert stats.lower_median([0, 2, 1, 3]) == 1
    assert stats.lower_median([]) is None


THREE_TOUCHES = [
    Touch(1, date(2024, 1, 1)),
    Touch(2, date(2024, 1, 8)),
    Touch(3, date(2024, 1, 15)),
]
CLOSE = date(2024, 1, 15)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", {1: 1000.0}),
        ("last_touch", {3: 1000.0}),
        ("linear", {1: 333.3333, 2: 333.3333, 3: 333.3333}),
        ("u_shaped", {1: 400.0, 2: 200.0, 3: 400.0}),
        # 14, 7 and 0 days before close: weights 1/4, 1/2, 1 out of 7/4.
        ("time_decay", {1: 142.8571, 2: 285.7143, 3: 571.4286}),
    ],
)
def test_attribution_models_split_a_won_deal_as_defined(model, expected):
    credit = stats.attribute(1000.0, THREE_TOUCHES, CLOSE, model)
    credit = {asset: value for asset, value in credit.items() if value}
    assert credit == pytest.approx(expected, abs=1e-4)


def test_u_shaped_gives_one_touch_everything_and_two_touches_half_each():
    one = stats.attribute(900.0, THREE_TOUCHES[:1], CLOSE, "u_shaped")
    two = stats.attribute(900.0, THREE_TOUCHES[:2], CLOSE, "u_shaped")
    assert one == {1: 900.0}
    assert two == {1: 450.0, 2: 450.0}


def test_repeated_touches_of_one_asset_add_up():
    touches = [Touch(1, date(2024, 1, 1)), Touch(2, date(2024, 1, 2)), Touch(1, date(2024, 1, 3))]
    assert stats.attribute(300.0, touches, None, "linear") == pytest.approx({1: 200.0, 2: 100.0})
    assert stats.attribute(300.0, touches, None, "u_shaped") == pytest.approx({1: 240.0, 2: 60.0})


def test_unknown_attribution_model_is_refused():
    with pytest.raises(ValueError, match="unknown attribution model"):
        stats.attribute(1.0, THREE_TOUCHES, CLOSE, "w_shaped")


def test_shared_comparison_variance_by_hand():
    """Two treated deals (both won) against comparisons they partly share: g = 4/5 and 7/15
    for the treated, -1/5, -8/15, -8/15 for the others, W = 22/15 (the worked example in
    test_effectiveness_estimator). Treated 2 of 2 won: p = (2 + 1) / (2 + 2) = 3/4;
    comparisons at rate 1/2 over 4 deals: p = (2 + 1) / 6 = 1/2."""
    variance = stats.shared_comparison_variance(
        treated_spread=(4 / 5) ** 2 + (7 / 15) ** 2,
        comparison_spread=(1 / 5) ** 2 + 2 * (8 / 15) ** 2,
        weight=22 / 15,
        treated_won=2,
        treated=2,
        comparison_rate=0.5,
        comparisons=4,
    )
    assert variance == pytest.approx((3 / 16 * 0.857778 + 1 / 4 * 0.608889) / (22 / 15) ** 2)
    assert variance == pytest.approx(0.14553, abs=1e-5)


def test_shared_comparison_variance_keeps_the_doubt_all_won_deals_leave():
    """29 usable deals that all won, each against the same 690 comparisons winning 48%: the
    treated deals alone leave a win rate anywhere from about 88% (Wilson), so the standard
    error cannot be near zero: with one win and one loss added, sqrt(30/31 * 1/31 / 29) = 3.3
    points from the treated side and 3.8 in all, where Sato's variance gave 0.35."""
    n0 = 690
    share = 1 / (n0 + 1)
    variance = stats.shared_comparison_variance(
        treated_spread=29 * (n0 * share) ** 2,
        comparison_spread=n0 * (29 * share) ** 2,
        weight=29 * n0 * share,
        treated_won=29,
        treated=29,
        comparison_rate=0.48,
        comparisons=n0,
    )
    assert math.sqrt(variance) == pytest.approx(0.0379, abs=1e-4)
    sato = stats.mantel_haenszel_rd([(1, 1, round(0.48 * n0), n0)] * 29)
    assert math.sqrt(sato.variance) < 0.004
    assert (
        stats.shared_comparison_variance(
            treated_spread=0,
            comparison_spread=0,
            weight=0,
            treated_won=0,
            treated=0,
            comparison_rate=0,
            comparisons=0,
        )
        == 0.0
    )
