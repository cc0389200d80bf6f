"""The effectiveness estimator (analytics.effectiveness) over a dashboard-sized view, in memory.

100,000 closed deals (two segments, 200 reps, three journey stages, a tenth slipping back a
stage) and about 1,000,000 touch events over 100 assets with skewed popularity, arriving at a
steady rate while deals are open; no asset has an effect. Times each step the rollup
will run: preparing the deals' landmarks, reducing events to first touches, and the per-asset
estimates with Benjamini-Hochberg across all assets. Writes bench/results/effectiveness.json
(``--small``: a tenth of the size, printed only). Plain Python; no database.
"""

from __future__ import annotations

import json
import platform
import random
import time
from itertools import accumulate
from pathlib import Path

from analytics import effectiveness
from analytics.effectiveness import DealRecord

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "effectiveness.json"
STAGES = (1, 2, 3)


def _deals(rng: random.Random, count: int) -> list[DealRecord]:
    deals = []
    for deal_id in range(1, count + 1):
        segment = "Enterprise" if rng.random() < 0.35 else "SMB"
        t = rng.uniform(0, 365)  # days
        history = []
        for stage in STAGES:
            history.append((t, stage))
            t += rng.uniform(5, 30)
            if stage == 3 and rng.random() < 0.1:
                history.append((t, 2))
                t += rng.uniform(3, 10)
                history.append((t, 3))
                t += rng.uniform(3, 10)
            if stage < 3 and rng.random() > 0.6:
                break
        history.append((t, None))
        won = history[-2][1] == 3 and rng.random() < 0.45
        deals.append(DealRecord(deal_id, won, t, segment, (rng.randrange(200),), tuple(history)))
    return deals


def _touches(rng: random.Random, deals: list[DealRecord], count: int, assets: int):
    """Touches arriving at one steady rate over every deal's open life (a Poisson process, so a
    deal open twice as long gets twice the touches), each of an asset drawn by popularity."""
    weights = list(accumulate(1 / (rank + 1) for rank in range(assets)))  # a few used a lot
    asset_ids = range(1, assets + 1)
    lives = [(d.deal_id, d.history[0][0], d.closed_at) for d in deals]
    rate = count / sum(end - start for _, start, end in lives)
    touches = []
    for deal_id, start, end in lives:
        when = start + rng.expovariate(rate)
        while when < end:
            touches.append((rng.choices(asset_ids, cum_weights=weights)[0], deal_id, when))
            when += rng.expovariate(rate)
    return touches


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def main(argv: list[str]) -> None:
    small = "--small" in argv
    n_deals, n_events, n_assets = (10_000, 100_000, 100) if small else (100_000, 1_000_000, 100)
    rng = random.Random(9)
    deals = _deals(rng, n_deals)
    touches = _touches(rng, deals, n_events, n_assets)
    population, prepare_s = _timed(effectiveness.population_prepare, deals, stages=STAGES)
    per_asset, firsts_s = _timed(effectiveness.first_touches, touches)
    report, effects_s = _timed(
        effectiveness.population_effects, population, per_asset, min_deals=20
    )
    pairs = sum(len(v) for v in per_asset.values())
    verdicts: dict[str, int] = {}
    for effect in report.assets.values():
        verdicts[effect.verdict] = verdicts.get(effect.verdict, 0) + 1
    result = {
        "deals": n_deals,
        "touch_events": len(touches),
        "assets": n_assets,
        "deal_asset_pairs": pairs,
        "prepare_deals_s": round(prepare_s, 3),
        "first_touches_s": round(firsts_s, 3),
        "estimate_all_assets_s": round(effects_s, 3),
        "total_s": round(prepare_s + firsts_s + effects_s, 3),
        "verdicts": verdicts,
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2))
    if not small:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
