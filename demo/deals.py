"""Demo deals and usage with a known truth, so the dashboard can be checked against it.

A year of deals walks the pipeline Discover -> Evaluate -> Decide -> closed, the way the
estimator's simulation (tests/analytics/effectiveness_sim.py) draws them. Each deal has a
segment (Enterprise wins more than SMB) and an owner among twelve reps, three of them "best
reps" who move deals on and win more often. At Discover and Evaluate a deal moves on with a
probability set by its segment and rep, else it is lost there; deals about to be lost are
disqualified quickly (2-12 days) while the others stay 8-35 days. At Decide it is won with a
probability set by segment, rep and the effective assets it used.

While a deal is in a stage, each asset not used yet reaches it at a steady rate (an
exponential wait, so longer stays collect more touches, and nothing about a touch's timing
depends on the deal's fate beyond how long it stays). The truth built in:

- ``effective``: assets that add ``BOOST`` (18 points) to the win probability at Decide of the
  deals that used them; two used at Evaluate, one at Decide, each by about 30% of deals there;
- ``segment_null``: no effect, used at Evaluate by 45% of Enterprise deals and 6% of SMB deals
  (the raw comparison calls it "helps": Enterprise wins more);
- ``rep_null``: no effect, used at Evaluate by the best reps' deals (50%) and hardly anyone
  else's (5%);
- ``two_stage_null``: no effect, used at Discover (10%) and at Decide (50%): a single
  stage-matched baseline misjudges it;
- ``placebo``: no effect, used only at Decide, in half the deals that get there: its raw win
  rate looks great because only late deals use it;
- every other asset is ``neutral``: used now and then (8%) at its earliest tagged stage;
  assets tagged only with stages after the pipeline (Onboard) are used after a win;
- two of the twelve reps (``WITHOUT_LIBRARY``, neither a best rep) never use the library: their
  deals' touches are drawn like any deal's and then never happen, so they get no boost either.
  Every other deal's story is the same as without them, and a lead's "influenced revenue" is
  not all of the won revenue, as it is nowhere in real life. Not using the library is the rep's
  habit, as it mostly is in real life, and the rep is one of the estimator's strata. (Until
  2026-12-05 a fifth of deals, drawn one by one, went without: their missing boosts made every
  library deal look better than its comparison deals, a confounder none of the strata holds,
  and the late-stage placebo read "helps" at +8 points, as an outside audit found.)

Also: a tenth of deals are in euros (with a dated EUR rate) and a few in pounds (no rate: shown
apart, never added); 2% of closed deals come without stage history (flagged, left out).
Everything comes from one seeded generator, so a run is reproducible; deals are named
DEMO-00001...; a second run finds them and changes nothing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from analytics.models import CurrencyRate, Deal, DealStageChange, EventKind, UsageEvent
from analytics.refresh import analytics_refresh
from analytics.rollups.population import pipeline_stages
from cms.models import AssetPage, BuyerStage
from cms.selectors import assets_live
from search.engines import SearchUnavailable
from search.services import rep_search

PREFIX = "DEMO-"
DEALS = 3000
SEGMENTS = ("Enterprise", "SMB")
ENTERPRISE_SHARE = 0.35
REP_NAMES = (
    "Ana Ruiz", "Ben Okafor", "Chloe Martin", "Dev Patel", "Emma Wilson", "Farid Haddad",
    "Grace Liu", "Hugo Silva", "Ines Costa", "Jonas Berg", "Kara Singh",
)  # fmt: skip
BEST_REPS = 3  # the first three owners (the demo rep user among them)
MOVE_ON = {"Enterprise": (0.65, 0.70), "SMB": (0.50, 0.55)}
WIN = {"Enterprise": 0.55, "SMB": 0.30}
SKILL = 0.08
BOOST = 0.18
ADVANCING_STAY = (8.0, 35.0)
QUICK_LOSS = (2.0, 12.0)
TYPICAL_STAY = 20.0  # a use probability is the chance over a stay this long
EFFECTIVE_USE = 0.30
NEUTRAL_USE = 0.08
PLACEBO_USE = 0.50
WITHOUT_HISTORY = 0.02
WITHOUT_LIBRARY = 2  # the last two reps of REP_NAMES (none of the best reps)
CURRENCIES = (("EUR", 0.10), ("GBP", 0.03))  # the rest in USD
EUR_RATE = Decimal("1.08")
# The CRM's industry column: each names a demo industry term, by name ("Manufacturing") or
# by one of its CRM names ("Retail": demo.catalogue.CRM_NAMES).
INDUSTRIES = ("Retail", "Healthcare", "Financial Services", "Manufacturing", "Software")
TOUCH_KINDS = (EventKind.USED_IN_DEAL, EventKind.SHARED, EventKind.PRESENTED)
AFTER_WIN = -1  # neutral stage index of assets used only after a win


@dataclass
class Truth:
    """Which assets were generated to matter, each with its pipeline stage index (0 Discover,
    1 Evaluate, 2 Decide)."""

    effective: dict[int, int] = field(default_factory=dict)
    segment_null: int | None = None
    rep_null: int | None = None
    two_stage_null: int | None = None
    placebo: int | None = None
    neutral: dict[int, int] = field(default_factory=dict)

    @property
    def confounded(self) -> list[int]:
        """The no-effect assets a naive comparison misjudges."""
        named = (self.segment_null, self.rep_null, self.two_stage_null, self.placebo)
        return [a for a in named if a is not None]


def _pipeline() -> list[BuyerStage]:
    return pipeline_stages()


#: Roles in the order they are handed out, each with the stage index whose tag it prefers.
ROLES = (
    ("effective", 1),
    ("effective", 2),
    ("segment_null", 1),
    ("rep_null", 1),
    ("two_stage_null", 0),
    ("placebo", 2),
    ("effective", 1),
)


def assign_truth(assets: list[AssetPage], pipeline: list[BuyerStage]) -> Truth:
    """Hand out the roles of ``ROLES`` to assets tagged with the preferred stage (else to any
    asset left); the rest are neutral, used at their earliest tagged pipeline stage (assets
    tagged only with stages after the pipeline are used after a win). The last stage index
    is the pipeline's last stage."""
    last = len(pipeline) - 1
    index = {stage.pk: i for i, stage in enumerate(pipeline)}
    tagged = {a.pk: sorted(index[s] for s in a.stage_ids if s in index) for a in assets}
    truth = Truth()
    free = [a.pk for a in assets]
    for role, stage in ROLES:
        stage = min(stage, last)
        if len(free) <= 1:
            break
        choice = next((a for a in free if stage in tagged[a]), None)
        choice = choice if choice is not None else next(a for a in free if tagged[a])
        free.remove(choice)
        if role == "effective":
            truth.effective[choice] = stage
        else:
            setattr(truth, role, choice)
    for asset_id in free:
        truth.neutral[asset_id] = tagged[asset_id][0] if tagged[asset_id] else AFTER_WIN
    return truth


