"""The effectiveness rollups: per asset and window (``AssetStats``), the stage x pillar heat map
and the overview, all from the estimator in ``analytics.effectiveness`` over compact rows.

For each window (closed deals by close date) the closed deals form one *view*. Each asset gets:

- the **stratified effect** (the headline): the estimator's effect averaged over the deals
  that used the asset, with its 95% interval, usable deals, p-value, the Benjamini-Hochberg
  adjusted q-value across every asset of the view, the verdict ("helps"/"hurts" only when
  q <= 10%, else "no clear effect" or "not enough data") and the minimum detectable effect;
  the per-segment effects and Cochran's Q, and the per-stage parts;
- the **raw** comparison, kept to show what the stratified figure corrects: win rate of closed
  deals that touched the asset before close against the other closed deals of the view;
- the **stage-matched** comparison of earlier versions: win rate against closed deals that
  reached the lower-median stage of the asset's first touches without using it, with
  Newcombe's interval (``analytics.stats.newcombe_difference``); either lift only with
  ``ANALYTICS_MIN_DEALS`` deals on each side (``comparison_enough``), as the headline;
- **revenue**: won amounts of deals that used it (influenced) and each attribution model's
  credits, converted to the reporting currency at each deal's close-date rate, with what has no
  rate kept per currency (``analytics.currency``).

A heat-map cell (journey stage s x pillar p) is one pseudo-asset, every asset tagged with both,
whether it is live now or since archived, expired or unpublished, whose first use is a deal's
first touch of any of them; its figure is the estimator's part for stage s (deals that first
used the cell's content while in s), and its verdict comes from Benjamini-Hochberg across the
cells of the view. Retiring an asset thus leaves the deals that used it where they were (an
outside audit saw archiving one asset turn a cell from "no clear effect" to "helps"); only the
cell's ``assets``, what reps can use there now (``assets_live``), drops. The overview's
headline is the same estimator for "any content" (a deal's first touch of any asset).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import NamedTuple

from django.conf import settings

from analytics import effectiveness, stats
from analytics.effectiveness import AssetEffect, StageEffect
from analytics.models import AssetStats
from analytics.rollups import derived, population
from analytics.rollups.population import Inputs
from analytics.scope import window_starts
from cms.models import AssetPage, BuyerStage, Pillar
from cms.selectors import assets_live

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")
WITHOUT_HISTORY_SHOWN = 20


def _inputs(ctx) -> Inputs:
    return ctx.cached("effect_inputs", population.load)


def _windows(ctx) -> dict:
    return window_starts(ctx.today)


def view_deals(inputs: Inputs, since, segment: str = "", industry: str = "") -> list[int]:
    """Closed deals of a view: closed on or after ``since``, in the segment and industry."""
    segment, industry = segment.casefold(), industry.casefold()
    return [
        deal.deal_id
        for deal in inputs.deals.values()
        if (since is None or deal.close_date >= since)
        and (not segment or deal.segment.casefold() == segment)
        and (not industry or deal.industry.casefold() == industry)
    ]


def _prepared(ctx, key: str, inputs: Inputs, deal_ids: list[int]):
    return ctx.cached(
        f"population:{key}",
        lambda: effectiveness.population_prepare(inputs.records(deal_ids), stages=inputs.stages),
    )


# --- Assets -------------------------------------------------------------------------------


def asset_view(inputs: Inputs, deal_ids: list[int], prepared, asset_ids) -> tuple[dict, dict]:
    """Per-asset numbers of one view and the view's summary."""
    per_asset = inputs.first_touches()
    for asset_id in asset_ids:
        per_asset.setdefault(asset_id, {})
    report = effectiveness.population_effects(
        prepared, per_asset, min_deals=settings.ANALYTICS_MIN_DEALS
    )
    in_view = set(deal_ids)
    totals = _totals(inputs, in_view)
    others = comparison_numbers(inputs, in_view, totals)
    no_use = None  # the same for every asset no deal of the view used: computed once
    rows = {}
    for asset_id, effect in report.assets.items():
        data = effect_numbers(effect, inputs.stage_names, settings.ANALYTICS_MIN_DEALS)
        if asset_id in others:
            data.update(others[asset_id])
        else:
            no_use = no_use or _finish_other(_Other(inputs.rates.money), inputs, totals)
            data.update(copy.deepcopy(no_use))
        rows[asset_id] = data
    tested = sum(effect.q_value is not None for effect in report.assets.values())
    summary = {
        "closed_deals": report.closed_deals,
        "without_history": report.without_history,
        "tested": tested,
        "fdr": report.fdr,
        "min_deals": settings.ANALYTICS_MIN_DEALS,
        "currency": inputs.rates.currency,
        "strata": ["segment", "owner", *inputs.strata],
    }
    return rows, summary


