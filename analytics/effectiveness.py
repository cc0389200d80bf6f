"""Does using an asset change a deal's chance of winning? Estimates that survive confounding.

Pure functions over plain rows (no ORM): the rollup hands them one ``DealRecord`` per closed
deal and the (asset, deal, time) touches, and gets per-asset effects with intervals, verdicts
and the sample behind them. The formulas, in the order they are applied:

**1. Landmarks: one comparison per journey stage.** A deal's *first stay* in stage s runs from
its first entry into s to its next change of journey stage (consecutive CRM stages that map to
one journey stage are one stay; the last stay before the close is open-ended). With T the
deal's first touch of the asset (touches after the close are dropped; a touch stamped before
the history starts counts at its first entry)::

    treated at s   if  entered_s <= T < left_s      (first used while in s)
    control at s   if  no T, or T >= left_s          (not used by the time it left s)
    neither        if  T < entered_s                 (used before it got to s)

Every assignment is decided when the first stay ends (the landmark, as in Dafni 2011's
landmark analysis), so nothing that happens later - moving backwards, reopening, a touch on a
revisit - moves a deal from one group to the other; such look-ahead would bias the comparison.
A first touch during a revisit therefore makes the deal treated at no stage (it stays a control
at the stages it had already left). Deals whose history names no journey stage are left out
and counted (``without_history``), never treated as if they died at the first stage.

**2. Strata.** At each stage, deals are grouped by segment and by a stratum key (the deal owner,
plus whatever the lead picks: industry, region, deal-size band). Each stratum k is a 2x2 table:
a_k of n1_k treated deals won, c_k of n0_k controls won, N_k = n1_k + n0_k. Strata with no
treated or no control deal say nothing about the difference and are dropped; the deals left
are the *usable* ones. Within each stage x segment cell the strata are combined with the
Mantel-Haenszel risk difference (Greenland & Robins 1985) and Sato's variance (Sato 1989),
``analytics.stats.mantel_haenszel_rd``::

    RD_MH = sum_k (a_k n0_k - c_k n1_k) / N_k  /  sum_k n1_k n0_k / N_k
    Var   = (RD_MH sum_k P_k + sum_k Q_k) / (sum_k n1_k n0_k / N_k)^2
    P_k   = (n1_k^2 c_k - n0_k^2 a_k + n1_k n0_k (n0_k - n1_k) / 2) / N_k^2
    Q_k   = (a_k (n0_k - c_k) + c_k (n1_k - a_k)) / (2 N_k)

Sato's variance stays valid when strata are many and small (one rep's few deals at one stage),
where a per-stratum binomial variance is 0 for a stratum of one deal.

**3. Headline: averaged over the deals that used the asset (ATT weighting).** With cells j =
(stage, segment), t_j the usable treated deals of cell j and T = sum_j t_j::

    lift = sum_j (t_j / T) RD_MH,j          Var(lift) = sum_j (t_j / T)^2 Var_j

This is also the rule that combines stages into one asset-level number: each stage counts in
proportion to the deals that first used the asset there, so the lift is the effect averaged
over the deals that used it, each judged against the deals that had reached the same stage
without it, in its own segment and with its own rep. Treating the cells as independent is
exact between segments (disjoint deals). Between stages the same deal can be a control at s and
treated or a control at a later s'; within a stratum the covariance of the stage-s control mean
with the stage-s' treated mean and with the stage-s' control mean are both about
sigma^2 / n0_s, and they enter Cov(RD_s, RD_s') with opposite signs, so they cancel up to the
difference of outcome variances between those groups divided by the (large) number of stage-s
controls - the reason sequential landmark comparisons are nearly uncorrelated. The simulation
in tests/analytics/test_effectiveness_simulation.py checks the coverage this gives for an asset
used at two stages. Within a cell, MH weights (n1 n0 / N) rather than treated counts weight the
owner strata: they approach the treated counts whenever controls outnumber treated deals in a
stratum (the usual case), and unlike treated-count weights they have a variance that is
estimable when strata hold one or two deals.

**4. Heterogeneity.** The per-segment lift is the same average restricted to one segment;
Cochran's Q (Cochran 1954, ``analytics.stats.cochran_q``) tests whether the segment lifts
differ: ``Q = sum_g (d_g - d_bar)^2 / v_g`` with d_bar the inverse-variance mean, referred to
chi-squared with G - 1 degrees of freedom. When its p-value is below ``HETEROGENEITY_ALPHA`` the
page should show the per-segment lifts beside the headline.

**5. Verdicts across many assets.** Each asset with at least ``min_deals`` usable treated deals
and ``min_deals`` usable control comparisons gets a two-sided Wald p-value ``erfc(|z| / sqrt 2)``,
z = lift / se. Benjamini-Hochberg (1995) adjusts them across all assets of the view; "helps" or
"hurts" (by the sign of the lift) needs an adjusted p-value <= ``FDR`` (10%), otherwise "no clear
effect" with the 95% interval; too few deals: "not enough data".

**6. Power.** Next to "no clear effect": the minimum detectable effect at 80% power,
``(z_{1-alpha/2} + z_0.80) se``, with alpha the view's Benjamini-Hochberg threshold for one more
discovery, ``min(FDR, (R + 1) FDR / m)`` (R assets passed out of m tested).

**What it cannot do.** It removes confounding by stage, segment, rep and any picked attribute;
a reason to use an asset that also predicts winning and is none of these (a champion who asks
for the security FAQ) still biases it. The opportunity to be touched grows with the time spent
in a stage; if that time itself predicts the outcome, the comparison leans accordingly.

References: Greenland S, Robins JM (1985) Biometrics 41:55-68. Sato T (1989) Biometrics
45:1323-1324. Cochran WG (1954) Biometrics 10:101-129. Benjamini Y, Hochberg Y (1995) JRSS B
57:289-300. Dafni U (2011) Circ Cardiovasc Qual Outcomes 4:363-371 (landmark analysis).
Rothman KJ, Greenland S, Lash TL (2008) Modern Epidemiology, 3rd ed., ch. 15.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from analytics import stats
from analytics.stats import Heterogeneity, RiskDifference

FDR = 0.10
POWER = 0.80
HETEROGENEITY_ALPHA = 0.10

HELPS = "helps"
HURTS = "hurts"
NO_CLEAR_EFFECT = "no clear effect"
NOT_ENOUGH_DATA = "not enough data"


# --- Inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DealRecord:
    """One closed deal as the estimator needs it.

    Times (``closed_at``, history, touches) share one clock, e.g. epoch seconds; the caller
    turns a close *date* into the end of that day. ``history`` holds ``(entered_at, stage)``
    pairs in any order, ``stage`` being a journey-stage key from ``stages`` (a sort order) or
    anything else (None, a closed or unmapped CRM stage) for time outside the pipeline.
    ``stratum`` is any hashable, e.g. ``(owner_id,)`` or ``(owner_id, industry, size_band)``.
    """

    deal_id: int
    won: bool
    closed_at: float
    segment: str
    stratum: Hashable
    history: tuple[tuple[float, Hashable], ...]


@dataclass(frozen=True, slots=True)
class Stay:
    """A deal's first stay in one journey stage: ``entered <= t < left``."""

    stage: int
    entered: float
    left: float


