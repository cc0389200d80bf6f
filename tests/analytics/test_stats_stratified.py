"""Stratified risk differences, heterogeneity and many comparisons against worked examples.

The Mantel-Haenszel fixture is Doll & Hill's (1950) smoking and lung cancer data stratified by
sex, the worked example of Fagerland, Lydersen & Laake, *Statistical Analysis of Contingency
Tables* (2017), ch. 10, who report the Mantel-Haenszel risk difference 0.3294 and Cochran's
Q = 6.591 (df 1, P = 0.01025) for it (the figures are also asserted by the book's companion R
package, contingencytables). Their interval uses the Greenland-Robins variance (0.2281 to
0.4307); Sato's variance, ours, is computed below by hand with exact fractions.

    men:   smokers 647 cases of 1269, non-smokers  2 of 29
    women: smokers  41 cases of   69, non-smokers 19 of 51
"""

import math

import pytest

from analytics import stats

DOLL_HILL = [(647, 1269, 2, 29), (41, 69, 19, 51)]  # (a, n1, c, n0) per stratum
# Tolbutamide and mortality by age, University Group Diabetes Program, as tabulated in Rothman,
# Greenland & Lash, Modern Epidemiology (3rd ed., ch. 15); numbers below computed by hand.
TOLBUTAMIDE = [(8, 106, 5, 120), (22, 98, 16, 85)]


def test_mantel_haenszel_risk_difference_matches_the_published_doll_hill_example():
    # w = n1 n0 / N: 1269*29/1298 = 28.35208, 69*51/120 = 29.325; sum 57.67708.
    # (a n0 - c n1) / N: (18763 - 2538)/1298 = 12.5, (2091 - 1311)/120 = 6.5; sum 19.
    result = stats.mantel_haenszel_rd(DOLL_HILL)
    assert result.estimate == pytest.approx(19 / 57.67708012, abs=1e-9)
    assert round(result.estimate, 4) == 0.3294  # Fagerland et al. 2017, ch. 10
    assert (result.treated, result.control) == (1269 + 69, 29 + 51)


def test_sato_variance_matches_the_hand_computation_on_doll_hill():
    # P_k = (n1^2 c - n0^2 a + n1 n0 (n0 - n1)/2) / N^2
    #   men:   (1269^2*2 - 29^2*647 + 36801*(-1240)/2) / 1298^2 = -20140025/1684804 = -11.953928
    #   women: (69^2*19 - 51^2*41 + 3519*(-18)/2) / 120^2 = -47853/14400 = -3.323125
    # Q_k = (a (n0 - c) + c (n1 - a)) / (2N)
    #   men:   (647*27 + 2*622) / 2596 = 18713/2596 = 7.208398
    #   women: (41*32 + 19*28) / 240 = 1844/240 = 7.683333
    # Var = (0.329420 * -15.277053 + 14.891731) / 57.677080^2 = 0.0029636941
    result = stats.mantel_haenszel_rd(DOLL_HILL)
    assert result.variance == pytest.approx(0.0029636941, rel=1e-7)
    assert result.se == pytest.approx(0.0544398, abs=1e-7)
    assert (result.low, result.high) == pytest.approx((0.2227202, 0.4361204), abs=1e-7)


def test_sato_variance_on_the_tolbutamide_example():
    # w: 106*120/226 = 56.283186, 98*85/183 = 45.519126; (a n0 - c n1)/N: 1.902655, 1.650273
    # RD = 3.552928 / 101.802312 = 0.034900
    # P: 0.587752, -1.774642 (sum -1.186891); Q: 3.119469, 7.469945 (sum 10.589414)
    # Var = (0.034900 * -1.186891 + 10.589414) / 101.802312^2 = 0.00101778
    result = stats.mantel_haenszel_rd(TOLBUTAMIDE)
    assert result.estimate == pytest.approx(0.0349003, abs=1e-7)
    assert result.variance == pytest.approx(0.00101778, rel=1e-5)
    low, high = result.interval(z=1.6448536)  # 90% limits, as epidemiology texts quote them
    assert (low, high) == pytest.approx((-0.017574, 0.087375), abs=1e-6)


def test_one_stratum_gives_the_plain_difference_and_the_sato_variance_of_one_table():
    # a=30/100 vs c=20/100: RD 0.1; P = (100^2*20 - 100^2*30 + 0)/200^2 = -2.5;
    # Q = (30*80 + 20*70)/400 = 9.5; w = 50; Var = (0.1*-2.5 + 9.5)/2500 = 0.0037
    result = stats.mantel_haenszel_rd([(30, 100, 20, 100)])
    assert result.estimate == pytest.approx(0.1)
    assert result.variance == pytest.approx(0.0037)


def test_strata_with_only_treated_or_only_control_deals_contribute_nothing():
    with_empty = stats.mantel_haenszel_rd([*DOLL_HILL, (5, 9, 0, 0), (0, 0, 3, 7)])
    alone = stats.mantel_haenszel_rd(DOLL_HILL)
    assert with_empty == alone
    assert stats.mantel_haenszel_rd([(5, 9, 0, 0), (0, 0, 3, 7)]) is None


def test_sparse_strata_of_single_deals_keep_a_positive_variance():
    # 40 matched pairs (one treated, one control deal per rep): a per-stratum binomial
    # variance would be 0 in every stratum; Sato's is not.
    pairs = [(1, 1, 0, 1)] * 10 + [(0, 1, 1, 1)] * 4 + [(1, 1, 1, 1)] * 16 + [(0, 1, 0, 1)] * 10
    result = stats.mantel_haenszel_rd(pairs)
    assert result.estimate == pytest.approx((10 - 4) / 40)
    assert result.variance > 0


