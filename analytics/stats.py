"""The statistics, as pure functions over plain numbers. Each docstring states its formula;
tests/analytics/test_stats.py checks each against numbers computed by hand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
_NORMAL = NormalDist()


def win_rate(won: int, lost: int) -> float | None:
    """``won / (won + lost)``; None when there is no closed deal."""
    closed = won + lost
    return won / closed if closed else None


def wilson_interval(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion p = x/n (Wilson 1927):

    ``(2np + z^2 -/+ z*sqrt(z^2 + 4np(1-p))) / (2(n + z^2))``.

    With n = 0 the interval is the whole of [0, 1].
    """
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = 2 * total * p + z * z
    spread = z * math.sqrt(z * z + 4 * total * p * (1 - p))
    denominator = 2 * (total + z * z)
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


@dataclass(frozen=True)
class Lift:
    """A difference of two proportions with its 95% interval."""

    lift: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Lift | None:
    """Newcombe's hybrid score interval (Newcombe 1998, method 10) for p1 - p2.

    With Wilson intervals (l1, u1) for p1 = x1/n1 and (l2, u2) for p2 = x2/n2 and D = p1 - p2:
    ``low = D - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and
    ``high = D + sqrt((u1 - p1)^2 + (p2 - l2)^2)``. None when either side has no deals.
    """
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Lift(difference, low, high)


