"""Synthetic deals with a known truth, for the effectiveness estimator's simulation tests.

Each dataset is drawn from one seeded generator. Deals belong to a segment (Enterprise wins more
than SMB) and a rep (a quarter of the reps are "best reps" who move deals on and win more
often). A deal walks Discover (1) -> Evaluate (2) -> Decide (3): at stages 1 and 2 it moves on
with a probability set by segment and rep, otherwise it is lost there; at Decide it is won with
a probability set by segment, rep and the assets it used (each effective asset adds its boost
to that final probability). Deals about to be lost at Discover or Evaluate are disqualified
quickly (2-12 days) while the others stay 8-35 days, so a deal that has spent long in a stage
is likelier to advance. During its first stay in each stage, each asset not used yet reaches the
deal at a steady rate that may depend on segment, rep and stage (the confounding): longer stays
collect more touches, the trap that makes a whole-stay comparison flatter every early asset.
Histories carry the mess of real CRMs: two CRM stages for one journey stage, a tenth of deals
slipping from Decide back to Evaluate and returning, and a few deals with no history at all;
some won deals get an onboarding touch after the close.

An effective asset only changes the final win probability and is used at one stage, so a deal
treated at day u of stage s gains ``boost x R`` with R its chance of reaching Decide from there;
``asset_truth`` turns that into the value the estimator's interval should cover.

``python -m tests.analytics.effectiveness_sim [runs] [deals]`` prints the rates quoted in the
report (false verdicts, coverage, power, and today's stage-matched estimator on the same data).
"""

from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass, field
from statistics import median_low

from analytics import effectiveness, stats
from analytics.effectiveness import DealRecord

STAGES = (1, 2, 3)
SEGMENTS = ("Enterprise", "SMB")
REPS = 24
BEST_REP_SHARE = 0.25
MIN_DEALS = 20
# Move-on probabilities at Discover and Evaluate, and the base win probability at Decide.
MOVE_ON = {"Enterprise": (0.65, 0.70), "SMB": (0.50, 0.55)}
WIN = {"Enterprise": 0.55, "SMB": 0.30}
SKILL = 0.08  # a best rep's bonus on every probability
# Stay lengths in days: deals about to be lost at Discover or Evaluate are disqualified
# quickly; the others (and every stay at Decide) take longer.
ADVANCING_STAY = (8.0, 35.0)
QUICK_LOSS = (2.0, 12.0)
TYPICAL_STAY = 20.0  # an asset's use probability is its chance over a stay this long


@dataclass(frozen=True)
class AssetSpec:
    """``use[(segment, best_rep, stage)]`` is the chance a deal uses the asset at its first stay
    in that stage (default 0); ``boost[segment]`` is added to its final win probability."""

    name: str
    asset_id: int
    kind: str  # "null", "effective", "harmful", "segment_only", "neutral"
    use: dict = field(default_factory=dict)
    boost: dict = field(default_factory=dict)

    def p_use(self, segment: str, best: bool, stage: int) -> float:
        return self.use.get((segment, best, stage), 0.0)


def _uniform_use(stage: int, p: float) -> dict:
    return {(g, b, stage): p for g in SEGMENTS for b in (False, True)}


def library() -> list[AssetSpec]:
    """The assets of every simulated view: confounded nulls, effective and harmful assets, one
    that helps only in the segment that rarely uses it, and ten plain neutral assets."""
    both = (False, True)
    assets = [
        AssetSpec(
            "segment-confounded null",
            1,
            "null",
            use={
                **{("Enterprise", b, 2): 0.45 for b in both},
                **{("SMB", b, 2): 0.06 for b in both},
            },
        ),
        AssetSpec(
            "best-rep-confounded null",
            2,
            "null",
            use={
                **{(g, True, 2): 0.50 for g in SEGMENTS},
                **{(g, False, 2): 0.05 for g in SEGMENTS},
            },
        ),
        AssetSpec(
            "null used at two stages",
            3,
            "null",
            use={**_uniform_use(1, 0.10), **_uniform_use(3, 0.50)},
        ),
        AssetSpec(
            "effective at Decide",
            4,
            "effective",
            use=_uniform_use(3, 0.30),
            boost={g: 0.15 for g in SEGMENTS},
        ),
        AssetSpec(
            "effective at Evaluate",
            5,
            "effective",
            use=_uniform_use(2, 0.30),
            boost={g: 0.15 for g in SEGMENTS},
        ),
        AssetSpec(
            "harmful at Decide",
            6,
            "harmful",
            use=_uniform_use(3, 0.30),
            boost={g: -0.12 for g in SEGMENTS},
        ),
        AssetSpec(
            "helps only in Enterprise, used mostly in SMB",
            7,
            "segment_only",
            use={
                **{("Enterprise", b, 2): 0.08 for b in both},
                **{("SMB", b, 2): 0.45 for b in both},
            },
            boost={"Enterprise": 0.20, "SMB": 0.0},
        ),
    ]
    for number in range(10):
        stage = STAGES[number % 3]
        assets.append(
            AssetSpec(f"neutral {number}", 100 + number, "neutral", use=_uniform_use(stage, 0.08))
        )
    return assets


