"""The deal x asset rollup (``DealAssetTouch``): one row per deal and asset it touched before
its close, recomputed whole for every deal that got a touch event or changed.

A deal's rows are a function of its touch events, its close (outcome, date, amount) and its
stage history, so recomputing a deal is idempotent: a deal recomputed twice, or once by the
events step and once by the deals step, gives the same rows. Rules:

- a *touch* is an event of kind asset_shared, buyer_opened, used_in_deal or asset_presented;
  a closed deal's touches count when they happened on or before its close date (UTC), judged
  against the deal's close as it stands when the rollup runs (so the final close);
- the first touch's journey stage is read from the stage history at that moment: the latest
  entry at or before it, else the earliest entry (an event sent before the history); an event
  that arrives late, or history imported later, is therefore counted at the right stage;
- a won deal's amount is split over its touches by each attribution model
  (``analytics.stats.attribute``), in the deal's own currency.

Whether a change matters to the closed-deal statistics (the fill state's version) is judged per
deal: rows of a closed deal changed, or the deal itself changed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import date

from analytics import stats
from analytics.models import TOUCH_KINDS, Deal, DealAssetTouch, DealStageChange, UsageEvent
from analytics.rollups import sql
from analytics.rollups.writes import Writes
from cms.models import BuyerStage

TABLE = DealAssetTouch._meta.db_table
COLUMNS = (
    "deal_id",
    "asset_id",
    "touches",
    "first_touch_at",
    "first_touch_stage_order",
    "credit_first",
    "credit_last",
    "credit_linear",
    "credit_u_shaped",
    "credit_time_decay",
)
TYPES = ("int", "int", "int", "datetime", "int", "float", "float", "float", "float", "float")
MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")
SLICE = 500
CLOSED = (Deal.Outcome.WON, Deal.Outcome.LOST)


def deal_rows(deal: tuple, events: list[tuple], history: tuple[list, list], bottom: int) -> list:
    """Rows (COLUMNS order) for one deal from its touch events ``(asset, time)`` in time
    order, its ``(outcome, close_date, amount)`` and its history as parallel sorted lists
    (times, journey orders or None)."""
    deal_id, outcome, close, amount = deal
    if outcome in CLOSED and close is not None:
        events = [e for e in events if e[1].date() <= close]
    if not events:
        return []
    times, orders = history
    rows: dict[int, list] = {}
    for asset_id, when in events:
        row = rows.get(asset_id)
        if row is None:
            rows[asset_id] = [deal_id, asset_id, 1, when, _stage_at(times, orders, when, bottom)]
        else:
            row[2] += 1
    credits = _credits(events, float(amount), close) if outcome == Deal.Outcome.WON else {}
    return [
        (*row, *(credits.get((row[1], model), 0.0) for model in MODELS)) for row in rows.values()
    ]


def _stage_at(times: list, orders: list, when, bottom: int) -> int:
    if not times:
        return bottom
    index = bisect_right(times, when) - 1
    order = orders[max(index, 0)]
    return bottom if order is None else order


def _credits(events: list[tuple], amount: float, close: date | None) -> dict:
    ordered = [stats.Touch(asset_id, when.date()) for asset_id, when in events]
    result = {}
    for model in MODELS:
        for asset_id, credit in stats.attribute(amount, ordered, close, model).items():
            result[(asset_id, model)] = credit
    return result


def _bottom() -> int:
    return min(BuyerStage.objects.values_list("sort_order", flat=True), default=0)


# --- Reading ------------------------------------------------------------------------------


def _deals(deal_ids: list[int]) -> dict[int, tuple]:
    rows = Deal.objects.filter(pk__in=deal_ids).values_list("pk", "outcome", "close_date", "amount")
    return {row[0]: row for row in rows}


def _histories(deal_ids) -> dict[int, tuple[list, list]]:
    """Each deal's stage history as (times, journey orders) in time order, for ``deal_ids``
    (a list, a queryset of ids, or None for every deal). Rows are read as the database gives
    them: Django's per-value converters cost more than the query."""
    rows = DealStageChange.objects.order_by("deal_id", "entered_at", "id")
    if deal_ids is not None:
        rows = rows.filter(deal_id__in=deal_ids)
    histories: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    columns = rows.values_list("deal_id", "entered_at", "journey_stage__sort_order")
    for deal_id, entered_at, order in sql.raw_rows(columns):
        times, orders = histories[deal_id]
        times.append(sql.as_datetime(entered_at))
        orders.append(order)
    return histories


def _touch_events(upto: int):
    return UsageEvent.objects.filter(
        kind__in=TOUCH_KINDS, deal__isnull=False, asset__isnull=False, id__lte=upto
    )