def first_stays(history: Iterable[tuple[float, Hashable]], stages: Iterable[int]) -> list[Stay]:
    """The first stay in each journey stage the history reaches, in time order.

    Consecutive entries of one journey stage are one stay; a stay ends at the next entry of a
    different stage (journey or not) and the last one is open-ended (``math.inf``).
    """
    return [Stay(*stay) for stay in _stays(history, frozenset(stages))]


_BEFORE = object()  # the stage before the first history entry


def _stays(history, pipeline: frozenset) -> tuple[tuple[int, float, float], ...]:
    seen: set = set()
    stays: list[list] = []
    previous: Hashable = _BEFORE
    for when, stage in sorted(history, key=_time):
        if stage not in pipeline:
            stage = None
        if stage == previous:
            continue  # the same journey stage under another CRM name: the stay goes on
        if stays and stays[-1][2] is None:
            stays[-1][2] = when
        if stage is not None and stage not in seen:
            seen.add(stage)
            stays.append([stage, when, None])
        previous = stage
    return tuple(
        (stage, entered, math.inf if left is None else left) for stage, entered, left in stays
    )


def _time(entry: tuple[float, Hashable]) -> float:
    return entry[0]


TREATED, CONTROL, NEITHER = "treated", "control", "neither"


def landmark_status(stay: Stay, first_touch: float | None) -> str:
    """TREATED, CONTROL or NEITHER at ``stay.stage`` for a deal first touched at ``first_touch``
    (None: never touched before close). See the module docstring, section 1."""
    if first_touch is None or first_touch >= stay.left:
        return CONTROL
    return TREATED if first_touch >= stay.entered else NEITHER