def test_no_variation_in_outcomes_gives_zero_variance_and_p_value_one():
    result = stats.mantel_haenszel_rd([(0, 10, 0, 30), (0, 5, 0, 8)])
    assert result.estimate == 0 and result.variance == 0
    assert result.p_value == 1.0


def test_p_value_is_the_two_sided_normal_tail():
    result = stats.RiskDifference(0.1, 0.05**2, 100, 100)  # z = 2
    assert result.p_value == pytest.approx(0.0455003, abs=1e-7)
    assert stats.normal_two_sided_p(1.959963984540054) == pytest.approx(0.05)


def test_weighted_sum_of_independent_estimates():
    first = stats.RiskDifference(0.2, 0.01, 30, 100)
    second = stats.RiskDifference(-0.1, 0.04, 10, 50)
    combined = stats.weighted_sum([(0.75, first), (0.25, second)])
    assert combined.estimate == pytest.approx(0.75 * 0.2 - 0.25 * 0.1)
    assert combined.variance == pytest.approx(0.75**2 * 0.01 + 0.25**2 * 0.04)
    assert (combined.treated, combined.control) == (40, 150)
    assert stats.weighted_sum([]) is None


@pytest.mark.parametrize(
    ("x", "df", "tail"),
    # Chi-squared critical values (e.g. Abramowitz & Stegun 1964, table 26.8).
    [
        (3.841459, 1, 0.05),
        (5.991465, 2, 0.05),
        (7.814728, 3, 0.05),
        (9.487729, 4, 0.05),
        (11.070498, 5, 0.05),
        (6.634897, 1, 0.01),
        (13.276704, 4, 0.01),
        (2.705543, 1, 0.10),
        (0.0, 3, 1.0),
    ],
)
def test_chi_squared_upper_tail_matches_tables(x, df, tail):
    assert stats.chi2_sf(x, df) == pytest.approx(tail, abs=2e-7)


def test_chi_squared_needs_a_degree_of_freedom():
    with pytest.raises(ValueError, match="degree of freedom"):
        stats.chi2_sf(1.0, 0)


def test_cochran_q_matches_the_published_doll_hill_heterogeneity_test():
    # Stratum differences with Wald variances p1(1-p1)/n1 + p0(1-p0)/n0, centred on the
    # Mantel-Haenszel estimate: Q = 6.591, df 1, P = 0.01025 (Fagerland et al. 2017, ch. 10).
    estimates = []
    for a, n1, c, n0 in DOLL_HILL:
        p1, p0 = a / n1, c / n0
        estimates.append((p1 - p0, p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))
    centre = stats.mantel_haenszel_rd(DOLL_HILL).estimate
    result = stats.cochran_q(estimates, centre=centre)
    assert (round(result.q, 3), result.df, round(result.p_value, 5)) == (6.591, 1, 0.01025)


def test_cochran_q_around_the_inverse_variance_mean():
    # d = 0.1, 0.3 with variances 0.01, 0.04: mean (10 + 7.5)/(100 + 25) = 0.14;
    # Q = 0.04^2/0.01 + 0.16^2/0.04 = 0.16 + 0.64 = 0.8
    result = stats.cochran_q([(0.1, 0.01), (0.3, 0.04), (0.5, 0.0)])
    assert result.q == pytest.approx(0.8)
    assert result.df == 1
    assert stats.cochran_q([(0.1, 0.01)]) is None


def test_benjamini_hochberg_adjusts_a_small_list_by_hand():
    # Sorted: 0.005 (1), 0.01 (2), 0.03 (3), 0.04 (4), 0.20 (5); m = 5.
    # m p / rank: 0.025, 0.025, 0.05, 0.05, 0.20; running minimum from the top is the same.
    p = [0.01, 0.04, 0.03, None, 0.005, 0.20]
    adjusted = stats.benjamini_hochberg(p)
    assert adjusted == pytest.approx([0.025, 0.05, 0.05, None, 0.025, 0.20])
    assert adjusted[3] is None  # untested: not counted in m


def test_benjamini_hochberg_takes_the_running_minimum_from_the_largest():
    # Sorted 0.01, 0.02, 0.029, 0.03: m p / rank = 0.04, 0.04, 0.0387, 0.03. The step-up rule
    # rejects everything ranked below the largest passing p-value, so each adjusted value is
    # the minimum from its rank upwards: 0.03 for all four.
    adjusted = stats.benjamini_hochberg([0.03, 0.029, 0.02, 0.01])
    assert adjusted == pytest.approx([0.03, 0.03, 0.03, 0.03])


def test_benjamini_hochberg_with_nothing_tested():
    assert stats.benjamini_hochberg([None, None]) == [None, None]
    assert stats.benjamini_hochberg([]) == []


def test_minimum_detectable_effect_is_2_8_standard_errors_at_5_percent_and_80_power():
    assert stats.minimum_detectable_effect(0.05, alpha=0.05) == pytest.approx(0.05 * 2.8016, 1e-4)
    assert stats.minimum_detectable_effect(0.05, alpha=0.01) == pytest.approx(
        0.05 * (2.5758293 + 0.8416212)
    )
    assert stats.normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)


def test_wald_interval_width_follows_the_standard_error():
    result = stats.RiskDifference(0.05, 0.0004, 50, 500)
    assert result.high - result.low == pytest.approx(2 * stats.Z95 * math.sqrt(0.0004))
