"""The estimator's inputs, read from compact rows (never raw events): closed deals with their
stage history and the deal x asset rollup's first touches.

Times are whole milliseconds since the epoch on one clock, computed by the database
(``sql.epoch_ms``: integers, so equal offsets into a stay are equal). A deal's close is the end
of its close day (UTC), as the touches rollup judges "before close".
Its stratum is its owner (a user, else the owner's name as the CRM gave it) plus the
attributes the lead picked (``AnalyticsSettings.strata``): "industry", "size_band" (the amount
in the reporting currency: under 10k, 10k-100k, 100k-1M, 1M and more, or "no rate") or
"attribute:<name>".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from analytics.currency import Rates
from analytics.effectiveness import DealRecord
from analytics.models import Deal, DealAssetTouch, DealStageChange
from analytics.rollups.sql import epoch_ms, raw_rows
from analytics.scope import strata_chosen
from analytics.services import LOST_STAGES, WON_STAGES
from cms.models import BuyerStage

CLOSED = (Deal.Outcome.WON, Deal.Outcome.LOST)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SIZE_BANDS = ((10_000, "under 10k"), (100_000, "10k-100k"), (1_000_000, "100k-1M"))


def close_ms(close: date) -> int:
    """The end of the close day, in milliseconds since the epoch."""
    end = datetime.combine(close + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (end - EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class ClosedDeal:
    deal_id: int
    external_id: str
    won: bool
    close_date: date
    closed_at: int  # the end of the close day, in milliseconds since the epoch
    segment: str
    industry: str
    stratum: tuple
    amount: float
    currency: str
    rate: float | None  # to the reporting currency on the close date; None: no rate
    reached: int
    history: tuple[tuple[int, int | None], ...]


@dataclass(frozen=True, slots=True)
class TouchRow:
    deal_id: int
    asset_id: int
    first: int  # milliseconds since the epoch
    first_stage: int
    credits: tuple[float, ...]


@dataclass
class Inputs:
    stages: tuple[int, ...]
    stage_names: dict[int, str]
    deals: dict[int, ClosedDeal]
    touches: list[TouchRow]
    rates: Rates
    strata: list[str]
    _first: dict | None = None

    def first_touches(self) -> dict[int, dict[int, float]]:
        """``{asset: {deal: first touch}}`` (a fresh copy: callers add untouched assets)."""
        if self._first is None:
            per_asset: dict[int, dict[int, float]] = defaultdict(dict)
            for row in self.touches:
                per_asset[row.asset_id][row.deal_id] = row.first
            self._first = dict(per_asset)
        return dict(self._first)

    def records(self, deal_ids) -> list[DealRecord]:
        return [
            DealRecord(
                deal.deal_id, deal.won, deal.closed_at, deal.segment, deal.stratum, deal.history
            )
            for deal in (self.deals[i] for i in deal_ids)
        ]


def pipeline_stages() -> list:
    """Journey stages deals pass through before closing: those listing a CRM stage that is
    not Closed Won or Closed Lost (the default Onboard lists only Closed Won)."""
    closing = WON_STAGES | LOST_STAGES
    return [
        stage
        for stage in BuyerStage.objects.order_by("sort_order", "name")
        if any(name.casefold() not in closing for name in stage.crm_stages())
    ]


def load(strata: list[str] | None = None) -> Inputs:
    """Every closed deal with a close date, its history and its first touches."""
    strata = strata_chosen() if strata is None else strata
    rates = Rates.load()
    pipeline = pipeline_stages()
    stages = tuple(stage.sort_order for stage in pipeline)
    names = {s.sort_order: s.name for s in BuyerStage.objects.order_by("-name")}
    deals = _deals(strata, rates, _histories(set(stages)))
    rows = (
        DealAssetTouch.objects.filter(deal__outcome__in=CLOSED, deal__close_date__isnull=False)
        .annotate(first_ms=epoch_ms(DealAssetTouch, "first_touch_at"))
        .values_list(
            "deal_id",
            "asset_id",
            "first_ms",
            "first_touch_stage_order",
            "credit_first",
            "credit_last",
            "credit_linear",
            "credit_u_shaped",
            "credit_time_decay",
        )
        .order_by()
    )
    touches = [
        TouchRow(deal_id, asset_id, first, stage, tuple(credits))
        for deal_id, asset_id, first, stage, *credits in raw_rows(rows)
    ]
    return Inputs(stages, names, deals, touches, rates, list(strata))


def _histories(pipeline: set[int]) -> dict[int, list]:
    """Closed deals' histories as (milliseconds, journey order or None for time outside the
    pipeline: a closing stage, an unmapped one)."""
    histories: dict[int, list] = defaultdict(list)
    rows = (
        DealStageChange.objects.filter(deal__outcome__in=CLOSED)
        .annotate(entered_ms=epoch_ms(DealStageChange, "entered_at"))
        .order_by("deal_id", "entered_at", "id")
    )
    for deal_id, entered, order in raw_rows(
        rows.values_list("deal_id", "entered_ms", "journey_stage__sort_order")
    ):
        histories[deal_id].append((entered, order if order in pipeline else None))
    return histories


def _deals(strata: list[str], rates: Rates, histories: dict) -> dict[int, ClosedDeal]:
    fields = (
        "pk external_id outcome close_date segment industry owner_id owner_name amount "
        "currency reached_stage_order attributes"
    ).split()
    deals = {}
    rows = Deal.objects.filter(outcome__in=CLOSED, close_date__isnull=False).values_list(*fields)
    for row in rows.iterator(chunk_size=20000):
        pk, external, outcome, close, segment, industry, owner_id, owner_name = row[:8]
        amount, currency, reached, attributes = row[8:]
        owner = f"user:{owner_id}" if owner_id else f"name:{(owner_name or '').casefold()}"
        picked = tuple(
            _attribute(name, industry, float(amount), currency, close, attributes, rates)
            for name in strata
        )
        deals[pk] = ClosedDeal(
            deal_id=pk,
            external_id=external,
            won=outcome == Deal.Outcome.WON,
            close_date=close,
            closed_at=close_ms(close),
            segment=segment or "",
            industry=industry or "",
            stratum=(owner, *picked),
            amount=float(amount),
            currency=currency,
            rate=rates.rate(currency, close),
            reached=reached,
            history=tuple(histories.get(pk, ())),
        )
    return deals


def _attribute(name, industry, amount, currency, close, attributes, rates: Rates) -> str:
    if name == "industry":
        return (industry or "").casefold()
    if name == "size_band":
        return size_band(rates.convert(amount, currency, close))
    if name.startswith("attribute:"):
        return str((attributes or {}).get(name.partition(":")[2], "")).casefold()
    raise ValueError(f"unknown stratification attribute {name!r}")


def size_band(converted: float | None) -> str:
    if converted is None:
        return "no rate"
    for limit, label in SIZE_BANDS:
        if converted < limit:
            return label
    return "1M and more"


def has_pipeline_history(deal: ClosedDeal) -> bool:
    return any(order is not None for _, order in deal.history)