def deal_statuses(
    deal: DealRecord, first_touch: float | None, stages: Sequence[int]
) -> dict[int, str]:
    """The deal's status at each journey stage it reached, for an asset it first touched at
    ``first_touch`` (None: never). A touch after the close counts as none; one stamped before
    the history starts counts at the first entry. The one-deal statement of the rule that
    ``asset_tables`` applies in bulk."""
    if first_touch is not None and first_touch > deal.closed_at:
        first_touch = None
    if first_touch is not None and deal.history:
        first_touch = max(first_touch, min(when for when, _ in deal.history))
    return {
        stay.stage: landmark_status(stay, first_touch) for stay in first_stays(deal.history, stages)
    }


# --- The population of a view -----------------------------------------------------------------


@dataclass
class Population:
    """Closed deals of one view prepared once for every asset.

    ``deals`` maps a deal id to ``(won, cell, start, closed_at, stays)`` where ``cell`` indexes
    ``strata`` (its (segment, stratum key)), ``start`` is the first history time and ``stays``
    are ``(stage, entered, left)`` tuples. ``reached[(stage, cell)]`` is ``[deals, won]`` over
    deals that reached the stage.
    """

    stages: tuple[int, ...]
    deals: dict[int, tuple[int, int, float, float, tuple[tuple[int, float, float], ...]]]
    strata: list[tuple[str, Hashable]]
    reached: dict[tuple[int, int], list[int]]
    without_history: int


def population_prepare(deals: Iterable[DealRecord], *, stages: Sequence[int]) -> Population:
    """Landmarks and per-stage stratum totals for ``deals`` (closed deals only).

    Raises ValueError naming the deal when a deal appears twice or lacks its close time.
    """
    pipeline = frozenset(stages)
    cells: dict[tuple[str, Hashable], int] = {}
    prepared: dict = {}
    reached: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    without = 0
    for deal in deals:
        if deal.deal_id in prepared:
            raise ValueError(f"deal {deal.deal_id}: listed twice")
        if deal.closed_at is None:
            raise ValueError(f"deal {deal.deal_id}: closed_at is missing (only closed deals)")
        stays = _stays(deal.history, pipeline)
        if not stays:
            without += 1
            prepared[deal.deal_id] = None
            continue
        key = (deal.segment, deal.stratum)
        cell = cells.setdefault(key, len(cells))
        won = 1 if deal.won else 0
        start = min(when for when, _ in deal.history)
        prepared[deal.deal_id] = (won, cell, start, deal.closed_at, stays)
        for stage, _, _ in stays:
            totals = reached[(stage, cell)]
            totals[0] += 1
            totals[1] += won
    return Population(
        stages=tuple(stages),
        deals={k: v for k, v in prepared.items() if v is not None},
        strata=list(cells),
        reached=dict(reached),
        without_history=without,
    )


def first_touches(touches: Iterable[tuple[int, int, float]]) -> dict[int, dict[int, float]]:
    """``{asset: {deal: first touch time}}`` from (asset, deal, time) rows in any order."""
    first: dict[int, dict[int, float]] = defaultdict(dict)
    for asset_id, deal_id, when in touches:
        per_deal = first[asset_id]
        known = per_deal.get(deal_id)
        if known is None or when < known:
            per_deal[deal_id] = when
    return dict(first)


# --- One asset ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageEffect:
    """One stage's comparison: ``treated`` deals first used the asset there (usable or not);
    ``mh`` pools all its strata with Mantel-Haenszel weights; ``att`` averages its segments by
    usable treated deals (the part of the headline that comes from this stage)."""

    stage: int
    treated: int
    treated_won: int
    mh: RiskDifference | None
    att: RiskDifference | None


