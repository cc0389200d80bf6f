"""Every rollup, declared once: what it counts, its period, what it depends on, how it fills.

The fill driver (``analytics.rollups.fill``), the README's table and the tests all read this
list. Dependencies name either a *source* or an earlier rollup:

- ``events``: usage events, by id (append-only; each event is read once per rollup);
- ``deals``: deals and their stage history, through the ``DealChanged`` queue that every deal
  write fills in its own transaction;
- ``assets``: assets and their stage and pillar tags, which of them are live;
- ``searches``: search events and clicks;
- ``rates``: the admin's currency rates; ``settings``: the lead's stratification choices;
- ``day``: today's date (the 90-day and 12-month windows move every day).

Kinds: an ``events`` rollup is filled for the events (and deals) that are new since its fill
state, in steps that each commit with the new state, so no event is ever counted twice; it can
also be rebuilt from everything (``rebuild``), which must give the same rows. A ``derived``
rollup is small and recomputed whole from the rollups and sources it depends on, only when one
of them moved; with ``update`` it is instead brought up to date from the changes its
dependencies recorded while no source it depends on moved (``asset_usage`` adds the
``UsageChange`` rows of the usage rollups, so a refresh does not read all of them again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics.rollups import effects, gaps, touches, usage

SOURCES = ("events", "deals", "assets", "searches", "rates", "settings", "day")
EVENTS = "events"
DERIVED = "derived"


@dataclass(frozen=True)
class Rollup:
    name: str
    table: str  # the model it fills (app_label.Model) or the snapshot key
    counts: str
    period: str
    depends_on: tuple[str, ...]
    kind: str
    step: Callable | None = None  # events rollups: (ctx, after_id, upto_id) -> Writes
    deals_step: Callable | None = None  # (ctx, deal_ids, upto_id) -> Writes
    rebuild: Callable | None = None  # events rollups: (ctx, upto_id) -> Writes
    compute: Callable | None = None  # derived rollups: (ctx) -> Writes
    update: Callable | None = None  # derived, from recorded changes: (ctx) -> Writes | None


REGISTRY: tuple[Rollup, ...] = (
    Rollup(
        name="deal_asset_touches",
        table="analytics.DealAssetTouch",
        counts="per deal and asset: touches before the deal's close, the first one's time and "
        "journey stage (from the stage history), attribution credits of won deals",
        period="deal",
        depends_on=("events", "deals"),
        kind=EVENTS,
        step=touches.step,
        deals_step=touches.deals_step,
        rebuild=touches.rebuild,
    ),
    Rollup(
        name="usage_daily",
        table="analytics.UsageDaily",
        counts="events per asset, day and kind",
        period="day",
        depends_on=("events",),
        kind=EVENTS,
        step=usage.daily_step,
        rebuild=usage.daily_rebuild,
    ),
    Rollup(
        name="usage_reach",
        table="analytics.AssetReach",
        counts="per asset, the last day each rep and each deal had an event of it",
        period="day",
        depends_on=("events",),
        kind=EVENTS,
        step=usage.reach_step,
        rebuild=usage.reach_rebuild,
    ),
    Rollup(
        name="asset_usage",
        table="analytics.AssetUsage",
        counts="per asset and window: events per kind, distinct reps and deals",
        period="window",
        depends_on=("usage_daily", "usage_reach", "day"),
        kind=DERIVED,
        compute=usage.asset_usage_compute,
        update=usage.asset_usage_update,
    ),
    Rollup(
        name="asset_effects",
        table="analytics.AssetStats",
        counts="per asset and window: the stratified effect on winning and its verdict, the "
        "raw and stage-matched comparisons, influenced and attributed revenue",
        period="window",
        depends_on=("deal_asset_touches", "rates", "settings", "day"),
        kind=DERIVED,
        compute=effects.asset_effects_compute,
    ),
    Rollup(
        name="heatmap",
        table="snapshot:heatmap",
        counts="per journey stage x pillar and window: the stratified effect at that stage of "
        "every asset tagged with the cell (archived, expired or unpublished ones too), with "
        "verdicts across cells; and how many of them are live",
        period="window",
        depends_on=("deal_asset_touches", "assets", "settings", "day"),
        kind=DERIVED,
        compute=effects.heatmap_compute,
    ),
    Rollup(
        name="overview",
        table="snapshot:overview",
        counts="per window: the stratified effect of using any content, closed deals (and "
        "those without stage history), influenced and won revenue",
        period="window",
        depends_on=("deal_asset_touches", "rates", "settings", "day"),
        kind=DERIVED,
        compute=effects.overview_compute,
    ),
    Rollup(
        name="search_gaps",
        table="snapshot:search_gaps",
        counts="the last 90 days' searches that found nothing, or that nobody clicked",
        period="90 days",
        # assets: what each search that found nothing finds today changes when one is published
        depends_on=("searches", "assets", "day"),
        kind=DERIVED,
        compute=gaps.search_gaps_compute,
    ),
)

BY_NAME = {rollup.name: rollup for rollup in REGISTRY}


def _check() -> None:
    """Dependencies name a source or an earlier rollup (so one pass in order fills all)."""
    seen: set[str] = set()
    for rollup in REGISTRY:
        for dependency in rollup.depends_on:
            if dependency not in SOURCES and dependency not in seen:
                raise ValueError(f"rollup {rollup.name}: unknown dependency {dependency!r}")
        seen.add(rollup.name)


_check()