def rd_numbers(rd: stats.RiskDifference | None, min_deals: int) -> dict:
    """A part's numbers (a segment, a stage): estimate and interval only with
    ``effectiveness.enough_data``."""
    if rd is None:
        return {"effect": None, "low": None, "high": None, "treated": 0, "control": 0}
    shown = effectiveness.enough_data(rd, min_deals)
    return {
        "effect": rd.estimate if shown else None,
        "low": rd.low if shown else None,
        "high": rd.high if shown else None,
        "treated": rd.treated,
        "control": rd.control,
    }


def effect_numbers(effect: AssetEffect, stage_names: dict[int, str], min_deals: int) -> dict:
    """The stratified part of an asset's row (see the module docstring); the headline's
    estimate and interval only when there is enough data for a verdict."""
    rd = effect.effect if effect.enough_data else None
    heterogeneity = effect.heterogeneity
    return {
        "verdict": effect.verdict,
        "effect": rd.estimate if rd else None,
        "effect_ci_low": rd.low if rd else None,
        "effect_ci_high": rd.high if rd else None,
        "p_value": effect.p_value,
        "q_value": effect.q_value,
        "mde": effect.mde,
        "usable_deals": effect.effect.treated if effect.effect else 0,
        "comparison_deals": effect.effect.control if effect.effect else 0,
        "treated_deals": effect.treated,
        "touched_deals": effect.touched,
        "enough_data": effect.enough_data,
        "heterogeneity_p": heterogeneity.p_value if heterogeneity else None,
        "varies_by_segment": bool(
            heterogeneity and heterogeneity.p_value < effectiveness.HETEROGENEITY_ALPHA
        ),
        "segments": [
            {"segment": segment, **rd_numbers(part, min_deals)}
            for segment, part in effect.segments.items()
        ],
        "stages": [
            {
                "stage": stage_names.get(part.stage, str(part.stage)),
                **rd_numbers(part.att, min_deals),
            }
            for part in effect.stages
        ],
    }


class _Other:
    """Accumulates an asset's raw, stage-matched and revenue numbers over its rows."""

    def __init__(self, money):
        self.used = self.won = 0
        self.first_stages: list[int] = []
        self.reached: list[tuple[int, bool]] = []
        self.influenced = money()
        self.credits = {model: money() for model in MODELS}


def _totals(inputs: Inputs, in_view: set[int]) -> dict:
    """Closed deals of the view: count, won, and (count, won) by reached stage order."""
    by_reached: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    won = 0
    for deal_id in in_view:
        deal = inputs.deals[deal_id]
        by_reached[deal.reached][0] += 1
        by_reached[deal.reached][1] += deal.won
        won += deal.won
    return {"n": len(in_view), "won": won, "by_reached": dict(by_reached)}


def comparison_numbers(
    inputs: Inputs, in_view: set[int], totals: dict | None = None
) -> dict[int, dict]:
    """The raw, stage-matched and revenue numbers of each asset some deal of the view used;
    ``totals`` (the view's closed deals, ``_totals``) when the caller has them already."""
    totals = totals or _totals(inputs, in_view)
    per: dict[int, _Other] = {}
    rates = inputs.rates
    for row in inputs.touches:
        if row.deal_id not in in_view:
            continue
        deal = inputs.deals[row.deal_id]
        other = per.get(row.asset_id)
        if other is None:
            other = per[row.asset_id] = _Other(rates.money)
        other.used += 1
        other.first_stages.append(row.first_stage)
        other.reached.append((deal.reached, deal.won))
        if deal.won:
            other.won += 1
            rate = deal.rate
            other.influenced.add(deal.amount, _times(deal.amount, rate), deal.currency)
            for model, credit in zip(MODELS, row.credits, strict=True):
                other.credits[model].add(credit, _times(credit, rate), deal.currency)
    return {asset_id: _finish_other(other, inputs, totals) for asset_id, other in per.items()}