def lower_median(values: Sequence[int]) -> int | None:
    """The lower median of ``values`` (for an even count, the smaller middle value)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


# --- Attribution --------------------------------------------------------------------------

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")
HALF_LIFE_DAYS = 7.0


@dataclass(frozen=True)
class Touch:
    asset_id: int
    day: date


def _weights(model: str, touches: Sequence[Touch], close: date | None) -> list[float]:
    count = len(touches)
    if model == "first_touch":
        return [1.0] + [0.0] * (count - 1)
    if model == "last_touch":
        return [0.0] * (count - 1) + [1.0]
    if model == "linear":
        return [1.0 / count] * count
    if model == "u_shaped":
        if count <= 2:
            return [1.0 / count] * count
        middle = 0.2 / (count - 2)
        return [0.4] + [middle] * (count - 2) + [0.4]
    if model == "time_decay":
        end = close or max(t.day for t in touches)
        raw = [2.0 ** (-max(0, (end - t.day).days) / HALF_LIFE_DAYS) for t in touches]
        total = sum(raw)
        return [value / total for value in raw]
    raise ValueError(f"unknown attribution model {model!r}")


def attribute(
    amount: float, touches: Sequence[Touch], close: date | None, model: str
) -> dict[int, float]:
    """Split a won deal's ``amount`` over its touches (ordered by time) under ``model``.

    - first_touch: 100% to the first touch; last_touch: 100% to the last.
    - linear: amount / n to each of the n touches.
    - u_shaped: 40% first, 40% last, 20% shared by the touches between; one touch gets 100%,
      two touches 50% each.
    - time_decay: weight ``2^(-d/7)`` where d is the whole days from the touch to the close
      date, normalised so the weights sum to 1.

    Credits add up per asset; their sum is ``amount`` (the invariant the tests check).
    """
    if not touches:
        return {}
    credit: dict[int, float] = {}
    for touch, weight in zip(touches, _weights(model, touches, close), strict=True):
        credit[touch.asset_id] = credit.get(touch.asset_id, 0.0) + amount * weight
    return credit


# --- Stratified risk differences, heterogeneity, many comparisons ---------------------------


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic: ``P(|Z| >= |z|) = erfc(|z| / sqrt 2)``."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def normal_quantile(p: float) -> float:
    """The standard normal quantile ``z_p`` (Phi^-1(p)), for 0 < p < 1."""
    return _NORMAL.inv_cdf(p)


@dataclass(frozen=True)
class RiskDifference:
    """An estimated difference of win probabilities (treated - control) with its variance.

    ``treated`` and ``control`` count the deals that carried the estimate (deals in strata with
    both kinds); the interval is the Wald interval ``estimate -/+ z * sqrt(variance)``.
    """

    estimate: float
    variance: float
    treated: int
    control: int

    @property
    def se(self) -> float:
        return math.sqrt(self.variance)

    def interval(self, z: float = Z95) -> tuple[float, float]:
        return self.estimate - z * self.se, self.estimate + z * self.se

    @property
    def low(self) -> float:
        return self.interval()[0]

    @property
    def high(self) -> float:
        return self.interval()[1]

    @property
    def p_value(self) -> float:
        """Two-sided p-value of the Wald test of no difference; 1 when the variance is 0
        (every usable deal had the same outcome, so the data say nothing)."""
        if self.variance <= 0:
            return 1.0
        return normal_two_sided_p(self.estimate / self.se)


def mantel_haenszel_rd(tables: Iterable[tuple[int, int, int, int]]) -> RiskDifference | None:
    """Mantel-Haenszel common risk difference (Greenland & Robins 1985) with Sato's variance
    (Sato 1989).

    Each table is one stratum ``(a, n1, c, n0)``: a of n1 treated deals won, c of n0 control
    deals won; ``N = n1 + n0``. Strata with no treated or no control deal carry no
    information about the difference and are skipped. With ``w = n1 n0 / N``::

        RD_MH = sum((a n0 - c n1) / N) / sum(w)
        P     = (n1^2 c - n0^2 a + n1 n0 (n0 - n1) / 2) / N^2
        Q     = (a (n0 - c) + c (n1 - a)) / (2 N)
        Var   = (RD_MH sum(P) + sum(Q)) / sum(w)^2

    Sato's variance is consistent both when strata are few and large and when they are many
    and small (one rep's handful of deals), which is why it is used here rather than the
    Greenland-Robins variance for large strata. Same formulas: Rothman, Greenland & Lash,
    *Modern Epidemiology* 3rd ed. (2008), ch. 15; SAS PROC FREQ ``COMMONRISKDIFF``. None when
    no stratum has both kinds of deal.
    """
    weight = numerator = p_sum = q_sum = 0.0
    treated = control = 0
    for a, n1, c, n0 in tables:
        if n1 <= 0 or n0 <= 0:
            continue
        total = n1 + n0
        weight += n1 * n0 / total
        numerator += (a * n0 - c * n1) / total
        p_sum += (n1 * n1 * c - n0 * n0 * a + n1 * n0 * (n0 - n1) / 2) / (total * total)
        q_sum += (a * (n0 - c) + c * (n1 - a)) / (2 * total)
        treated += n1
        control += n0
    if weight == 0:
        return None
    estimate = numerator / weight
    variance = max(0.0, (estimate * p_sum + q_sum) / (weight * weight))
    return RiskDifference(estimate, variance, treated, control)


def shared_comparison_variance(
    *,
    treated_spread: float,
    comparison_spread: float,
    weight: float,
    treated_won: int,
    treated: int,
    comparison_rate: float,
    comparisons: int,
) -> float:
    """The variance of a Mantel-Haenszel risk difference whose tables share their comparison
    deals: one treated deal per table, compared with the deals still in the stage and untouched
    that day, the same deal serving many tables.

    With one treated deal per table k (``N_k = n0_k + 1``) the estimate is linear in the deals'
    outcomes y_j: ``RD = sum_j g_j y_j / W``, ``W = sum_k n0_k / N_k``, where a deal's weight is
    ``g_j = n0_j / N_j`` for its own table if it is treated, less ``h_j = sum over the tables
    it compares in of 1 / N_k``. Given who was compared with whom (fixed at the landmarks) and
    independent outcomes::

        Var = (s_T * sum_treated g_j^2 + s_C * sum_others g_j^2) / W^2

    ``treated_spread`` and ``comparison_spread`` are the two sums of g_j^2 and ``weight`` is W.
    It is the conditional variance of a matching estimator with replacement (Abadie & Imbens
    2006, Econometrica 74:235-267, eq. 10: each unit weighted by how often it is used),
    written for these tables. Sato's variance treats the tables as independent, so a comparison
    deal shared by every treated deal counted as many independent draws: with 400 deals used at
    the same day of a stage against 600 comparisons the interval was about 1.5 times too narrow
    (an outside audit: a true zero held outside 19 of 100 intervals).

    ``s_T = p(1 - p)`` of the treated deals' win rate and ``s_C`` of ``comparison_rate`` (the
    MH-weighted win rate of the comparisons, over ``comparisons`` distinct deals), each with
    Agresti and Caffo's one win and one loss added, ``p = (x + 1) / (n + 2)`` (Agresti & Caffo
    2000, Am Stat 54:280-288), so that 29 usable deals that all won still carry the uncertainty
    29 deals leave (their win rate could be 88%), not none. Pooling the rates over the strata
    of a cell can only overstate ``p(1 - p)`` (it is concave), never understate it.
    """
    if weight <= 0:
        return 0.0
    share_t = (treated_won + 1) / (treated + 2)
    share_c = (comparison_rate * comparisons + 1) / (comparisons + 2)
    spread = share_t * (1 - share_t) * treated_spread
    spread += share_c * (1 - share_c) * comparison_spread
    return spread / (weight * weight)


def weighted_sum(parts: Iterable[tuple[float, RiskDifference]]) -> RiskDifference | None:
    """``sum(v_i * RD_i)`` for weights ``v_i`` and independent estimates RD_i, with variance
    ``sum(v_i^2 Var_i)`` (the variance of a sum of independent terms). Deal counts add up.
    Used to average per-stratum-group estimates with weights that sum to 1."""
    estimate = variance = 0.0
    treated = control = 0
    seen = False
    for weight, part in parts:
        seen = True
        estimate += weight * part.estimate
        variance += weight * weight * part.variance
        treated += part.treated
        control += part.control
    return RiskDifference(estimate, variance, treated, control) if seen else None


def chi2_sf(x: float, df: int) -> float:
    """Upper tail ``P(X >= x)`` of a chi-squared variable with integer ``df`` >= 1.

    Closed forms (Abramowitz & Stegun 1964, 26.4.4 and 26.4.5), with Z the standard normal
    density and c = sqrt(x):

    - odd df:  ``2 (1 - Phi(c)) + 2 Z(c) sum_{r=1}^{(df-1)/2} c^(2r-1) / (1*3*...*(2r-1))``
    - even df: ``exp(-x/2) sum_{r=0}^{df/2-1} (x/2)^r / r!``
    """
    if df < 1:
        raise ValueError(f"chi-squared needs at least one degree of freedom, got {df}")
    if x <= 0:
        return 1.0
    if df % 2 == 0:
        term = total = math.exp(-x / 2)
        for r in range(1, df // 2):
            term *= x / (2 * r)
            total += term
        return min(1.0, total)
    c = math.sqrt(x)
    term = 2 * math.exp(-x / 2) / math.sqrt(2 * math.pi) * c  # 2 Z(c) c^1 / 1
    total = math.erfc(c / math.sqrt(2))
    for r in range(1, (df - 1) // 2 + 1):
        if r > 1:
            term *= x / (2 * r - 1)
        total += term
    return min(1.0, total)


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q with its degrees of freedom and p-value."""

    q: float
    df: int
    p_value: float