@dataclass
class Dataset:
    deals: list[DealRecord]
    touches: list[tuple[int, int, float]]
    best: dict[int, bool]  # rep -> best rep
    touch_stage: dict[tuple[int, int], int]  # (asset, deal) -> stage of the touch (today's rollup)


def _survival(day: float, low: float, high: float) -> float:
    """P(a stay drawn uniformly from [low, high] days lasts beyond ``day``)."""
    return min(1.0, max(0.0, (high - day) / (high - low)))


def _reach_decide(segment: str, best: bool, stage: int, day: float = 0.0) -> float:
    """R: the probability of reaching Decide for a deal still in ``stage`` at ``day`` of its
    stay. Deals about to be lost leave Discover and Evaluate sooner, so the longer a deal has
    stayed, the likelier it is to move on."""
    bonus = SKILL if best else 0.0
    reach = 1.0
    for s in range(stage, 3):
        move_on = MOVE_ON[segment][s - 1] + bonus
        if s == stage:
            advancing = move_on * _survival(day, *ADVANCING_STAY)
            move_on = advancing / (advancing + (1 - move_on) * _survival(day, *QUICK_LOSS))
        reach *= move_on
    return reach


def generate(seed: int, n_deals: int = 3000, assets: list[AssetSpec] | None = None) -> Dataset:
    rng = random.Random(seed)
    assets = library() if assets is None else assets
    menu = {
        (g, b, s): [
            (a.asset_id, -math.log(1 - a.p_use(g, b, s)) / TYPICAL_STAY, a.boost.get(g, 0.0))
            for a in assets
            if a.p_use(g, b, s)
        ]
        for g in SEGMENTS
        for b in (False, True)
        for s in STAGES
    }
    best = {rep: rep < REPS * BEST_REP_SHARE for rep in range(REPS)}
    deals, touches, touch_stage = [], [], {}
    for deal_id in range(1, n_deals + 1):
        segment = "Enterprise" if rng.random() < 0.35 else "SMB"
        rep = rng.randrange(REPS)
        bonus = SKILL if best[rep] else 0.0
        t = rng.uniform(0, 365)
        history: list[tuple[float, int | None]] = []
        used: set[int] = set()
        boost = 0.0
        won = False
        for stage in STAGES:
            moves_on = stage == 3 or rng.random() < MOVE_ON[segment][stage - 1] + bonus
            stay = rng.uniform(*(ADVANCING_STAY if moves_on else QUICK_LOSS))
            history.append((t, stage))
            if stage == 2 and rng.random() < 0.3:  # a second CRM stage inside Evaluate
                history.append((t + stay / 2, stage))
            for asset_id, rate, asset_boost in menu[(segment, best[rep], stage)]:
                wait = rng.expovariate(rate)  # touches come at a steady rate while in the stage
                if asset_id in used or wait >= stay:
                    continue
                used.add(asset_id)
                boost += asset_boost
                touches.append((asset_id, deal_id, t + wait))
                touch_stage[(asset_id, deal_id)] = stage
            t += stay
            if not moves_on:
                break
            if stage == 3:
                if rng.random() < 0.1:  # slips back to Evaluate, then returns to Decide
                    history.append((t, 2))
                    t += rng.uniform(3, 10)
                    history.append((t, 3))
                    t += rng.uniform(3, 10)
                won = rng.random() < WIN[segment] + bonus + boost
        history.append((t, None))  # Closed Won / Closed Lost: outside the pipeline
        if won and rng.random() < 0.2:  # onboarding material after the close
            touches.append((100, deal_id, t + 5))
        if rng.random() < 0.02:
            history = []  # an opportunity imported without its history
        deals.append(
            DealRecord(
                deal_id=deal_id,
                won=won,
                closed_at=t,
                segment=segment,
                stratum=(rep,),
                history=tuple(history),
            )
        )
    return Dataset(deals, touches, best, touch_stage)