def _times(value: float, rate: float | None) -> float | None:
    return None if rate is None else value * rate


def comparison_enough(used: int, others: int, min_deals: int) -> bool:
    """Whether the raw or stage-matched comparison of ``used`` closed deals that used an asset
    against ``others`` may be shown: at least ``min_deals`` (``ANALYTICS_MIN_DEALS``) on each
    side, the sample-size part of the headline's rule (``effectiveness.enough_data``). Below
    it the lift and its interval are None (the pages say "not enough data", the CSV leaves the
    cell blank) and only the counts and win rates are kept: an outside audit saw an asset
    used in 3 deals, all won, show "Raw lift +79 pts" and "Stage-matched +44 pts (-13 to +46)"
    beside "not enough data", and top the table sorted by either column."""
    return used >= min_deals and others >= min_deals


def _finish_other(other: _Other, inputs: Inputs, totals: dict) -> dict:
    used, won = other.used, other.won
    rest_n, rest_w = totals["n"] - used, totals["won"] - won
    raw = None
    if comparison_enough(used, rest_n, settings.ANALYTICS_MIN_DEALS):
        raw = stats.newcombe_difference(won, used, rest_w, rest_n)
    numbers = {
        "deals_used": used,
        "won": won,
        "lost": used - won,
        "win_rate": stats.win_rate(won, used - won),
        "raw_baseline_win_rate": stats.win_rate(rest_w, rest_n - rest_w),
        "raw_lift": raw.lift if raw else None,
        **_stage_matched(other, inputs, totals),
        "currency": inputs.rates.currency,
        "influenced_revenue": round(other.influenced.amount, 2),
        "revenue_without_rate": {
            code: {"influenced": round(value, 2)}
            for code, value in other.influenced.unconverted.items()
        },
    }
    for model, money in other.credits.items():
        numbers[f"attributed_{model}"] = round(money.amount, 2)
        for code, value in money.unconverted.items():
            numbers["revenue_without_rate"].setdefault(code, {})[model] = round(value, 2)
    return numbers


def _stage_matched(other: _Other, inputs: Inputs, totals: dict) -> dict:
    """Earlier versions' comparison: closed deals that reached the lower-median first-touch
    stage without using the asset (a deal reached a stage if its history passed through it
    or beyond, or it was won), Newcombe's 95% interval for the difference; the lift and
    interval only with enough deals on each side (``comparison_enough``)."""
    stage = stats.lower_median(other.first_stages)
    if stage is None:
        return {
            "first_touch_stage": "",
            "stage_matched_baseline_win_rate": None,
            "stage_matched_baseline_deals": 0,
            "stage_matched_lift": None,
            "stage_matched_lift_ci_low": None,
            "stage_matched_lift_ci_high": None,
        }
    all_n = sum(n for order, (n, _) in totals["by_reached"].items() if order >= stage)
    all_w = sum(w for order, (_, w) in totals["by_reached"].items() if order >= stage)
    users = [won for reached, won in other.reached if reached >= stage]
    base_n, base_w = all_n - len(users), all_w - sum(users)
    interval = None
    if comparison_enough(other.used, base_n, settings.ANALYTICS_MIN_DEALS):
        interval = stats.newcombe_difference(other.won, other.used, base_w, base_n)
    return {
        "first_touch_stage": inputs.stage_names.get(stage, ""),
        "stage_matched_baseline_win_rate": stats.win_rate(base_w, base_n - base_w),
        "stage_matched_baseline_deals": base_n,
        "stage_matched_lift": interval.lift if interval else None,
        "stage_matched_lift_ci_low": interval.low if interval else None,
        "stage_matched_lift_ci_high": interval.high if interval else None,
    }


def _live_asset_ids(ctx) -> list[int]:
    return ctx.cached("live", lambda: list(assets_live().values_list("pk", flat=True)))