def cochran_q(
    estimates: Sequence[tuple[float, float]], centre: float | None = None
) -> Heterogeneity | None:
    """Cochran's Q test that several independent estimates share one value (Cochran 1954).

    For estimates ``d_i`` with variances ``v_i``::

        Q = sum((d_i - d_bar)^2 / v_i),   df = k - 1,   p = P(chi2_df >= Q)

    where ``d_bar`` is the inverse-variance mean ``sum(d_i / v_i) / sum(1 / v_i)`` unless a
    ``centre`` is given (e.g. the Mantel-Haenszel estimate, as in Fagerland, Lydersen & Laake
    2017, ch. 10). Estimates with a variance of 0 carry no weight and are left out. None
    with fewer than two usable estimates. Q has little power with few groups, so a large
    p-value does not show the effect is the same everywhere.
    """
    usable = [(d, v) for d, v in estimates if v > 0]
    if len(usable) < 2:
        return None
    if centre is None:
        centre = sum(d / v for d, v in usable) / sum(1 / v for _, v in usable)
    q = sum((d - centre) ** 2 / v for d, v in usable)
    df = len(usable) - 1
    return Heterogeneity(q, df, chi2_sf(q, df))


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (Benjamini & Hochberg 1995), in input order.

    With the m tested p-values sorted ``p_(1) <= ... <= p_(m)``, the adjusted value of rank i
    is ``min_{j >= i} min(1, m p_(j) / j)``. Rejecting every hypothesis whose adjusted value is
    <= q controls the false discovery rate at q (for independent or positively dependent
    tests). None entries were not tested (e.g. too few deals): they are not counted in m and
    stay None.
    """
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m, 0, -1):
        p, index = tested[rank - 1]
        running = min(running, m * p / rank)
        adjusted[index] = min(1.0, running)
    return adjusted


def minimum_detectable_effect(se: float, *, alpha: float, power: float = 0.8) -> float:
    """The smallest true difference a two-sided level-``alpha`` Wald test detects with
    probability ``power`` when the estimate's standard error is ``se``:
    ``MDE = (z_{1-alpha/2} + z_power) * se`` (e.g. Bloom 1995; 2.80 se at alpha 5%, power 80%).
    """
    return (normal_quantile(1 - alpha / 2) + normal_quantile(power)) * se