def asset_truth(spec: AssetSpec, tables: effectiveness.AssetTables, population, best) -> float:
    """The value the headline estimates. A deal treated at day u of stage s in stratum k gains
    ``boost x R_sk(u)`` over deals that never use the asset, R being its chance of reaching
    Decide from there; its comparison deals are judged as of day u, so the share f of them
    that use the asset later in the stay carry the boost too and its true contrast is
    ``boost x R_sk(u) x (1 - f)`` (the asset is used at one stage only).
    Those contrasts are averaged with the estimator's own weights: n0 / (n0 + 1) within a
    (stage, segment) cell, usable treated deals across cells."""
    later: dict[tuple[int, int], list[float]] = {}
    for (stage, _), rows in tables.tables.items():
        for cell, day, _, _, _ in rows:
            later.setdefault((stage, cell), []).append(day)
    total = 0
    acc = 0.0
    for (stage, segment), rows in tables.tables.items():
        usable = [(cell, day, n0) for cell, day, _, _, n0 in rows if n0]
        if not usable:
            continue
        weighted = weights = 0.0
        for cell, day, n0 in usable:
            rep = population.strata[cell][1][0]
            used_later = sum(1 for other in later[(stage, cell)] if other > day)
            reach = _reach_decide(segment, best[rep], stage, day)
            tau = spec.boost.get(segment, 0.0) * reach
            weight = n0 / (n0 + 1)
            weighted += weight * tau * (1 - used_later / n0)
            weights += weight
        acc += len(usable) * weighted / weights
        total += len(usable)
    return acc / total if total else 0.0


# --- Today's estimator (analytics.selectors.asset_effectiveness), on the same rows -----------


def stage_matched_today(dataset: Dataset, *, min_deals: int = MIN_DEALS) -> dict[int, str]:
    """Verdicts of the current dashboard's definition on ``dataset``: users' win rate against
    the non-users that reached the lower-median first-touch stage, Newcombe's interval, a verdict
    whenever the interval excludes zero. Mirrors ``selectors.asset_effectiveness`` (the
    comparison test checks the two agree on a dataset loaded into the database)."""
    numbers = stage_matched_numbers(dataset, min_deals=min_deals)
    verdicts = {}
    for asset_id, row in numbers.items():
        if not row["enough_data"] or row["lift"] is None:
            verdicts[asset_id] = effectiveness.NOT_ENOUGH_DATA
        elif row["lift_ci_low"] > 0:
            verdicts[asset_id] = effectiveness.HELPS
        elif row["lift_ci_high"] < 0:
            verdicts[asset_id] = effectiveness.HURTS
        else:
            verdicts[asset_id] = effectiveness.NO_CLEAR_EFFECT
    return verdicts


def reached_order(deal: DealRecord) -> int:
    """Today's ``Deal.reached_stage_order``: the top stage for a won deal, else the highest
    journey stage in its history, else the bottom stage."""
    if deal.won:
        return max(STAGES)
    return max((s for _, s in deal.history if s in STAGES), default=min(STAGES))