def seed_analytics(*, stdout, deals: int = DEALS, seed: int = 7, today=None) -> Truth | None:
    """Create the demo deals, stage histories, usage and a EUR rate, then fill the rollups
    (``analytics.refresh.analytics_refresh``).

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
    now = today or timezone.now()
    generator = _Generator(random.Random(seed), pipeline, truth, now)
    with transaction.atomic():
        CurrencyRate.objects.get_or_create(
            currency="EUR",
            valid_from=(now - timedelta(days=800)).date(),
            defaults={"rate": EUR_RATE},
        )
        for start in range(0, deals, 500):
            generator.make(range(start, min(deals, start + 500)))
            stdout.write(f"  demo deals: {min(deals, start + 500)}/{deals}")
    _seed_searches()
    analytics_refresh(full=True)
    _describe(stdout, truth, pipeline)
    return truth


#: What the demo rep searched for that found nothing (text, times), so that *Search gaps*
#: shows both kinds of gap: content nobody made, and content the rep's teams may not open (the
#: EMEA field kit, the APAC launch deck), which "Found today" tells apart.
DEMO_SEARCHES = (
    ("HIPAA compliance", 4),
    ("GBP pricing", 3),
    ("nonprofit pricing", 2),
    ("Singapore region", 2),
    ("FedRAMP", 1),
)


def _seed_searches() -> None:
    """The demo rep's searches of ``DEMO_SEARCHES``, run and recorded as the search page
    does (spooled; the refresh that follows stores them). Search being down only leaves them
    out: the rest of the demo does not need them."""
    rep = get_user_model().objects.filter(username="rep").first()
    if rep is None:
        return
    try:
        for text, times in DEMO_SEARCHES:
            for _ in range(times):
                rep_search(user=rep, params={"q": text}, source="web", record=True)
    except SearchUnavailable:
        return


def _describe(stdout, truth: Truth, pipeline) -> None:
    titles = dict(AssetPage.objects.values_list("pk", "title"))

    def name(asset_id):
        return titles.get(asset_id, "?")

    effective = ", ".join(f"{name(a)} ({pipeline[s].name})" for a, s in truth.effective.items())
    stdout.write(f"Known truth: effective assets (+{BOOST * 100:.0f} pts at Decide): {effective}.")
    stdout.write(
        "Known truth: no effect but confounded: "
        f"{name(truth.segment_null)} (used mostly in Enterprise), "
        f"{name(truth.rep_null)} (used mostly by the best reps), "
        f"{name(truth.two_stage_null)} (used at two stages), "
        f"{name(truth.placebo)} (late-stage placebo, used only in {pipeline[-1].name}). "
        "All other assets are neutral."
    )


def _rate(p: float) -> float:
    """The steady rate at which a chance ``p`` over a typical stay is reached."""
    return -math.log(1 - p) / TYPICAL_STAY


class _Generator:
    def __init__(self, rng: random.Random, pipeline, truth: Truth, now: datetime):
        self.rng, self.pipeline, self.truth, self.now = rng, pipeline, truth, now
        rep = get_user_model().objects.filter(groups__name="Rep").order_by("username").first()
        self.owners = [(rep, rep.get_full_name() or rep.username)] if rep else []
        self.owners += [(None, name) for name in REP_NAMES[: 12 - len(self.owners)]]
        self.crm = [stage.crm_stages()[0] for stage in pipeline]
        stages = list(BuyerStage.objects.all())
        self.top_order = max(s.sort_order for s in stages)
        won_stage = [s for s in stages if "closed won" in map(str.casefold, s.crm_stages())]
        self.won_stage = won_stage[0] if won_stage else None
        self.menu = self._menu()

    def _menu(self) -> dict:
        """(segment, best rep, stage index) -> [(asset, rate of use, boost)]."""
        truth, last = self.truth, len(self.pipeline) - 1
        menu: dict = {}
        for segment in SEGMENTS:
            for best in (False, True):
                for stage in range(len(self.pipeline)):
                    uses = []
                    for asset_id, at in truth.effective.items():
                        if at == stage:
                            uses.append((asset_id, _rate(EFFECTIVE_USE), BOOST))
                    if stage == min(1, last):
                        share = 0.45 if segment == "Enterprise" else 0.06
                        uses.append((truth.segment_null, _rate(share), 0.0))
                        uses.append((truth.rep_null, _rate(0.50 if best else 0.05), 0.0))
                    if stage == 0:
                        uses.append((truth.two_stage_null, _rate(0.10), 0.0))
                    if stage == last:
                        uses.append((truth.two_stage_null, _rate(0.50), 0.0))
                        uses.append((truth.placebo, _rate(PLACEBO_USE), 0.0))
                    for asset_id, at in truth.neutral.items():
                        if at == stage:
                            uses.append((asset_id, _rate(NEUTRAL_USE), 0.0))
                    menu[(segment, best, stage)] = [u for u in uses if u[0] is not None]
        return menu

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
        segment = "Enterprise" if rng.random() < ENTERPRISE_SHARE else "SMB"
        owner = rng.randrange(len(self.owners))
        without_library = owner >= len(self.owners) - WITHOUT_LIBRARY
        best = owner < BEST_REPS
        bonus = SKILL if best else 0.0
        moment = self.now - timedelta(days=rng.uniform(40, 400))
        created = moment
        history, touches, boost = [], [], 0.0
        outcome, reached, used = None, 0, set()
        last = len(self.pipeline) - 1
        for index, stage in enumerate(self.pipeline):
            if moment > self.now:
                break
            moves_on = index == last or rng.random() < MOVE_ON[segment][min(index, 1)] + bonus
            stay = timedelta(days=rng.uniform(*(ADVANCING_STAY if moves_on else QUICK_LOSS)))
            history.append(
                DealStageChange(stage=self.crm[index], journey_stage=stage, entered_at=moment)
            )
            reached = stage.sort_order
            for asset_id, rate, asset_boost in self.menu[(segment, best, index)]:
                wait = timedelta(days=rng.expovariate(rate))
                if asset_id in used or wait >= stay:
                    continue
                used.add(asset_id)
                boost += 0.0 if without_library else asset_boost
                touches.append((asset_id, moment + wait, stage))
            moment += stay
            if not moves_on:
                outcome = Deal.Outcome.LOST
                break
            if index == last:
                won = rng.random() < WIN[segment] + bonus + boost
                outcome = Deal.Outcome.WON if won else Deal.Outcome.LOST
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
            number, owner, segment, created, history, outcome if closed else None, moment, reached
        )
        if closed and rng.random() < WITHOUT_HISTORY:
            history = history[-1:]  # imported from an opportunity report without its history
        events = self._events(number, self.owners[owner][0], touches)
        return {"deal": deal, "history": history, "events": [] if without_library else events}

    def _touch_after_win(self, close: datetime) -> list:
        """Onboarding material: used in the weeks after a win, never before the close."""
        touches = []
        for asset_id, stage in self.truth.neutral.items():
            if stage != AFTER_WIN:
                continue
            moment = close + timedelta(days=self.rng.uniform(1, 30))
            if self.rng.random() < NEUTRAL_USE and moment <= self.now:
                touches.append((asset_id, moment, self.won_stage))
        return touches

    def _currency(self) -> str:
        draw, cumulative = self.rng.random(), 0.0
        for code, share in CURRENCIES:
            cumulative += share
            if draw < cumulative:
                return code
        return "USD"

    def _deal(self, number, owner, segment, created, history, outcome, close, reached) -> Deal:
        rng = self.rng
        current = history[-1]
        won = outcome == Deal.Outcome.WON
        user, owner_name = self.owners[owner]
        return Deal(
            external_id=f"{PREFIX}{number + 1:05d}",
            name=f"Demo opportunity {number + 1}",
            account=f"Account {rng.randint(1, 400)}",
            amount=Decimal(rng.randrange(50, 2000) * 100),
            currency=self._currency(),
            stage=current.stage,
            journey_stage=current.journey_stage or history[-2].journey_stage,
            outcome=outcome or Deal.Outcome.OPEN,
            close_date=close.date() if outcome else (close + timedelta(days=30)).date(),
            created_date=created.date(),
            owner=user,
            owner_name=owner_name,
            industry=rng.choice(INDUSTRIES),
            segment=segment,
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
            sender=UsageEvent.SENDER_DEMO,
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