def deal_touch_events(deal_ids: list[int], upto: int):
    """The touch events of ``deal_ids`` up to event ``upto``, per deal in time order (the
    partial (deal, occurred_at) index serves it)."""
    return _touch_events(upto).filter(deal_id__in=deal_ids).order_by("deal_id", "occurred_at", "id")


def _wanted(deal_ids: list[int], upto: int, bottom: int) -> dict[int, list]:
    """Rows per deal for ``deal_ids`` (every one present, empty when it has none)."""
    deals = _deals(deal_ids)
    histories = _histories(deal_ids)
    events: dict[int, list] = defaultdict(list)
    rows = deal_touch_events(deal_ids, upto)
    for deal_id, asset_id, when in rows.values_list("deal_id", "asset_id", "occurred_at"):
        events[deal_id].append((asset_id, when))
    wanted = {}
    for deal_id in deal_ids:
        deal = deals.get(deal_id)
        history = histories.get(deal_id, ([], []))
        wanted[deal_id] = sorted(deal_rows(deal, events[deal_id], history, bottom)) if deal else []
    return wanted


def _current(deal_ids: list[int] | None) -> dict[int, list]:
    rows = DealAssetTouch.objects.all()
    if deal_ids is not None:
        rows = rows.filter(deal_id__in=deal_ids)
    current: dict[int, list] = defaultdict(list)
    for row in rows.values_list(*COLUMNS).iterator(chunk_size=20000):
        current[row[0]].append(row)
    return {deal_id: sorted(found) for deal_id, found in current.items()}


# --- Writes -------------------------------------------------------------------------------


def _writes(wanted: dict[int, list], current: dict[int, list], matter: set[int]):
    """Replace the rows of deals whose rows differ, ``DEAL_BATCH`` deals per step. The change
    matters to closed-deal statistics when such a deal is in ``matter``."""
    differ = sorted(
        d for d in set(wanted) | set(current) if wanted.get(d, []) != current.get(d, [])
    )
    writes = Writes(changed=bool(set(differ) & matter))
    for start in range(0, len(differ), DEAL_BATCH):
        part = differ[start : start + DEAL_BATCH]
        rows = sql.adapt(TYPES, [row for deal_id in part for row in wanted.get(deal_id, [])])
        writes.rows += len(rows)
        writes.steps.append(lambda part=part, rows=rows: _replace(part, rows))
    return writes


DEAL_BATCH = 500  # deals per write transaction: writers wait at most one step


def _replace(deal_ids: list[int], rows: list[tuple]) -> None:
    sql.delete_in(TABLE, "deal_id", deal_ids)
    sql.insert_rows(TABLE, COLUMNS, rows)


def _closed(deal_ids) -> set[int]:
    ids = list(deal_ids)
    closed = set()
    for start in range(0, len(ids), SLICE):
        part = ids[start : start + SLICE]
        closed |= set(
            Deal.objects.filter(pk__in=part, outcome__in=CLOSED).values_list("pk", flat=True)
        )
    return closed


def step(ctx, after: int, upto: int):
    """Deals with a touch event among ids (after, upto]. A closed deal is recomputed whole
    (its close drops later touches and its credits need them all); an open deal's rows are a
    count and the earliest touch per asset, so its new events are merged into them."""
    new = _touch_events(upto).filter(id__gt=after).order_by()
    named = new.values("deal_id")
    closed = set(Deal.objects.filter(pk__in=named, outcome__in=CLOSED).values_list("pk", flat=True))
    writes = _recompute(sorted(closed), upto, ctx, every_change_matters=False)
    statement, params = _merge_open(ctx, after, upto)

    def merge():
        writes.rows += sql.execute(statement, params)

    writes.steps.append(merge)
    return writes


