"""Demo deals and usage with a known truth, so the dashboard can be checked against it.

A year of deals walks the pipeline stage by stage (Discover -> Evaluate -> Decide -> closed).
At each stage a deal moves on with a base probability. The truth built in:

- a few *effective* assets, each used at one stage in about 30% of the deals there, add 15
  points to every later move-on probability of the deals that used them;
- one *late-stage placebo*, used only in deals already in the last pipeline stage (Decide),
  changes nothing: its raw win rate looks great because only late deals use it;
- every other asset is *neutral*: used at its stage now and then, with no effect.

Everything comes from one seeded random generator, so a run is reproducible; deals are
named DEMO-00001...; a second run finds them and changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from analytics.models import Deal, DealStageChange, EventKind, UsageEvent
from analytics.rollups import update_analytics
from cms.models import AssetPage, BuyerStage
from cms.selectors import assets_live

PREFIX = "DEMO-"
BASE_MOVE_ON = 0.6
BOOST = 0.15
EFFECTIVE_USE = 0.3
PLACEBO_USE = 0.5
NEUTRAL_USE = 0.08
AFTER_WIN = -1  # neutral stage index of assets used only after a win
SEGMENTS = ("New Business", "Existing Business")
INDUSTRIES = ("Retail", "Healthcare", "Financial Services", "Manufacturing", "Software")
TOUCH_KINDS = (EventKind.USED_IN_DEAL, EventKind.SHARED, EventKind.PRESENTED)


@dataclass
class Truth:
    """Which assets were generated to matter: asset id -> pipeline stage index."""

    effective: dict[int, int] = field(default_factory=dict)
    placebo: int | None = None
    neutral: dict[int, int] = field(default_factory=dict)


def _pipeline() -> list[BuyerStage]:
    """Journey stages a deal passes through before closing (those with an open CRM stage)."""
    closing = {"closed won", "closed lost"}
    return [
        stage
        for stage in BuyerStage.objects.order_by("sort_order", "name")
        if any(name.casefold() not in closing for name in stage.crm_stages())
    ]


def assign_truth(assets: list[AssetPage], pipeline: list[BuyerStage]) -> Truth:
    """Placebo: the first asset tagged with the last pipeline stage (else the last asset).
    Effective: up to three others, preferring ones tagged with an earlier stage. Neutral: the
    rest, used at their earliest tagged pipeline stage; assets tagged only with stages after the
    pipeline (such as Onboard) are used after a win, as onboarding material is."""
    last = len(pipeline) - 1
    index = {stage.pk: i for i, stage in enumerate(pipeline)}
    tagged = {a.pk: sorted(index[s] for s in a.stage_ids if s in index) for a in assets}
    truth = Truth()
    late = [a for a in assets if last in tagged[a.pk]] or assets[-1:]
    truth.placebo = late[0].pk
    rest = [a for a in assets if a.pk != truth.placebo]
    early = [a for a in rest if tagged[a.pk] and tagged[a.pk][0] < last]
    chosen = (early + [a for a in rest if a not in early])[: min(3, len(rest))]
    for number, asset in enumerate(chosen):
        stages = [s for s in tagged[asset.pk] if s < last]
        truth.effective[asset.pk] = stages[0] if stages else number % max(1, last)
    for asset in rest:
        if asset.pk not in truth.effective:
            truth.neutral[asset.pk] = tagged[asset.pk][0] if tagged[asset.pk] else AFTER_WIN
    return truth


def seed_analytics(*, stdout, deals: int = 2000, seed: int = 7, today=None) -> Truth | None:
    """Create the demo deals, stage histories and usage, then rebuild the rollups.

    Uses live assets only; with none, or with fewer than two pipeline stages, creates nothing
    and says so. Returns the truth it generated (None when it created nothing).
    """
    assets = list(assets_live().order_by("pk"))
    pipeline = _pipeline()
    if not assets:
        stdout.write("No live assets: no demo analytics created (publish assets first).")
        return None
    if len(pipeline) < 2:
        stdout.write("Fewer than two journey stages with CRM stages: no demo analytics created.")
        return None
    for asset in assets:
        asset.stage_ids = set(asset.stages.values_list("pk", flat=True))
    truth = assign_truth(assets, pipeline)
    existing = Deal.objects.filter(external_id__startswith=PREFIX).count()
    if existing:
        stdout.write(f"Demo deals already present ({existing}): nothing changed.")
        return truth
    generator = _Generator(random.Random(seed), pipeline, truth, today or timezone.now())
    with transaction.atomic():
        for start in range(0, deals, 500):
            generator.make(range(start, min(deals, start + 500)))
            stdout.write(f"  demo deals: {min(deals, start + 500)}/{deals}")
    update_analytics()
    _describe(stdout, truth, pipeline)
    return truth


def _describe(stdout, truth: Truth, pipeline) -> None:
    titles = dict(AssetPage.objects.values_list("pk", "title"))
    effective = ", ".join(f"{titles[a]} ({pipeline[s].name})" for a, s in truth.effective.items())
    stdout.write(f"Known truth: effective assets: {effective}.")
    stdout.write(
        f"Known truth: late-stage placebo (used only in {pipeline[-1].name}, no effect): "
        f"{titles[truth.placebo]}. All other assets are neutral."
    )


class _Generator:
    def __init__(self, rng: random.Random, pipeline, truth: Truth, now: datetime):
        self.rng, self.pipeline, self.truth, self.now = rng, pipeline, truth, now
        self.reps = list(get_user_model().objects.filter(groups__name="Rep").order_by("username"))
        self.crm = [stage.crm_stages()[0] for stage in pipeline]
        stages = list(BuyerStage.objects.all())
        self.top_order = max(s.sort_order for s in stages)
        won_stage = [s for s in stages if "closed won" in map(str.casefold, s.crm_stages())]
        self.won_stage = won_stage[0] if won_stage else None
        self.by_stage: dict[int, list[int]] = {}
        for asset_id, stage in truth.neutral.items():
            self.by_stage.setdefault(stage, []).append(asset_id)

    def make(self, numbers: range) -> None:
        plans = [self._plan(number) for number in numbers]
        Deal.objects.bulk_create([plan["deal"] for plan in plans])
        history, events = [], []
        for plan in plans:
            deal = plan["deal"]
            for change in plan["history"]:
                change.deal = deal
                history.append(change)
            for event in plan["events"]:
                event.deal = deal
                events.append(event)
        DealStageChange.objects.bulk_create(history, ignore_conflicts=True)
        UsageEvent.objects.bulk_create(events, ignore_conflicts=True, batch_size=1000)

    def _plan(self, number: int) -> dict:
        rng = self.rng
        rep = self.reps[number % len(self.reps)] if self.reps else None
        moment = self.now - timedelta(days=365) + timedelta(days=rng.uniform(0, 330))
        created = moment
        history, touches, boosts = [], [], 0
        outcome, reached = None, 0
        for index, stage in enumerate(self.pipeline):
            if moment > self.now:
                break
            history.append(
                DealStageChange(stage=self.crm[index], journey_stage=stage, entered_at=moment)
            )
            reached = stage.sort_order
            dwell = timedelta(days=rng.uniform(5, 25))
            boosts += self._touch_stage(index, moment, dwell, touches)
            moment += dwell
            move_on = min(0.95, BASE_MOVE_ON + BOOST * boosts)
            if rng.random() >= move_on:
                outcome = Deal.Outcome.LOST
                break
            if index == len(self.pipeline) - 1:
                outcome = Deal.Outcome.WON
        closed = outcome is not None and moment <= self.now
        if closed:
            won = outcome == Deal.Outcome.WON
            history.append(
                DealStageChange(
                    stage="Closed Won" if won else "Closed Lost",
                    journey_stage=self.won_stage if won else None,
                    entered_at=moment,
                )
            )
        touches = [t for t in touches if t[1] <= min(moment, self.now)]
        if closed and outcome == Deal.Outcome.WON:
            touches += self._touch_after_win(moment)
        deal = self._deal(
            number, rep, created, history, outcome if closed else None, moment, reached
        )
        return {"deal": deal, "history": history, "events": self._events(number, rep, touches)}

    def _touch_stage(self, index: int, start: datetime, dwell: timedelta, touches: list) -> int:
        """Touches during one stage; returns how many effective assets were used."""
        rng, boosts = self.rng, 0
        stage = self.pipeline[index]

        def at():
            return start + dwell * rng.uniform(0.05, 0.95)

        for asset_id, asset_stage in self.truth.effective.items():
            if asset_stage == index and rng.random() < EFFECTIVE_USE:
                touches.append((asset_id, at(), stage))
                boosts += 1
        if index == len(self.pipeline) - 1 and rng.random() < PLACEBO_USE:
            touches.append((self.truth.placebo, at(), stage))
        for asset_id in self.by_stage.get(index, []):
            if rng.random() < NEUTRAL_USE:
                touches.append((asset_id, at(), stage))
        return boosts

    def _touch_after_win(self, close: datetime) -> list:
        """Onboarding material: used in the weeks after a win, never before the close."""
        touches = []
        for asset_id in self.by_stage.get(AFTER_WIN, []):
            moment = close + timedelta(days=self.rng.uniform(1, 30))
            if self.rng.random() < NEUTRAL_USE and moment <= self.now:
                touches.append((asset_id, moment, self.won_stage))
        return touches

    def _deal(self, number, rep, created, history, outcome, close, reached) -> Deal:
        rng = self.rng
        current = history[-1]
        won = outcome == Deal.Outcome.WON
        return Deal(
            external_id=f"{PREFIX}{number + 1:05d}",
            name=f"Demo opportunity {number + 1}",
            account=f"Account {rng.randint(1, 400)}",
            amount=Decimal(rng.randrange(50, 2000) * 100),
            currency="USD",
            stage=current.stage,
            journey_stage=current.journey_stage or history[-2].journey_stage,
            outcome=outcome or Deal.Outcome.OPEN,
            close_date=close.date() if outcome else (close + timedelta(days=30)).date(),
            created_date=created.date(),
            owner=rep,
            owner_name=rep.username if rep else "",
            industry=rng.choice(INDUSTRIES),
            segment=rng.choice(SEGMENTS),
            reached_stage_order=self.top_order if won else reached,
        )

    def _events(self, number: int, rep, touches: list) -> list[UsageEvent]:
        rng, events = self.rng, []
        for index, (asset_id, when, stage) in enumerate(touches):
            kind = rng.choice(TOUCH_KINDS)
            events.append(self._event(f"{number}-{index}", kind, asset_id, when, stage, rep))
            if rng.random() < 0.7:
                before = when - timedelta(hours=rng.uniform(1, 48))
                events.append(
                    self._event(
                        f"{number}-{index}-v", EventKind.VIEWED, asset_id, before, stage, rep
                    )
                )
            if kind == EventKind.SHARED and rng.random() < 0.6:
                later = min(self.now, when + timedelta(hours=rng.uniform(1, 72)))
                events.append(
                    self._event(
                        f"{number}-{index}-o", EventKind.BUYER_OPENED, asset_id, later, stage, None
                    )
                )
        return events

    def _event(self, key, kind, asset_id, when, stage, user) -> UsageEvent:
        return UsageEvent(
            idempotency_key=f"demo-{key}",
            kind=kind,
            asset_id=asset_id,
            journey_stage=stage,
            crm_stage=self.crm[self.pipeline.index(stage)]
            if stage in self.pipeline
            else "Closed Won",
            user=user,
            source="demo",
            occurred_at=when,
        )