def asset_effects_compute(ctx):
    inputs = _inputs(ctx)
    wanted = {}
    summaries = {}
    for window, since in _windows(ctx).items():
        deal_ids = view_deals(inputs, since)
        prepared = _prepared(ctx, window, inputs, deal_ids)
        rows, summaries[window] = asset_view(inputs, deal_ids, prepared, _live_asset_ids(ctx))
        for asset_id, data in rows.items():
            wanted[(asset_id, window)] = data
    ctx.cache["asset_view_summaries"] = summaries
    writes = derived.table_writes(AssetStats, wanted, verdict=lambda data: data["verdict"])
    summary_writes = derived.snapshot_writes("asset_view", summaries)
    writes.steps += summary_writes.steps
    writes.changed = writes.changed or summary_writes.changed
    return writes


# --- Heat map -----------------------------------------------------------------------------


class Tagged(NamedTuple):
    """An asset's journey stages and pillars (ids), and whether reps can use it now."""

    stages: set[int]
    pillars: set[int]
    live: bool


def _asset_tags(live_ids: Iterable[int] | None = None) -> dict[int, Tagged]:
    """Every asset's tags, live or not: a deal that used an asset since archived, expired or
    unpublished still used the cell's content. ``live`` (``assets_live``: published, not
    archived, not expired) is what a cell's asset count counts; ``live_ids`` when the caller
    has them already."""
    if live_ids is None:
        live_ids = assets_live().values_list("pk", flat=True)
    live = set(live_ids)
    tags: dict[int, Tagged] = {}

    def tagged(asset_id: int) -> Tagged:
        if asset_id not in tags:
            tags[asset_id] = Tagged(set(), set(), asset_id in live)
        return tags[asset_id]

    for asset_id, stage_id in AssetPage.objects.values_list("pk", "stages"):
        if stage_id is not None:
            tagged(asset_id).stages.add(stage_id)
    for asset_id, pillar_id in AssetPage.objects.values_list("pk", "pillars"):
        if pillar_id is not None:
            tagged(asset_id).pillars.add(pillar_id)
    return tags


def merged_first_touches(per_asset: dict[int, dict[int, float]], asset_ids) -> dict[int, float]:
    """A pseudo-asset's first touches: each deal's earliest first touch of any of them."""
    merged: dict[int, float] = {}
    for asset_id in asset_ids:
        for deal_id, when in per_asset.get(asset_id, {}).items():
            if deal_id not in merged or when < merged[deal_id]:
                merged[deal_id] = when
    return merged


def heatmap_view(inputs: Inputs, prepared, stages, pillars, tags: dict[int, Tagged]) -> dict:
    """Each cell's estimate from every asset tagged with it (``_asset_tags``), its ``assets``
    the live ones among them."""
    per_asset = inputs.first_touches()
    minimum = settings.ANALYTICS_MIN_DEALS
    cells, effects = [], []
    for stage in stages:
        for pillar in pillars:
            assets = [
                a for a, tag in tags.items() if stage.pk in tag.stages and pillar.pk in tag.pillars
            ]
            touched = merged_first_touches(per_asset, assets)
            pipeline = stage.sort_order in inputs.stages
            if pipeline:
                effect = effectiveness.asset_effect(
                    prepared, len(cells), touched, min_deals=minimum
                )
            else:  # deals are never in it before closing: nothing to estimate
                effect = _untested(len(cells), prepared, touched)
            part = next((p for p in effect.stages if p.stage == stage.sort_order), None)
            cell_effect = _cell_effect(effect, part, pipeline, minimum)
            effects.append(cell_effect)
            cells.append(
                {
                    "stage": stage.pk,
                    "pillar": pillar.pk,
                    "assets": sum(tags[a].live for a in assets),
                    "deals_used": effect.touched,
                    "pipeline": stage.sort_order in inputs.stages,
                }
            )
    for cell, judged in zip(cells, effectiveness.verdicts_assign(effects), strict=True):
        rd = judged.effect
        shown = rd if judged.enough_data else None
        cell.update(
            treated=judged.treated,
            effect=shown.estimate if shown else None,
            effect_ci_low=shown.low if shown else None,
            effect_ci_high=shown.high if shown else None,
            usable_deals=rd.treated if rd else 0,
            comparison_deals=rd.control if rd else 0,
            enough_data=judged.enough_data,
            q_value=judged.q_value,
            mde=judged.mde,
            verdict=judged.verdict,
        )
    return {
        "stages": [{"id": s.pk, "name": s.name} for s in stages],
        "pillars": [{"id": p.pk, "name": p.name} for p in pillars],
        "cells": cells,
        "tested": sum(e.p_value is not None for e in effects),
    }