def _merge_open(ctx, after: int, upto: int) -> tuple[str, list]:
    """The statement (and its parameters) that adds open deals' touch events among ids
    (after, upto] to their rows on the database: touches add up, and an earlier first touch
    replaces the time and stage (on a tie the stored one, of a lower event id, stays first,
    as a recomputation orders by time then id). Exact because events are append-only and
    everything else that changes an open deal's rows (history, a close, a reopening) queues
    the deal for a whole recomputation: a deal that closes while this runs is left out here
    and recomputed by the deals step; one that reopens after ``step`` read which deals are
    closed is recomputed and merged, counting its new touches twice until the deals step of
    the same run (which its reopening queued before this statement read it) recomputes it.
    Open deals never count in closed-deal statistics, so dependants see no change."""
    bottom = ctx.cached("bottom", _bottom)
    q = sql.quote
    table = q(TABLE)

    # The journey stage at the first touch: the latest history entry at or before it, else
    # the earliest entry; an entry without a journey stage, or no history, gives the bottom.
    def entry(where: str, order: str) -> str:
        return (
            "(SELECT COALESCE(s.sort_order, %s) "  # noqa: S608 - model names only
            f"FROM {q(DealStageChange._meta.db_table)} h "
            f"LEFT JOIN {q(BuyerStage._meta.db_table)} s ON s.id = h.journey_stage_id "
            f"WHERE h.deal_id = g.deal_id {where} ORDER BY {order} LIMIT 1)"
        )

    latest = entry("AND h.entered_at <= g.first_touch_at", "h.entered_at DESC, h.id DESC")
    earliest = entry("", "h.entered_at, h.id")
    stage = f"COALESCE({latest}, {earliest}, %s)"
    kinds = ", ".join(["%s"] * len(TOUCH_KINDS))
    grouped = (
        "SELECT e.deal_id, e.asset_id, COUNT(*) AS touches, "  # noqa: S608 - model names only
        f"MIN(e.occurred_at) AS first_touch_at FROM {q(UsageEvent._meta.db_table)} e "
        f"JOIN {q(Deal._meta.db_table)} d ON d.id = e.deal_id "
        f"WHERE e.id > %s AND e.id <= %s AND e.kind IN ({kinds}) AND e.asset_id IS NOT NULL "
        "AND d.outcome NOT IN (%s, %s) GROUP BY e.deal_id, e.asset_id"
    )
    earlier = f"EXCLUDED.first_touch_at < {table}.first_touch_at"
    keep_first = ", ".join(
        f"{c} = CASE WHEN {earlier} THEN EXCLUDED.{c} ELSE {table}.{c} END"
        for c in ("first_touch_at", "first_touch_stage_order")
    )
    statement = (
        f"INSERT INTO {table} ({', '.join(q(c) for c in COLUMNS)}) "  # noqa: S608
        f"SELECT g.deal_id, g.asset_id, g.touches, g.first_touch_at, {stage}, 0, 0, 0, 0, 0 "
        f"FROM ({grouped}) g WHERE true "
        "ON CONFLICT (deal_id, asset_id) DO UPDATE SET "
        f"touches = {table}.touches + EXCLUDED.touches, {keep_first}"
    )
    return statement, [bottom, bottom, bottom, after, upto, *TOUCH_KINDS, *CLOSED]


def deals_step(ctx, deal_ids: list[int], upto: int):
    """Deals that changed (history, close, amount): recompute them; their change matters."""
    return _recompute(deal_ids, upto, ctx, every_change_matters=True)


def _recompute(deal_ids: list[int], upto: int, ctx, *, every_change_matters: bool):
    bottom = ctx.cached("bottom", _bottom)
    wanted: dict[int, list] = {}
    current: dict[int, list] = {}
    for start in range(0, len(deal_ids), SLICE):
        part = deal_ids[start : start + SLICE]
        wanted.update(_wanted(part, upto, bottom))
        current.update(_current(part))
    writes = _writes(wanted, current, _closed(deal_ids))
    if every_change_matters and deal_ids:
        writes.changed = True
    return writes if writes.steps or writes.changed else Writes()


def rebuild(ctx, upto: int):
    """Every deal's rows from all touch events up to ``upto``, streamed in deal order."""
    bottom = ctx.cached("bottom", _bottom)
    deals = {
        row[0]: row
        for row in Deal.objects.values_list("pk", "outcome", "close_date", "amount").iterator(
            chunk_size=20000
        )
    }
    histories = _histories(None)
    wanted: dict[int, list] = {}
    rows = _touch_events(upto).order_by("deal_id", "occurred_at", "id")
    current_deal, events = None, []
    for deal_id, asset_id, when in rows.values_list("deal_id", "asset_id", "occurred_at").iterator(
        chunk_size=20000
    ):
        if deal_id != current_deal:
            _keep(wanted, current_deal, events, deals, histories, bottom)
            current_deal, events = deal_id, []
        events.append((asset_id, when))
    _keep(wanted, current_deal, events, deals, histories, bottom)
    current = _current(None)
    return _writes(wanted, current, set(deals) & _closed_all())


def _keep(wanted, deal_id, events, deals, histories, bottom) -> None:
    if deal_id is None or deal_id not in deals:
        return
    rows = deal_rows(deals[deal_id], events, histories.get(deal_id, ([], [])), bottom)
    if rows:
        wanted[deal_id] = sorted(rows)


def _closed_all() -> set[int]:
    return set(Deal.objects.filter(outcome__in=CLOSED).values_list("pk", flat=True))