@dataclass(frozen=True)
class AssetEffect:
    """An asset's effect on winning. ``effect`` is the headline (section 3), None when no
    stratum had both treated and control deals. ``touched`` counts deals in the view touched
    before close, ``treated`` those treated at some stage; ``effect.treated`` and
    ``effect.control`` the usable ones (controls are deal-stage comparisons: a deal can be a
    control at several stages). ``verdict``, ``q_value`` and ``mde`` are filled by
    ``verdicts_assign`` (they depend on every asset of the view)."""

    asset_id: int
    touched: int
    treated: int
    effect: RiskDifference | None
    stages: tuple[StageEffect, ...]
    segments: dict[str, RiskDifference]
    heterogeneity: Heterogeneity | None
    enough_data: bool = False
    p_value: float | None = None
    q_value: float | None = None
    verdict: str = NOT_ENOUGH_DATA
    mde: float | None = None


@dataclass(frozen=True)
class AssetTables:
    """One asset's 2x2 tables: ``tables[(stage, segment)]`` lists ``(cell, a, n1, c, n0)``
    for every stratum with a treated deal (``cell`` indexes ``Population.strata``); strata
    without a control deal are listed too (with n0 = 0) and dropped by the estimator.
    ``touched``: deals of the view touched before close; ``treated``: of those, treated at a
    stage."""

    tables: dict[tuple[int, str], list[tuple[int, int, int, int, int]]]
    touched: int
    treated: int


def asset_tables(population: Population, touched: Mapping[int, float]) -> AssetTables:
    """The stratified tables of one asset from its deals' first touch times ``{deal: time}``.

    Only touched deals are visited: a stage's controls in a stratum are the deals that reached
    it minus the touched deals that are not its controls (treated there, or touched before
    they got there), so the cost is the asset's touches, not the view's deals.
    """
    treated: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    not_control: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    in_view = treated_deals = 0
    deals = population.deals
    for deal_id, when in touched.items():
        deal = deals.get(deal_id)
        if deal is None:
            continue  # not a closed deal of this view, or no stage history
        won, cell, start, closed_at, stays = deal
        if when > closed_at:
            continue  # a touch after the close cannot have changed the outcome
        in_view += 1
        when = max(when, start)
        for stage, entered, left in stays:
            if when < left:
                row = not_control[(stage, cell)]
                row[0] += 1
                row[1] += won
                if when >= entered:
                    treated_deals += 1
                    row = treated[(stage, cell)]
                    row[0] += 1
                    row[1] += won
    tables: dict[tuple[int, str], list[tuple[int, int, int, int, int]]] = defaultdict(list)
    for (stage, cell), (n1, a) in treated.items():
        n, won = population.reached[(stage, cell)]
        removed, removed_won = not_control[(stage, cell)]
        segment = population.strata[cell][0]
        tables[(stage, segment)].append((cell, a, n1, won - removed_won, n - removed))
    return AssetTables(dict(tables), in_view, treated_deals)


def asset_effect(
    population: Population, asset_id: int, touched: Mapping[int, float], *, min_deals: int
) -> AssetEffect:
    """The effect of one asset from its deals' first touch times ``{deal id: time}``
    (sections 1-4 of the module docstring; verdicts come from ``verdicts_assign``)."""
    counted = asset_tables(population, touched)
    tables = {key: [row[1:] for row in rows] for key, rows in counted.tables.items()}
    cells = {key: stats.mantel_haenszel_rd(rows) for key, rows in tables.items()}
    cells = {key: rd for key, rd in cells.items() if rd is not None}
    headline = _att(list(cells.values()))
    segments = {
        segment: _att([rd for (_, g), rd in cells.items() if g == segment])
        for segment in sorted({g for _, g in cells})
    }
    usable = {g: rd for g, rd in segments.items() if rd is not None}
    heterogeneity = stats.cochran_q([(rd.estimate, rd.variance) for rd in usable.values()])
    stage_rows = []
    for stage in population.stages:
        rows = [row for (s, _), group in tables.items() if s == stage for row in group]
        if not rows:
            continue
        stage_rows.append(
            StageEffect(
                stage=stage,
                treated=sum(row[1] for row in rows),
                treated_won=sum(row[0] for row in rows),
                mh=stats.mantel_haenszel_rd(rows),
                att=_att([rd for (s, _), rd in cells.items() if s == stage]),
            )
        )
    enough = (
        headline is not None
        and headline.treated >= min_deals
        and headline.control >= min_deals
        and headline.variance > 0
    )
    return AssetEffect(
        asset_id=asset_id,
        touched=counted.touched,
        treated=counted.treated,
        effect=headline,
        stages=tuple(stage_rows),
        segments=usable,
        heterogeneity=heterogeneity,
        enough_data=enough,
        p_value=headline.p_value if enough else None,
    )