def _untested(index: int, prepared, touched: dict) -> AssetEffect:
    closed = sum(1 for deal_id in touched if deal_id in prepared.deals)
    return AssetEffect(index, closed, 0, None, (), {}, None)


def _cell_effect(
    effect: AssetEffect, part: StageEffect | None, pipeline: bool, minimum: int
) -> AssetEffect:
    """The cell's effect: its stage's part of the pseudo-asset's estimate."""
    rd = part.att if part is not None and pipeline else None
    enough = effectiveness.enough_data(rd, minimum)
    return replace(
        effect,
        treated=part.treated if part else 0,
        effect=rd,
        enough_data=enough,
        p_value=rd.p_value if enough else None,
    )


def heatmap_compute(ctx):
    inputs = _inputs(ctx)
    stages = list(BuyerStage.objects.order_by("sort_order", "name"))
    pillars = list(Pillar.objects.order_by("sort_order", "name"))
    tags = _asset_tags(_live_asset_ids(ctx))
    per_window = {}
    for window, since in _windows(ctx).items():
        deal_ids = view_deals(inputs, since)
        prepared = _prepared(ctx, window, inputs, deal_ids)
        per_window[window] = heatmap_view(inputs, prepared, stages, pillars, tags)
    return derived.snapshot_writes("heatmap", per_window)


# --- Overview -----------------------------------------------------------------------------


def overview_view(inputs: Inputs, deal_ids: list[int], prepared) -> dict:
    """Closed deals of the view, the stratified effect of using any content (headline), the
    raw with/without comparison, revenue and the deals left out for lack of history."""
    per_asset = inputs.first_touches()
    touched = merged_first_touches(per_asset, per_asset)
    effect = effectiveness.asset_effect(
        prepared, 0, touched, min_deals=settings.ANALYTICS_MIN_DEALS
    )
    (judged,) = effectiveness.verdicts_assign([effect])
    in_view = set(deal_ids)
    with_content = {row.deal_id for row in inputs.touches if row.deal_id in in_view}
    deals = [inputs.deals[d] for d in deal_ids]
    won_with = sum(d.won for d in deals if d.deal_id in with_content)
    won_without = sum(d.won for d in deals if d.deal_id not in with_content)
    influenced, won_revenue = inputs.rates.money(), inputs.rates.money()
    missing = set()
    for deal in deals:
        if deal.won:
            converted = _times(deal.amount, deal.rate)
            won_revenue.add(deal.amount, converted, deal.currency)
            if deal.deal_id in with_content:
                influenced.add(deal.amount, converted, deal.currency)
            if converted is None:
                missing.add(deal.currency)
    without = sorted(
        (d for d in deals if not population.has_pipeline_history(d)),
        key=lambda d: (d.close_date, d.external_id),
        reverse=True,
    )
    n_with, n_without = len(with_content), len(deals) - len(with_content)
    return {
        "closed_deals": len(deals),
        "content": {**effect_numbers(judged, inputs.stage_names, settings.ANALYTICS_MIN_DEALS)},
        "deals_with_content": n_with,
        "deals_without_content": n_without,
        "raw_win_rate_with_content": stats.win_rate(won_with, n_with - won_with),
        "raw_win_rate_without_content": stats.win_rate(won_without, n_without - won_without),
        "influenced_revenue": influenced.as_dict(),
        "won_revenue": won_revenue.as_dict(),
        "currencies_without_rate": sorted(missing),
        "without_history": len(without),
        "without_history_examples": [d.external_id for d in without[:WITHOUT_HISTORY_SHOWN]],
        "strata": ["segment", "owner", *inputs.strata],
        "min_deals": settings.ANALYTICS_MIN_DEALS,
    }


def overview_compute(ctx):
    inputs = _inputs(ctx)
    per_window = {}
    for window, since in _windows(ctx).items():
        deal_ids = view_deals(inputs, since)
        prepared = _prepared(ctx, window, inputs, deal_ids)
        per_window[window] = overview_view(inputs, deal_ids, prepared)
    return derived.snapshot_writes("overview", per_window)