def stage_matched_numbers(dataset: Dataset, *, min_deals: int = MIN_DEALS) -> dict[int, dict]:
    deals = {d.deal_id: d for d in dataset.deals}
    reached = {d.deal_id: reached_order(d) for d in dataset.deals}
    first: dict[int, dict[int, tuple[float, int]]] = {}
    for asset_id, deal_id, when in dataset.touches:
        deal = deals[deal_id]
        if when > deal.closed_at:
            continue
        stage = dataset.touch_stage.get((asset_id, deal_id), min(STAGES))
        known = first.setdefault(asset_id, {}).get(deal_id)
        if known is None or when < known[0]:
            first[asset_id][deal_id] = (when, stage)
    at_least: dict[int, list[int]] = {}  # stage -> [deals, won] that reached at least it
    for stage in STAGES:
        chosen = [d.won for d in dataset.deals if reached[d.deal_id] >= stage]
        at_least[stage] = [len(chosen), sum(chosen)]
    result = {}
    for asset_id, users in first.items():
        used = len(users)
        won = sum(deals[d].won for d in users)
        stage = median_low(sorted(s for _, s in users.values()))
        users_reached = [deals[d].won for d in users if reached[d] >= stage]
        base_n = at_least[stage][0] - len(users_reached)
        base_won = at_least[stage][1] - sum(users_reached)
        lift = stats.newcombe_difference(won, used, base_won, base_n)
        result[asset_id] = {
            "deals_used": used,
            "won": won,
            "baseline_deals": base_n,
            "baseline_won": base_won,
            "stage": stage,
            "lift": lift.lift if lift else None,
            "lift_ci_low": lift.low if lift else None,
            "lift_ci_high": lift.high if lift else None,
            "enough_data": used >= min_deals and base_n >= min_deals,
        }
    return result


# --- The whole-stay rule of issue 9's first draft, on the same rows -----------------------------


def whole_stay_verdicts(dataset: Dataset, *, min_deals: int = MIN_DEALS) -> dict[int, str]:
    """Verdicts under the issue's first-draft rule, otherwise estimated exactly like the new
    estimator: treated at s if first touched during the first stay in s, control if untouched
    when that stay ended, Mantel-Haenszel over reps within stage x segment, ATT across,
    Benjamini-Hochberg. Deals that stay longer collect more touches, so when deals about to be
    lost leave early, the treated are the survivors."""
    stays = {}
    for record in dataset.deals:
        found = effectiveness.first_stays(record.history, STAGES, record.closed_at)
        if found:
            stays[record.deal_id] = (record, found, min(t for t, _ in record.history))
    effects = []
    for asset_id, firsts in sorted(effectiveness.first_touches(dataset.touches).items()):
        tables: dict = {}
        for deal_id, (record, found, start) in stays.items():
            touch = firsts.get(deal_id)
            touch = None if touch is None or touch > record.closed_at else max(touch, start)
            for stay in found:
                row = tables.setdefault((stay.stage, record.segment), {}).setdefault(
                    record.stratum, [0, 0, 0, 0]
                )
                if touch is None or touch >= stay.left:
                    row[2] += record.won
                    row[3] += 1
                elif touch >= stay.entered:
                    row[0] += record.won
                    row[1] += 1
        cells = [stats.mantel_haenszel_rd(map(tuple, rows.values())) for rows in tables.values()]
        cells = [rd for rd in cells if rd is not None]
        total = sum(rd.treated for rd in cells)
        headline = stats.weighted_sum((rd.treated / total, rd) for rd in cells) if total else None
        enough = bool(
            headline and min(headline.treated, headline.control) >= min_deals and headline.variance
        )
        effects.append(
            effectiveness.AssetEffect(
                asset_id, 0, 0, headline, (), {}, None, enough, headline.p_value if enough else None
            )
        )
    return {e.asset_id: e.verdict for e in effectiveness.verdicts_assign(effects)}


# --- Many datasets -----------------------------------------------------------------------------


@dataclass
class Tally:
    runs: int = 0
    verdicts: dict = field(default_factory=dict)  # asset_id -> {verdict: count}
    today: dict = field(default_factory=dict)
    whole_stay: dict = field(default_factory=dict)
    whole_stay_runs: int = 0
    covered: dict = field(default_factory=dict)  # asset_id -> [covered, judged]
    segment_covered: list = field(default_factory=lambda: [0, 0])
    heterogeneous: int = 0

    def rate(self, asset_id: int, *verdicts: str, today: bool = False) -> float:
        counts = (self.today if today else self.verdicts).get(asset_id, {})
        return sum(counts.get(v, 0) for v in verdicts) / self.runs

    def whole_stay_rate(self, asset_id: int, *verdicts: str) -> float:
        counts = self.whole_stay.get(asset_id, {})
        return sum(counts.get(v, 0) for v in verdicts) / self.whole_stay_runs

    def coverage(self, asset_ids) -> float:
        hit = sum(self.covered.get(a, [0, 0])[0] for a in asset_ids)
        seen = sum(self.covered.get(a, [0, 0])[1] for a in asset_ids)
        return hit / seen if seen else float("nan")