def _att(parts: list[RiskDifference]) -> RiskDifference | None:
    """Average of independent estimates weighted by their usable treated deals."""
    total = sum(part.treated for part in parts)
    if not total:
        return None
    return stats.weighted_sum((part.treated / total, part) for part in parts)


# --- Every asset of a view ------------------------------------------------------------------


def verdicts_assign(
    effects: Sequence[AssetEffect], *, fdr: float = FDR, power: float = POWER
) -> list[AssetEffect]:
    """Benjamini-Hochberg across ``effects`` (one view), then each asset's verdict and its
    minimum detectable effect (sections 5 and 6 of the module docstring)."""
    q_values = stats.benjamini_hochberg([effect.p_value for effect in effects])
    tested = sum(q is not None for q in q_values)
    passed = sum(q is not None and q <= fdr for q in q_values)
    alpha = min(fdr, (passed + 1) * fdr / tested) if tested else fdr
    result = []
    for effect, q in zip(effects, q_values, strict=True):
        if q is None:
            result.append(replace(effect, q_value=None, verdict=NOT_ENOUGH_DATA, mde=None))
            continue
        if q <= fdr:
            verdict = HELPS if effect.effect.estimate > 0 else HURTS
        else:
            verdict = NO_CLEAR_EFFECT
        mde = stats.minimum_detectable_effect(effect.effect.se, alpha=alpha, power=power)
        result.append(replace(effect, q_value=q, verdict=verdict, mde=mde))
    return result


@dataclass(frozen=True)
class Report:
    """Every asset's effect in one view, and the deals behind them."""

    assets: dict[int, AssetEffect]
    closed_deals: int
    without_history: int
    fdr: float


def effects_estimate(
    deals: Iterable[DealRecord],
    touches: Iterable[tuple[int, int, float]],
    *,
    stages: Sequence[int],
    min_deals: int,
    fdr: float = FDR,
    asset_ids: Iterable[int] = (),
) -> Report:
    """Effects, verdicts and minimum detectable effects for every touched asset (and every id
    in ``asset_ids``, untouched ones as "not enough data") over ``deals``, the closed deals
    of one view. ``stages`` are the journey-stage keys deals pass through before closing, in
    journey order; ``touches`` are (asset id, deal id, time) rows, touches of deals outside
    ``deals`` are ignored. Each asset is tested once: the family for Benjamini-Hochberg is
    every asset of the view with enough data."""
    population = population_prepare(deals, stages=stages)
    per_asset = first_touches(touches)
    for asset_id in asset_ids:
        per_asset.setdefault(asset_id, {})
    return population_effects(population, per_asset, min_deals=min_deals, fdr=fdr)


def population_effects(
    population: Population,
    per_asset: Mapping[int, Mapping[int, float]],
    *,
    min_deals: int,
    fdr: float = FDR,
) -> Report:
    """``effects_estimate`` over a prepared population and ``{asset: {deal: first touch}}``."""
    effects = [
        asset_effect(population, asset_id, per_asset[asset_id], min_deals=min_deals)
        for asset_id in sorted(per_asset)
    ]
    judged = verdicts_assign(effects, fdr=fdr)
    return Report(
        assets={effect.asset_id: effect for effect in judged},
        closed_deals=len(population.deals) + population.without_history,
        without_history=population.without_history,
        fdr=fdr,
    )