def simulate(
    runs: int,
    *,
    n_deals: int = 3000,
    seed: int = 20261201,
    today: bool = True,
    whole_stay_runs: int = 0,
) -> Tally:
    assets = library()
    tally = Tally()
    for run in range(runs):
        data = generate(seed + run, n_deals, assets)
        population = effectiveness.population_prepare(data.deals, stages=STAGES)
        firsts = effectiveness.first_touches(data.touches)
        report = effectiveness.population_effects(population, firsts, min_deals=MIN_DEALS)
        for spec in assets:
            effect = report.assets[spec.asset_id]
            counts = tally.verdicts.setdefault(spec.asset_id, {})
            counts[effect.verdict] = counts.get(effect.verdict, 0) + 1
            if effect.enough_data:
                tables = effectiveness.asset_tables(population, firsts.get(spec.asset_id, {}))
                truth = asset_truth(spec, tables, population, data.best)
                seen = tally.covered.setdefault(spec.asset_id, [0, 0])
                seen[0] += effect.effect.low <= truth <= effect.effect.high
                seen[1] += 1
            if spec.kind == "segment_only":
                enterprise = effect.segments.get("Enterprise")
                if enterprise is not None:
                    truth = _segment_truth(spec, "Enterprise", population, firsts, data.best)
                    tally.segment_covered[0] += enterprise.low <= truth <= enterprise.high
                    tally.segment_covered[1] += 1
                h = effect.heterogeneity
                tally.heterogeneous += bool(h and h.p_value < effectiveness.HETEROGENEITY_ALPHA)
        if today:
            for asset_id, verdict in stage_matched_today(data).items():
                counts = tally.today.setdefault(asset_id, {})
                counts[verdict] = counts.get(verdict, 0) + 1
        if run < whole_stay_runs:
            for asset_id, verdict in whole_stay_verdicts(data).items():
                counts = tally.whole_stay.setdefault(asset_id, {})
                counts[verdict] = counts.get(verdict, 0) + 1
            tally.whole_stay_runs += 1
        tally.runs += 1
    return tally


def _segment_truth(spec, segment, population, firsts, best) -> float:
    tables = effectiveness.asset_tables(population, firsts.get(spec.asset_id, {}))
    only = effectiveness.AssetTables(
        {k: v for k, v in tables.tables.items() if k[1] == segment}, {}, {}, 0, 0
    )
    return asset_truth(spec, only, population, best)


def main(argv: list[str]) -> None:  # pragma: no cover - a report printer
    runs = int(argv[1]) if len(argv) > 1 else 200
    n_deals = int(argv[2]) if len(argv) > 2 else 3000
    tally = simulate(runs, n_deals=n_deals, whole_stay_runs=runs)
    print(f"{runs} datasets of {n_deals} deals, FDR {effectiveness.FDR:.0%}, min {MIN_DEALS}")
    header = (
        "asset",
        "new: helps",
        "hurts",
        "cover",
        "today: helps",
        "hurts",
        "stay: helps",
        "hurts",
    )
    print("{:46} {:>10} {:>6} {:>6}  {:>12} {:>6}  {:>11} {:>6}".format(*header))
    for spec in library():
        a = spec.asset_id
        seen = tally.covered.get(a, [0, 0])
        cover = f"{seen[0] / seen[1]:.3f}" if seen[1] else "-"
        new = (tally.rate(a, "helps"), tally.rate(a, "hurts"))
        old = (tally.rate(a, "helps", today=True), tally.rate(a, "hurts", today=True))
        stay = (tally.whole_stay_rate(a, "helps"), tally.whole_stay_rate(a, "hurts"))
        print(
            f"{spec.name[:46]:46} {new[0]:10.3f} {new[1]:6.3f} {cover:>6}  {old[0]:12.3f}"
            f" {old[1]:6.3f}  {stay[0]:11.3f} {stay[1]:6.3f}"
        )
    ids = [s.asset_id for s in library()]
    print(f"pooled 95% coverage: {tally.coverage(ids):.3f}")
    hit, seen = tally.segment_covered
    print(f"Enterprise lift of the segment-only asset: coverage {hit / seen:.3f} over {seen}")
    detected = tally.heterogeneous / tally.runs
    print(f"Cochran's Q p < {effectiveness.HETEROGENEITY_ALPHA} for it: {detected:.3f}")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)
